# Unit tests for the aws-console-mfa policy.
package evidencekit.policies.aws_console_mfa_test

import data.evidencekit.lib.aws_testdata as td
import data.evidencekit.policies.aws_console_mfa as policy
import rego.v1

with_row(fields) := object.union(td.report, {td.key("ben.okoro"): td.row("ben.okoro", fields)})

test_console_users_with_mfa_pass_and_root_is_left_out if {
	policy.findings == set() with input as td.doc
	policy.tested == 1 with input as td.doc
}

test_console_user_without_mfa_fails_with_its_evidence if {
	rows := with_row({"password_enabled": true, "password_last_used": "no_information"})
	findings := policy.findings with input as td.doc with input.aws.credential_report as rows
	findings == {{
		"resource": "111122223333:ben.okoro",
		"message": "IAM user ben.okoro in account 111122223333: a console password is enabled (last used no_information), but no MFA device is active",
		"evidence": ["aws/credential_report/111122223333:ben.okoro"],
	}}
	policy.tested == 2 with input as td.doc with input.aws.credential_report as rows
}

test_user_record_is_cited_when_present if {
	rows := with_row({"password_enabled": true})
	users := object.union(td.users, {td.key("ben.okoro"): td.user("ben.okoro", {})})
	findings := policy.findings with input as td.doc
		with input.aws.credential_report as rows with input.aws.users as users
	some finding in findings
	finding.evidence == ["aws/credential_report/111122223333:ben.okoro", "aws/users/111122223333:ben.okoro"]
}

test_user_without_a_password_is_out_of_scope if {
	rows := with_row({"password_enabled": false, "mfa_active": false})
	policy.findings == set() with input as td.doc with input.aws.credential_report as rows
	policy.tested == 1 with input as td.doc with input.aws.credential_report as rows
}

test_unreadable_password_flag_with_no_mfa_fails_closed if {
	rows := with_row({"password_enabled": null})
	findings := policy.findings with input as td.doc with input.aws.credential_report as rows
	some finding in findings
	finding.message == "IAM user ben.okoro in account 111122223333: whether a console password is enabled is unknown (password_enabled is empty), but no MFA device is active"
}

test_unreadable_mfa_flag_fails_closed if {
	rows := with_row({"password_enabled": true, "mfa_active": null})
	findings := policy.findings with input as td.doc with input.aws.credential_report as rows
	some finding in findings
	endswith(finding.message, "but the MFA status is unknown (mfa_active is empty)")
}

test_root_without_mfa_is_left_to_the_root_policy if {
	root := td.row("<root_account>", {"password_enabled": "not_supported", "mfa_active": false})
	rows := object.union(td.report, {td.key("<root_account>"): root})
	policy.findings == set() with input as td.doc with input.aws.credential_report as rows
}
