# METADATA
# title: IAM users who sign in with a password use MFA
# description: >-
#   Every IAM user in the credential report whose console password is enabled has an
#   MFA device active. A row whose password or MFA flag could not be read is judged
#   as the worse case. The root user is checked by aws-root-account.
# custom:
#   id: aws-console-mfa
#   severity: high
#   controls: [iso27001-2022:A.8.5, iso27001-2022:A.5.17, soc2-2017:CC6.1]
#   requires: [aws.credential_report]
package evidencekit.policies.aws_console_mfa

import data.evidencekit.lib.aws
import data.evidencekit.lib.util
import rego.v1

# Users who may sign in with a password; a flag that is not `false` keeps the row in
# scope, so an unreadable value cannot pass a user.
in_scope[key] := row if {
	some key, row in input.aws.credential_report
	not aws.is_root(row)
	object.get(row, "password_enabled", null) != false
}

tested := count(in_scope)

findings contains finding if {
	some key, row in in_scope
	object.get(row, "mfa_active", null) != true
	finding := {
		"resource": key,
		"message": sprintf("%s: %s, but %s", [aws.who(row), password(row), mfa(row)]),
		"evidence": util.refs([row, object.get(input.aws.users, key, null)]),
	}
}

password(row) := sprintf("a console password is enabled (last used %s)", [aws.shown(object.get(row, "password_last_used", null))]) if {
	row.password_enabled == true
} else := sprintf("whether a console password is enabled is unknown (password_enabled is %s)", [aws.shown(object.get(row, "password_enabled", null))])

mfa(row) := "no MFA device is active" if {
	object.get(row, "mfa_active", null) == false
} else := sprintf("the MFA status is unknown (mfa_active is %s)", [aws.shown(object.get(row, "mfa_active", null))])
