# Unit tests for the shared AWS IAM rules.
package evidencekit.lib.aws_test

import data.evidencekit.lib.aws
import data.evidencekit.lib.aws_testdata as td
import rego.v1

test_timestamp_accepts_only_canonical_dates if {
	aws.timestamp("2026-07-03T00:00:00.000000Z")
	not aws.timestamp("N/A")
	not aws.timestamp("2026-07-03T00:00:00+00:00")
	not aws.timestamp(null)
}

test_sentinels_are_recognised if {
	aws.sentinel("N/A")
	aws.sentinel("no_information")
	aws.sentinel("not_supported")
	not aws.sentinel("2026-07-03T00:00:00.000000Z")
}

test_older_than_is_strict_at_the_limit if {
	not aws.older_than("2026-07-03T00:00:00.000000Z", 90) with input as td.doc
	aws.older_than("2026-07-02T23:59:59.999999Z", 90) with input as td.doc
	not aws.older_than("N/A", 90) with input as td.doc
}

test_admin_actions_reads_strings_and_lists if {
	aws.admin_actions(td.document([td.allow("*", "*")])) == ["*"]
	aws.admin_actions(td.document([td.allow(["ec2:*", "Iam:*"], ["arn:aws:s3:::x", "*"])])) == ["iam:*"]
	aws.admin_actions(td.document([td.allow("s3:*", "*")])) == []
	aws.admin_actions({"Statement": "not a statement"}) == []
}

test_administrator_access_matches_every_partition if {
	aws.administrator_access("arn:aws:iam::aws:policy/AdministratorAccess")
	aws.administrator_access("arn:aws-cn:iam::aws:policy/AdministratorAccess")
	not aws.administrator_access("arn:aws:iam::111122223333:policy/AdministratorAccess")
}

test_who_names_root_and_users if {
	root := td.root_row
	console := td.console_row
	aws.who(root) == "root user of account 111122223333"
	aws.who(console) == "IAM user alice.ward in account 111122223333"
}

test_a_date_too_old_to_compute_is_older_than_any_limit if {
	aws.older_than("1601-01-01T00:00:00.000000Z", 90) with input as {"period": {"end": "2026-10-01T00:00:00.000000Z"}}
	not aws.older_than("2300-01-01T00:00:00.000000Z", 90) with input as {"period": {"end": "2026-10-01T00:00:00.000000Z"}}
	aws.age("1601-01-01T00:00:00.000000Z") == "longer than the engine can count (the date is before 1677)" with input as {"period": {"end": "2026-10-01T00:00:00.000000Z"}}
}
