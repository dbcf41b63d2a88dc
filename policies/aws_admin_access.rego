# METADATA
# title: Administrator access in AWS is held only where approved
# description: >-
#   No IAM user (directly or through a group) or role has AdministratorAccess
#   attached, or a managed or inline policy whose default version allows Action "*"
#   or "iam:*" on Resource "*", unless its record key or ARN is on the optional
#   aws_admin_allowlist. An attached policy or group missing from the evidence, or a
#   policy document that could not be read, fails.
# custom:
#   id: aws-admin-access
#   severity: high
#   controls: [iso27001-2022:A.8.2, iso27001-2022:A.5.15, iso27001-2022:A.5.18, soc2-2017:CC6.1, soc2-2017:CC6.3]
#   requires: [aws.users, aws.groups, aws.roles, aws.policies]
package evidencekit.policies.aws_admin_access

import data.evidencekit.lib.aws
import rego.v1

tested := count(input.aws.users) + count(input.aws.roles)

findings contains finding if {
	some key, user in input.aws.users
	not aws.allowed(key, user)
	grants := aws.user_grants(user)
	count(grants) > 0
	finding := principal_finding(key, sprintf("IAM user %s", [object.get(user, "UserName", key)]), user, grants)
}

findings contains finding if {
	some key, role in input.aws.roles
	not aws.allowed(key, role)
	grants := aws.direct_grants(role)
	count(grants) > 0
	finding := principal_finding(key, sprintf("IAM role %s", [object.get(role, "RoleName", key)]), role, grants)
}

principal_finding(key, who, principal, grants) := {
	"resource": key,
	"message": sprintf("%s in account %s has administrator access: %s", [
		who, aws.account_of(principal), concat("; ", [grant.why | some grant in grants]),
	]),
	"evidence": aws.grant_evidence(principal, grants),
}
