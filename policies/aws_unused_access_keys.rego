# METADATA
# title: Unused IAM access keys are removed
# description: >-
#   Every active access key in the credential report was used within inactivity_days
#   days before the end of the period. A key never used counts from when it was
#   issued (its last rotation, else the user's creation); a key whose use or issue
#   time cannot be read fails.
# custom:
#   id: aws-unused-access-keys
#   severity: medium
#   controls: [iso27001-2022:A.5.18, iso27001-2022:A.5.17, soc2-2017:CC6.2]
#   requires: [aws.credential_report]
package evidencekit.policies.aws_unused_access_keys

import data.evidencekit.lib.aws
import data.evidencekit.lib.util
import rego.v1

# Undefined (an evaluation error, never a pass) when the threshold is not configured.
max_days := input.settings.inactivity_days

in_scope[key] := row if {
	some key, row in input.aws.credential_report
	count(aws.active_keys(row)) > 0
}

tested := count(in_scope) if is_number(max_days)

findings contains finding if {
	some key, row in in_scope
	problems := [problem | some slot in aws.active_keys(row); problem := unused(row, slot, max_days)]
	count(problems) > 0
	finding := {
		"resource": key,
		"message": sprintf("%s: %s", [aws.who(row), concat("; ", problems)]),
		"evidence": util.refs([row, object.get(input.aws.users, key, null)]),
	}
}

unused(row, slot, limit) := message(slot, aws.column(row, slot, "last_used_date"), issue_time(row, slot), limit)

message(slot, used, issued, limit) := msg if {
	aws.older_than(used, limit)
	msg := sprintf("access key %s was last used %s, %s before the period end (limit %v days)", [
		slot, used, aws.age(used), limit,
	])
} else := msg if {
	aws.sentinel(used)
	aws.older_than(issued, limit)
	msg := sprintf("access key %s has never been used (last used %s) and was issued %s, %s before the period end (limit %v days)", [
		slot, used, issued, aws.age(issued), limit,
	])
} else := msg if {
	aws.sentinel(used)
	issued == null
	msg := sprintf("access key %s has never been used and neither its last rotation nor the user's creation time is a date", [slot])
} else := msg if {
	not aws.timestamp(used)
	not aws.sentinel(used)
	msg := sprintf("access key %s is active but its last use is %s, not a date", [slot, aws.shown(used)])
}

# When a never-used key was issued: its last rotation, else the user's creation, else
# null.
issue_time(row, slot) := aws.column(row, slot, "last_rotated") if {
	aws.timestamp(aws.column(row, slot, "last_rotated"))
} else := row.user_creation_time if {
	aws.timestamp(object.get(row, "user_creation_time", null))
} else := null
