# AWS IAM evidence fixtures for the policy unit tests (test-only, not shipped).
#
# `doc` is one input document, shaped as the aws collector writes it, in which every
# AWS policy passes. Tests change only what they are about with builders below.
# The regorus quirk described in lib/testdata_test.rego applies: bind values of this
# package to a variable before an expression that carries `with input as`.
package evidencekit.lib.aws_testdata

import rego.v1

account := "111122223333"

record(resource, key, fields) := object.union(fields, {
	"_ref": sprintf("aws/%s/%s", [resource, key]),
	"_file": sprintf("%s/authorization_details/page-0001.json", [account]),
})

ref(resource, key) := sprintf("aws/%s/%s", [resource, key])

key(name) := sprintf("%s:%s", [account, name])

document(statements) := {"Version": "2012-10-17", "Statement": statements}

allow(actions, resources) := {"Effect": "Allow", "Action": actions, "Resource": resources}

admin_arn := "arn:aws:iam::aws:policy/AdministratorAccess"

read_only_arn := "arn:aws:iam::aws:policy/ReadOnlyAccess"

developer_arn := sprintf("arn:aws:iam::%s:policy/developer-access", [account])

# --- credential report rows --------------------------------------------------------

# A row with no password, no MFA and no keys; tests override the columns they need.
row(user, fields) := object.union(
	object.union(blank_row(user), fields),
	{
		"_ref": ref("credential_report", key(user)),
		"_file": sprintf("%s/credential_report.csv", [account]),
	},
)

blank_row(user) := {
	"user": user,
	"arn": sprintf("arn:aws:iam::%s:user/%s", [account, user]),
	"user_creation_time": "2024-01-10T09:00:00.000000Z",
	"password_enabled": false, "password_last_used": "N/A",
	"password_last_changed": "N/A", "password_next_rotation": "N/A",
	"mfa_active": false,
	"access_key_1_active": false, "access_key_1_last_rotated": "N/A",
	"access_key_1_last_used_date": "N/A", "access_key_1_last_used_region": "N/A",
	"access_key_1_last_used_service": "N/A",
	"access_key_2_active": false, "access_key_2_last_rotated": "N/A",
	"access_key_2_last_used_date": "N/A", "access_key_2_last_used_region": "N/A",
	"access_key_2_last_used_service": "N/A",
	"cert_1_active": false, "cert_1_last_rotated": "N/A",
	"cert_2_active": false, "cert_2_last_rotated": "N/A",
	"AccountId": account,
	"report_generated_at": "2026-09-30T22:14:09.000000Z",
}

root_row := row("<root_account>", {
	"arn": sprintf("arn:aws:iam::%s:root", [account]),
	"password_enabled": "not_supported", "password_last_changed": "not_supported",
	"password_next_rotation": "not_supported", "password_last_used": "2026-02-10T07:11:00.000000Z",
	"mfa_active": true,
})

console_row := row("alice.ward", {
	"password_enabled": true, "password_last_used": "2026-09-28T16:02:00.000000Z",
	"mfa_active": true,
})

# An active key rotated and used recently.
key_row(fields) := row("svc-build", object.union({
	"access_key_1_active": true,
	"access_key_1_last_rotated": "2026-08-01T10:00:00.000000Z",
	"access_key_1_last_used_date": "2026-09-29T07:45:00.000000Z",
	"access_key_1_last_used_region": "eu-west-2",
	"access_key_1_last_used_service": "ecr",
}, fields))

report := {
	key("<root_account>"): root_row,
	key("alice.ward"): console_row,
	key("svc-build"): key_row({}),
}

# --- authorization details ---------------------------------------------------------

user(name, fields) := record("users", key(name), object.union({
	"UserName": name, "Arn": sprintf("arn:aws:iam::%s:user/%s", [account, name]),
	"AccountId": account, "GroupList": [], "Groups": [],
	"AttachedManagedPolicies": [], "AttachedPolicyNames": [], "AttachedPolicyArns": [],
	"UserPolicyList": [], "InlinePolicyNames": [],
}, fields))

group(name, fields) := record("groups", key(name), object.union({
	"GroupName": name, "Arn": sprintf("arn:aws:iam::%s:group/%s", [account, name]),
	"AccountId": account, "Members": [],
	"AttachedManagedPolicies": [], "AttachedPolicyNames": [], "AttachedPolicyArns": [],
	"GroupPolicyList": [], "InlinePolicyNames": [],
}, fields))

role(name, fields) := record("roles", key(name), object.union({
	"RoleName": name, "Arn": sprintf("arn:aws:iam::%s:role/%s", [account, name]),
	"AccountId": account, "RoleLastUsed": {"LastUsedDate": null},
	"AttachedManagedPolicies": [], "AttachedPolicyNames": [], "AttachedPolicyArns": [],
	"RolePolicyList": [], "InlinePolicyNames": [],
}, fields))

managed(arn, statements) := record("policies", key(arn), {
	"Arn": arn, "AccountId": account, "DefaultVersionId": "v1",
	"DefaultDocument": document(statements),
})

inline(name, statements) := {"PolicyName": name, "PolicyDocument": document(statements)}

attached(arns) := {"AttachedPolicyArns": arns}

users := {
	key("alice.ward"): user("alice.ward", {"GroupList": ["developers"], "Groups": [key("developers")]}),
	key("svc-build"): user("svc-build", {"UserPolicyList": [inline("push-images", [allow(["ecr:PutImage", "ecr:UploadLayerPart"], "*")])]}),
}

groups := {key("developers"): group("developers", object.union(attached([developer_arn, read_only_arn]), {"Members": [key("alice.ward")]}))}

roles := {key("octopus-deployer"): role("octopus-deployer", {"RolePolicyList": [inline("deploy-ecs", [allow(["ecs:UpdateService", "ecs:Describe*"], "*")])]})}

policies := {
	key(developer_arn): managed(developer_arn, [allow(["ecs:*", "logs:*"], "*"), allow("iam:*", "arn:aws:iam::111122223333:user/${aws:username}")]),
	key(read_only_arn): managed(read_only_arn, [allow(["iam:Get*", "iam:List*", "s3:Get*"], "*")]),
	key(admin_arn): managed(admin_arn, [allow("*", "*")]),
}

doc := {
	"period": {"start": "2026-07-01T00:00:00.000000Z", "end": "2026-10-01T00:00:00.000000Z", "timezone": "UTC", "months": []},
	"settings": {"inactivity_days": 90, "aws_key_rotation_days": 90, "privileged_allowlist": []},
	"aws": {
		"users": users, "groups": groups, "roles": roles, "policies": policies,
		"credential_report": report,
	},
	"index": {},
}
