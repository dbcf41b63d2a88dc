# Unit tests for the aws-admin-access policy.
package evidencekit.policies.aws_admin_access_test

import data.evidencekit.lib.aws_testdata as td
import data.evidencekit.policies.aws_admin_access as policy
import rego.v1

test_least_privilege_principals_pass if {
	policy.findings == set() with input as td.doc
	policy.tested == 3 with input as td.doc
}

test_administrator_access_through_a_group_names_the_group if {
	admins := td.group("platform-admins", td.attached([td.admin_arn]))
	groups := object.union(td.groups, {td.key("platform-admins"): admins})
	alice := td.user("alice.ward", {"Groups": [td.key("developers"), td.key("platform-admins")]})
	users := object.union(td.users, {td.key("alice.ward"): alice})
	findings := policy.findings with input as td.doc with input.aws.groups as groups with input.aws.users as users
	findings == {{
		"resource": "111122223333:alice.ward",
		"message": "IAM user alice.ward in account 111122223333 has administrator access: through group platform-admins: AWS managed policy AdministratorAccess is attached",
		"evidence": [
			"aws/users/111122223333:alice.ward", "aws/groups/111122223333:platform-admins",
			"aws/policies/111122223333:arn:aws:iam::aws:policy/AdministratorAccess",
		],
	}}
}

test_role_with_administrator_access_fails if {
	role := td.role("OrganizationAccountAccessRole", td.attached(["arn:aws-us-gov:iam::aws:policy/AdministratorAccess"]))
	roles := object.union(td.roles, {td.key("OrganizationAccountAccessRole"): role})
	findings := policy.findings with input as td.doc with input.aws.roles as roles
	{finding.message | some finding in findings} == {"IAM role OrganizationAccountAccessRole in account 111122223333 has administrator access: AWS managed policy AdministratorAccess is attached"}
}

test_inline_statement_allowing_everything_fails if {
	user := td.user("ops-breakglass", {"UserPolicyList": [td.inline("break-glass", [td.allow(["s3:GetObject", "*"], ["*"])])]})
	users := object.union(td.users, {td.key("ops-breakglass"): user})
	findings := policy.findings with input as td.doc with input.aws.users as users
	some finding in findings
	finding.message == `IAM user ops-breakglass in account 111122223333 has administrator access: inline policy "break-glass" allows "*" on every resource`
	finding.evidence == ["aws/users/111122223333:ops-breakglass"]
}

test_managed_policy_allowing_iam_star_fails_in_any_case if {
	arn := "arn:aws:iam::111122223333:policy/iam-manage"
	policies := object.union(td.policies, {td.key(arn): td.managed(arn, [{"Effect": "Allow", "Action": "IAM:*", "Resource": "*"}])})
	role := td.role("iam-housekeeping", td.attached([arn]))
	roles := object.union(td.roles, {td.key("iam-housekeeping"): role})
	findings := policy.findings with input as td.doc with input.aws.policies as policies with input.aws.roles as roles
	some finding in findings
	finding.resource == "111122223333:iam-housekeeping"
	contains(finding.message, `attached policy arn:aws:iam::111122223333:policy/iam-manage allows "iam:*" on every resource`)
}

test_iam_star_on_one_resource_and_deny_statements_do_not_count if {
	statements := [
		td.allow("iam:*", "arn:aws:iam::111122223333:user/${aws:username}"),
		{"Effect": "Deny", "Action": "*", "Resource": "*"},
	]
	user := td.user("svc-build", {"UserPolicyList": [td.inline("scoped", statements)]})
	users := object.union(td.users, {td.key("svc-build"): user})
	policy.findings == set() with input as td.doc with input.aws.users as users
}

test_attached_policy_missing_from_evidence_fails_closed if {
	arn := "arn:aws:iam::111122223333:policy/unknown"
	role := td.role("octopus-deployer", td.attached([arn]))
	roles := {td.key("octopus-deployer"): role}
	findings := policy.findings with input as td.doc with input.aws.roles as roles
	some finding in findings
	endswith(finding.message, "attached policy arn:aws:iam::111122223333:policy/unknown is not in the evidence, so its access cannot be judged")
}

test_unreadable_documents_fail_closed if {
	arn := "arn:aws:iam::111122223333:policy/broken"
	broken := object.union(td.managed(arn, []), {"DefaultDocument": null})
	policies := object.union(td.policies, {td.key(arn): broken})
	user := td.user("svc-build", {"AttachedPolicyArns": [arn], "UserPolicyList": [{"PolicyName": "odd", "PolicyDocument": null}]})
	users := {td.key("svc-build"): user}
	findings := policy.findings with input as td.doc with input.aws.policies as policies with input.aws.users as users
	some finding in findings
	contains(finding.message, "the default version of attached policy arn:aws:iam::111122223333:policy/broken could not be read")
	contains(finding.message, `inline policy "odd" could not be read`)
}

test_group_missing_from_evidence_fails_closed if {
	user := td.user("alice.ward", {"Groups": [td.key("ghosts")]})
	users := {td.key("alice.ward"): user}
	findings := policy.findings with input as td.doc with input.aws.users as users
	some finding in findings
	endswith(finding.message, "group 111122223333:ghosts is not in the evidence, so its access cannot be judged")
}

test_allowlisted_role_is_not_reported if {
	role := td.role("OrganizationAccountAccessRole", td.attached([td.admin_arn]))
	roles := object.union(td.roles, {td.key("OrganizationAccountAccessRole"): role})
	allowlist := ["ARN:AWS:IAM::111122223333:ROLE/OrganizationAccountAccessRole"]
	policy.findings == set() with input as td.doc with input.aws.roles as roles
		with input.settings.aws_admin_allowlist as allowlist
}

test_single_statement_object_is_read if {
	user := td.user("svc-build", {"UserPolicyList": [{"PolicyName": "one", "PolicyDocument": {"Statement": td.allow("*", "*")}}]})
	users := {td.key("svc-build"): user}
	findings := policy.findings with input as td.doc with input.aws.users as users
	count(findings) == 1
}

test_unreadable_lists_fail_closed if {
	user := td.user("svc-build", {"AttachedPolicyArns": null, "Groups": null, "UserPolicyList": null})
	users := {td.key("svc-build"): user}
	findings := policy.findings with input as td.doc with input.aws.users as users
	findings == {{
		"resource": "111122223333:svc-build",
		"message": "IAM user svc-build in account 111122223333 has administrator access: its attached managed policies could not be read; its group memberships could not be read; its inline policies could not be read",
		"evidence": ["aws/users/111122223333:svc-build"],
	}}
}

test_unreadable_group_policies_reach_the_members if {
	broken := object.union(td.group("developers", {"Members": [td.key("alice.ward")]}), {"GroupPolicyList": null})
	groups := {td.key("developers"): broken}
	findings := policy.findings with input as td.doc with input.aws.groups as groups
	{finding.message | some finding in findings} == {"IAM user alice.ward in account 111122223333 has administrator access: through group developers: its inline policies could not be read"}
}
