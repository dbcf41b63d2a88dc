# Unit tests for the aws-unused-access-keys policy.
package evidencekit.policies.aws_unused_access_keys_test

import data.evidencekit.lib.aws_testdata as td
import data.evidencekit.policies.aws_unused_access_keys as policy
import rego.v1

with_key(fields) := object.union(td.report, {td.key("svc-build"): td.key_row(fields)})

test_recently_used_key_passes if {
	policy.findings == set() with input as td.doc
	policy.tested == 1 with input as td.doc
}

test_key_used_exactly_at_the_threshold_passes if {
	rows := with_key({"access_key_1_last_used_date": "2026-07-03T00:00:00.000000Z"})
	policy.findings == set() with input as td.doc with input.aws.credential_report as rows
}

test_key_unused_for_longer_than_the_threshold_fails if {
	rows := with_key({"access_key_1_last_used_date": "2026-02-01T06:30:00.000000Z"})
	findings := policy.findings with input as td.doc with input.aws.credential_report as rows
	findings == {{
		"resource": "111122223333:svc-build",
		"message": "IAM user svc-build in account 111122223333: access key 1 was last used 2026-02-01T06:30:00.000000Z, more than 241 days before the period end (limit 90 days)",
		"evidence": ["aws/credential_report/111122223333:svc-build", "aws/users/111122223333:svc-build"],
	}}
}

test_never_used_key_counts_from_its_last_rotation if {
	rows := with_key({"access_key_1_last_used_date": "N/A", "access_key_1_last_rotated": "2026-05-01T00:00:00.000000Z"})
	findings := policy.findings with input as td.doc with input.aws.credential_report as rows
	some finding in findings
	endswith(finding.message, "access key 1 has never been used (last used N/A) and was issued 2026-05-01T00:00:00.000000Z, 153 days before the period end (limit 90 days)")
}

test_new_never_used_key_passes if {
	rows := with_key({"access_key_1_last_used_date": "N/A", "access_key_1_last_rotated": "2026-09-20T00:00:00.000000Z"})
	policy.findings == set() with input as td.doc with input.aws.credential_report as rows
}

test_never_used_key_without_rotation_counts_from_user_creation if {
	rows := with_key({"access_key_1_last_used_date": "N/A", "access_key_1_last_rotated": "N/A"})
	findings := policy.findings with input as td.doc with input.aws.credential_report as rows
	some finding in findings
	contains(finding.message, "was issued 2024-01-10T09:00:00.000000Z")
}

test_never_used_key_with_no_dates_fails_closed if {
	rows := with_key({"access_key_1_last_used_date": "N/A", "access_key_1_last_rotated": "N/A", "user_creation_time": null})
	findings := policy.findings with input as td.doc with input.aws.credential_report as rows
	some finding in findings
	endswith(finding.message, "access key 1 has never been used and neither its last rotation nor the user's creation time is a date")
}

test_unreadable_last_use_fails_closed if {
	rows := with_key({"access_key_1_last_used_date": null})
	findings := policy.findings with input as td.doc with input.aws.credential_report as rows
	some finding in findings
	endswith(finding.message, "access key 1 is active but its last use is empty, not a date")
}

test_result_does_not_depend_on_the_order_rows_are_seen if {
	stale := td.row("a-stale", {"access_key_1_active": true, "access_key_1_last_rotated": "2026-01-01T00:00:00.000000Z", "access_key_1_last_used_date": "2026-01-02T00:00:00.000000Z"})
	fresh := td.key_row({})
	never := td.row("b-never", {"access_key_1_active": true, "access_key_1_last_rotated": "2026-09-25T00:00:00.000000Z"})
	rows := {"1:a": fresh, "1:b": never, "1:c": stale, "1:d": fresh}
	findings := policy.findings with input as td.doc with input.aws.credential_report as rows
	{finding.resource | some finding in findings} == {"1:c"}
}

test_missing_threshold_leaves_tested_undefined if {
	settings := {"aws_key_rotation_days": 90}
	not policy.tested with input as td.doc with input.settings as settings
}
