# Unit tests for the aws-root-account policy.
package evidencekit.policies.aws_root_account_test

import data.evidencekit.lib.aws_testdata as td
import data.evidencekit.policies.aws_root_account as policy
import rego.v1

root_key := "111122223333:<root_account>"

with_root(fields) := object.union(td.report, {root_key: td.row("<root_account>", object.union({"password_enabled": "not_supported", "mfa_active": true}, fields))})

test_root_with_mfa_and_no_keys_passes if {
	policy.findings == set() with input as td.doc
	policy.tested == 1 with input as td.doc
}

test_root_without_mfa_fails if {
	rows := with_root({"mfa_active": false})
	findings := policy.findings with input as td.doc with input.aws.credential_report as rows
	findings == {{
		"resource": root_key,
		"message": "root user of account 111122223333: no MFA device is active",
		"evidence": ["aws/credential_report/111122223333:<root_account>"],
	}}
}

test_root_with_an_active_key_fails_even_with_mfa if {
	rows := with_root({"access_key_2_active": true, "access_key_2_last_used_date": "2026-09-12T18:40:00.000000Z"})
	findings := policy.findings with input as td.doc with input.aws.credential_report as rows
	some finding in findings
	finding.message == "root user of account 111122223333: access key 2 is active (last used 2026-09-12T18:40:00.000000Z)"
}

test_unreadable_flags_fail_closed if {
	rows := with_root({"mfa_active": null, "access_key_1_active": null})
	findings := policy.findings with input as td.doc with input.aws.credential_report as rows
	some finding in findings
	finding.message == "root user of account 111122223333: the MFA status is unknown (mfa_active is empty); access key 1 is active (last used N/A)"
}

test_account_without_a_root_row_fails if {
	rows := object.remove(td.report, [root_key])
	findings := policy.findings with input as td.doc with input.aws.credential_report as rows
	findings == {{
		"resource": root_key,
		"message": "root user of account 111122223333: the credential report has no <root_account> row, so the root user cannot be checked",
		"evidence": ["aws/credential_report/111122223333:alice.ward", "aws/credential_report/111122223333:svc-build"],
	}}
}

test_account_seen_only_in_users_fails_and_cites_them if {
	other := object.union(td.user("dana", {}), {"AccountId": "012345678901", "_ref": "aws/users/012345678901:dana"})
	users := object.union(td.users, {"012345678901:dana": other})
	findings := policy.findings with input as td.doc with input.aws.users as users
	findings == {{
		"resource": "012345678901:<root_account>",
		"message": "root user of account 012345678901: the credential report has no <root_account> row, so the root user cannot be checked",
		"evidence": ["aws/users/012345678901:dana"],
	}}
	policy.tested == 2 with input as td.doc with input.aws.users as users
}
