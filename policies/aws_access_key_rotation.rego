# METADATA
# title: Active IAM access keys are rotated
# description: >-
#   Every active access key in the credential report was last rotated no more than
#   aws_key_rotation_days (default 90) days before the end of the period. An active
#   key whose rotation time is not a date fails.
# custom:
#   id: aws-access-key-rotation
#   severity: medium
#   controls: [iso27001-2022:A.5.17, iso27001-2022:A.8.5, soc2-2017:CC6.1]
#   requires: [aws.credential_report]
package evidencekit.policies.aws_access_key_rotation

import data.evidencekit.lib.aws
import data.evidencekit.lib.util
import rego.v1

max_days := object.get(input.settings, "aws_key_rotation_days", 90)

# Rows (users, and the root user) with at least one active access key.
in_scope[key] := row if {
	some key, row in input.aws.credential_report
	count(aws.active_keys(row)) > 0
}

tested := count(in_scope) if is_number(max_days)

findings contains finding if {
	some key, row in in_scope
	problems := [problem | some slot in aws.active_keys(row); problem := stale(row, slot, max_days)]
	count(problems) > 0
	finding := {
		"resource": key,
		"message": sprintf("%s: %s", [aws.who(row), concat("; ", problems)]),
		"evidence": util.refs([row, object.get(input.aws.users, key, null)]),
	}
}

stale(row, slot, limit) := msg if {
	rotated := aws.column(row, slot, "last_rotated")
	aws.older_than(rotated, limit)
	msg := sprintf("access key %s was last rotated %s, %s before the period end (limit %v days)", [
		slot, rotated, aws.age(rotated), limit,
	])
} else := msg if {
	rotated := aws.column(row, slot, "last_rotated")
	not aws.timestamp(rotated)
	msg := sprintf("access key %s is active but its last rotation time is %s, not a date", [
		slot, aws.shown(rotated),
	])
}
