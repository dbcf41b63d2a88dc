# Unit tests for the aws-access-key-rotation policy.
package evidencekit.policies.aws_access_key_rotation_test

import data.evidencekit.lib.aws_testdata as td
import data.evidencekit.policies.aws_access_key_rotation as policy
import rego.v1

with_key(fields) := object.union(td.report, {td.key("svc-build"): td.key_row(fields)})

# 90 days before the period end (2026-10-01T00:00:00Z).
limit := "2026-07-03T00:00:00.000000Z"

test_recently_rotated_key_passes if {
	policy.findings == set() with input as td.doc
	policy.tested == 1 with input as td.doc
}

test_key_rotated_exactly_at_the_limit_passes if {
	at_limit := limit
	rows := with_key({"access_key_1_last_rotated": at_limit})
	policy.findings == set() with input as td.doc with input.aws.credential_report as rows
}

test_key_rotated_a_microsecond_too_early_fails if {
	rows := with_key({"access_key_1_last_rotated": "2026-07-02T23:59:59.999999Z"})
	findings := policy.findings with input as td.doc with input.aws.credential_report as rows
	findings == {{
		"resource": "111122223333:svc-build",
		"message": "IAM user svc-build in account 111122223333: access key 1 was last rotated 2026-07-02T23:59:59.999999Z, more than 90 days before the period end (limit 90 days)",
		"evidence": ["aws/credential_report/111122223333:svc-build", "aws/users/111122223333:svc-build"],
	}}
}

test_both_stale_keys_are_named_in_one_finding if {
	rows := with_key({
		"access_key_1_last_rotated": "2025-01-04T12:00:00.000000Z",
		"access_key_2_active": true, "access_key_2_last_rotated": "2026-03-01T00:00:00.000000Z",
	})
	findings := policy.findings with input as td.doc with input.aws.credential_report as rows
	some finding in findings
	contains(finding.message, "access key 1 was last rotated 2025-01-04T12:00:00.000000Z, more than 634 days before")
	contains(finding.message, "; access key 2 was last rotated 2026-03-01T00:00:00.000000Z, 214 days before")
}

test_inactive_old_key_is_ignored if {
	rows := with_key({"access_key_1_active": false, "access_key_1_last_rotated": "2020-01-01T00:00:00.000000Z"})
	policy.findings == set() with input as td.doc with input.aws.credential_report as rows
	policy.tested == 0 with input as td.doc with input.aws.credential_report as rows
}

test_active_key_without_a_rotation_date_fails_closed if {
	rows := with_key({"access_key_1_last_rotated": "N/A"})
	findings := policy.findings with input as td.doc with input.aws.credential_report as rows
	some finding in findings
	endswith(finding.message, "access key 1 is active but its last rotation time is N/A, not a date")
}

test_unreadable_active_flag_counts_as_active if {
	rows := with_key({"access_key_2_active": null})
	findings := policy.findings with input as td.doc with input.aws.credential_report as rows
	some finding in findings
	endswith(finding.message, "access key 2 is active but its last rotation time is N/A, not a date")
}

test_rotation_days_come_from_settings if {
	rows := with_key({"access_key_1_last_rotated": "2026-08-01T10:00:00.000000Z"})
	findings := policy.findings with input as td.doc
		with input.aws.credential_report as rows with input.settings.aws_key_rotation_days as 30
	some finding in findings
	contains(finding.message, "more than 60 days before the period end (limit 30 days)")
}

test_rotation_days_default_to_90 if {
	settings := {"inactivity_days": 90}
	rows := with_key({"access_key_1_last_rotated": "2026-07-01T00:00:00.000000Z"})
	findings := policy.findings with input as td.doc
		with input.aws.credential_report as rows with input.settings as settings
	some finding in findings
	contains(finding.message, "(limit 90 days)")
}
