# Unit tests for the octopus-unrotated-accounts policy.
package evidencekit.policies.octopus_unrotated_accounts_test

import data.evidencekit.policies.octopus_unrotated_accounts as policy
import rego.v1

account(id, kind, modified) := {
	"Id": id, "Name": lower(id), "AccountType": kind, "LastModifiedOn": modified,
	"_ref": sprintf("octopus/accounts/%s", [id]),
}

modified(id, occurred) := {"occurred": occurred, "ref": sprintf("octopus/events/%s", [id])}

doc := {
	"period": {"start": "2026-07-01T00:00:00.000000Z", "end": "2026-10-01T00:00:00.000000Z"},
	"settings": {},
	"octopus": {
		"accounts": {
			"Accounts-1": account("Accounts-1", "AmazonWebServicesAccount", "2026-09-15T10:00:00.000000Z"),
			"Accounts-2": account("Accounts-2", "Token", "2026-01-10T10:00:00.000000Z"),
			"Accounts-3": account("Accounts-3", "AzureOidc", "2025-01-01T00:00:00.000000Z"),
			"Accounts-4": account("Accounts-4", "UsernamePassword", null),
		},
	},
	"index": {"account_modifications": {
		"Accounts-4": [modified("Events-1", "2026-08-01T09:00:00.000000Z")],
	}},
}

test_recent_change_by_field_or_event_passes_and_oidc_is_ignored if {
	d := doc
	findings := policy.findings with input as d
	{f.resource | some f in findings} == {"Accounts-2"}
	policy.tested == 3 with input as d
}

test_stale_account_names_its_last_change if {
	d := doc
	findings := policy.findings with input as d
	findings == {{
		"resource": "Accounts-2",
		"message": `account Accounts-2 ("accounts-2"), type "Token", was last modified at 2026-01-10T10:00:00.000000Z, more than 90 days before the period's end`,
		"evidence": ["octopus/accounts/Accounts-2"],
	}}
}

test_an_account_with_no_modification_fails if {
	d := doc
	findings := policy.findings with input as d with input.index.account_modifications as {}
	finding := [f | some f in findings; f.resource == "Accounts-4"][0]
	contains(finding.message, "has no modification before the period's end")
	finding.evidence == ["octopus/accounts/Accounts-4"]
}

test_the_threshold_is_inclusive_and_the_end_exclusive if {
	d := doc
	at_threshold := {"Accounts-2": account("Accounts-2", "Token", "2026-07-03T00:00:00.000000Z")}
	count(policy.findings) == 0 with input as d with input.octopus.accounts as at_threshold
	after_end := {"Accounts-2": account("Accounts-2", "Token", "2026-10-01T00:00:00.000000Z")}
	findings := policy.findings with input as d with input.octopus.accounts as after_end
	contains([f | some f in findings][0].message, "has no modification before the period's end")
}

test_an_old_event_is_named_as_the_last_change if {
	d := doc
	accounts := {"Accounts-4": account("Accounts-4", "UsernamePassword", "2026-02-01T00:00:00.000000Z")}
	edits := {"Accounts-4": [modified("Events-9", "2026-03-01T00:00:00.000000Z")]}
	findings := policy.findings with input as d with input.octopus.accounts as accounts
		with input.index.account_modifications as edits
	findings == {{
		"resource": "Accounts-4",
		"message": `account Accounts-4 ("accounts-4"), type "UsernamePassword", was last modified at 2026-03-01T00:00:00.000000Z, more than 90 days before the period's end`,
		"evidence": ["octopus/accounts/Accounts-4", "octopus/events/Events-9"],
	}}
}

test_days_come_from_settings if {
	d := doc
	findings := policy.findings with input as d with input.settings as {"account_rotation_days": 10}
	{f.resource | some f in findings} == {"Accounts-1", "Accounts-2", "Accounts-4"}
}
