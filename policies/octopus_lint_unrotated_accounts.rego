# METADATA
# title: Octopus accounts holding credentials are rotated
# description: >-
#   Every Octopus account that stores a credential (all types except the OIDC ones,
#   which store none) was modified in the configured number of days (default 90)
#   before the period's end, as shown by its LastModifiedOn or by a Modified audit
#   event naming it. Any modification counts as a rotation, as it does in octolint.
# custom:
#   id: octopus-unrotated-accounts
#   lint: OctoLintUnrotatedAccounts
#   severity: medium
#   controls: [iso27001-2022:A.5.17, soc2-2017:CC6.1]
#   requires: [octopus.accounts, octopus.events]
package evidencekit.policies.octopus_unrotated_accounts

import data.evidencekit.lib.octopus_lint as lint
import data.evidencekit.lib.util
import rego.v1

oidc_types := {"AmazonWebServicesOidcAccount", "AzureOidc", "GenericOidcAccount"}

max_days := object.get(input.settings, "account_rotation_days", 90)

in_scope[id] := account if {
	some id, account in input.octopus.accounts
	not oidc_types[account.AccountType]
}

tested := count(in_scope)

# Modified audit events before the period's end that name an account in scope:
# [account id, when, event _ref]. The input's index holds them per account
# (prepare.account_modifications), so the million raw events stay out of the engine.
edits contains [doc, entry.occurred, entry.ref] if {
	some doc, entries in input.index.account_modifications
	in_scope[doc]
	some entry in entries
	is_string(entry.occurred)
	entry.occurred < input.period.end
}

findings contains finding if {
	some id, account in in_scope
	changes := known_changes(id, account)
	not rotated(changes)
	finding := {
		"resource": id,
		"message": sprintf("account %s, type %s, %s", [
			lint.label(account), util.show(object.get(account, "AccountType", null)),
			last_change_text(changes),
		]),
		"evidence": array.concat(util.refs([account]), latest_event_ref(changes)),
	}
}

# Every modification known before the period's end: [when, event _ref or null].
known_changes(id, account) := array.concat(
	[[account.LastModifiedOn, null] |
		is_string(account.LastModifiedOn)
		account.LastModifiedOn < input.period.end
	],
	[[edit[1], edit[2]] | some edit in edits; edit[0] == id],
)

rotated(changes) if {
	some change in changes
	lint.in_last_days(change[0], max_days)
}

latest(changes) := sort(changes)[count(changes) - 1]

last_change_text(changes) := sprintf(
	"has no modification before the period's end (no LastModifiedOn and no Modified audit event), so it cannot be shown to have been rotated in the %v days before it",
	[max_days],
) if {
	count(changes) == 0
} else := sprintf(
	"was last modified at %s, more than %v days before the period's end",
	[latest(changes)[0], max_days],
)

latest_event_ref(changes) := [] if {
	count(changes) == 0
} else := [ref] if {
	ref := latest(changes)[1]
	is_string(ref)
} else := []
