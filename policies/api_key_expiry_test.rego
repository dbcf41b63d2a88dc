# Unit tests for the api-key-expiry policy.
package evidencekit.policies.api_key_expiry_test

import data.evidencekit.lib.testdata as td
import data.evidencekit.policies.api_key_expiry as policy
import rego.v1

key(created, expires) := {"APIKeys-501": td.api_key("APIKeys-501", "Users-377", created, expires)}

evidence := ["octopus/apikeys/APIKeys-501", "octopus/users/Users-377"]

test_key_inside_maximum_passes_and_inactive_users_keys_are_ignored if {
	policy.findings == set() with input as td.doc
	policy.tested == 1 with input as td.doc
}

test_key_that_never_expires_fails if {
	findings := policy.findings with input as td.doc
		with input.octopus.apikeys as key("2026-02-01T09:00:00.000000Z", null)
	findings == {{
		"resource": "APIKeys-501",
		"message": `API key APIKeys-501 ("ci pipeline") of "Users-377": it never expires (Expires is empty; created 2026-02-01T09:00:00.000000Z)`,
		"evidence": evidence,
	}}
}

test_lifetime_of_exactly_the_maximum_passes if {
	policy.findings == set() with input as td.doc
		with input.octopus.apikeys as key("2026-02-01T09:00:00.000000Z", "2027-02-01T09:00:00.000000Z")
}

test_lifetime_just_over_the_maximum_fails if {
	finding := td.only(policy.findings, "APIKeys-501") with input as td.doc
		with input.octopus.apikeys as key("2026-02-01T09:00:00.000000Z", "2027-02-01T09:00:00.000001Z")
	contains(finding.message, "it is valid for more than 365 days (Created 2026-02-01T09:00:00.000000Z, Expires 2027-02-01T09:00:00.000001Z), more than the maximum of 365 days")
}

test_lifetime_in_whole_days_is_reported_exactly if {
	finding := td.only(policy.findings, "APIKeys-501") with input as td.doc
		with input.octopus.apikeys as key("2026-02-01T09:00:00.000000Z", "2027-02-02T09:00:00.000000Z")
	contains(finding.message, "it is valid for 366 days (")
}

test_maximum_comes_from_settings if {
	findings := policy.findings with input as td.doc with input.settings.api_key_max_days as 90
	finding := td.only(findings, "APIKeys-501")
	contains(finding.message, "it is valid for 364 days")
	contains(finding.message, "more than the maximum of 90 days")
}

test_key_without_created_fails_closed if {
	finding := td.only(policy.findings, "APIKeys-501") with input as td.doc
		with input.octopus.apikeys as key(null, "2026-12-01T00:00:00.000000Z")
	endswith(finding.message, "it has no Created time, so its lifetime cannot be shown")
	finding.evidence == evidence
}

test_key_without_created_or_expiry_fails if {
	finding := td.only(policy.findings, "APIKeys-501") with input as td.doc
		with input.octopus.apikeys as key(null, null)
	endswith(finding.message, "it has no Created time and never expires")
}

test_key_of_user_missing_from_evidence_fails_closed if {
	orphan := {"APIKeys-600": td.api_key("APIKeys-600", "Users-999", "2026-02-01T09:00:00.000000Z", "2026-03-01T09:00:00.000000Z")}
	findings := policy.findings with input as td.doc with input.octopus.apikeys as orphan
	findings == {{
		"resource": "APIKeys-600",
		"message": `API key APIKeys-600 ("ci pipeline") of "Users-999": its user is not in the evidence, so the key cannot be shown to be out of use`,
		"evidence": ["octopus/apikeys/APIKeys-600"],
	}}
	policy.tested == 1 with input as td.doc with input.octopus.apikeys as orphan
}

test_inactive_users_perpetual_key_is_ignored if {
	inactive := {"APIKeys-502": td.api_key("APIKeys-502", "Users-90", null, null)}
	policy.findings == set() with input as td.doc with input.octopus.apikeys as inactive
	policy.tested == 0 with input as td.doc with input.octopus.apikeys as inactive
}

test_sparse_key_record_still_fails if {
	sparse := {"APIKeys-700": {"Id": "APIKeys-700", "UserId": "Users-212", "_ref": "octopus/apikeys/APIKeys-700"}}
	findings := policy.findings with input as td.doc with input.octopus.apikeys as sparse
	findings == {{
		"resource": "APIKeys-700",
		"message": `API key APIKeys-700 (empty) of "Users-212": it has no Created time and never expires`,
		"evidence": ["octopus/apikeys/APIKeys-700", "octopus/users/Users-212"],
	}}
}

test_missing_maximum_setting_leaves_tested_undefined if {
	settings := object.remove(td.settings, ["api_key_max_days"])
	not policy.tested with input as td.doc with input.settings as settings
}

# Some clients write "never" as 9999-12-31 or 2300-01-01; the engine cannot hold
# such a moment in nanoseconds, and parsing it would drop every finding.
test_far_future_expiry_is_effectively_never_and_keeps_other_findings if {
	keys := {
		"APIKeys-501": td.api_key("APIKeys-501", "Users-377", "2026-02-01T09:00:00.000000Z", "9999-12-31T00:00:00.000000Z"),
		"APIKeys-503": td.api_key("APIKeys-503", "Users-212", "2026-03-02T10:00:00.000000Z", "2300-01-01T00:00:00.000000Z"),
		"APIKeys-504": td.api_key("APIKeys-504", "Users-305", "2026-01-05T08:00:00.000000Z", null),
	}
	findings := policy.findings with input as td.doc with input.octopus.apikeys as keys
	count(findings) == 3
	td.only(findings, "APIKeys-501").message == `API key APIKeys-501 ("ci pipeline") of "Users-377": it effectively never expires (Expires 9999-12-31T00:00:00.000000Z is past any date that can be computed with; created 2026-02-01T09:00:00.000000Z)`
	contains(td.only(findings, "APIKeys-503").message, "it effectively never expires (Expires 2300-01-01T00:00:00.000000Z")
	contains(td.only(findings, "APIKeys-504").message, "it never expires (Expires is empty")
}

test_expiry_just_inside_the_computable_range_is_measured if {
	finding := td.only(policy.findings, "APIKeys-501") with input as td.doc
		with input.octopus.apikeys as key("2026-02-01T09:00:00.000000Z", "2262-04-10T00:00:00.000000Z")
	contains(finding.message, "it is valid for more than 86264 days")
}

test_timestamps_that_cannot_be_computed_with_fail_closed if {
	early := td.only(policy.findings, "APIKeys-501") with input as td.doc
		with input.octopus.apikeys as key("1601-01-01T00:00:00.000000Z", "2026-12-01T00:00:00.000000Z")
	endswith(early.message, "its Created time 1601-01-01T00:00:00.000000Z is not a timestamp that can be computed with, so its lifetime cannot be shown")
	malformed := td.only(policy.findings, "APIKeys-501") with input as td.doc
		with input.octopus.apikeys as key("2026-02-01T09:00:00.000000Z", "2027-01-31 09:00:00")
	endswith(malformed.message, "its Expires time 2027-01-31 09:00:00 is not a timestamp that can be computed with, so its lifetime cannot be shown")
}
