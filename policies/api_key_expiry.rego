# METADATA
# title: API keys of active users expire
# description: >-
#   Every API key of an active Octopus user has an expiry date, and its lifetime from
#   Created to Expires is at most the configured maximum number of days. A key with
#   no Created time fails, as does a key whose user is not in the evidence. An
#   expiry too far ahead to compute with (9999-12-31) counts as never expiring.
# custom:
#   id: api-key-expiry
#   lint: OctoLintPerpetualApiKeys
#   severity: medium
#   controls: [iso27001-2022:A.5.17, iso27001-2022:A.8.5, soc2-2017:CC6.1]
#   requires: [octopus.apikeys, octopus.users]
package evidencekit.policies.api_key_expiry

import data.evidencekit.lib.access
import data.evidencekit.lib.util
import rego.v1

# Keys of active users. A key whose user is missing from the evidence is kept in
# scope: nothing shows that its user is inactive.
in_scope[id] := key if {
	some id, key in input.octopus.apikeys
	not inactive(key.UserId)
}

inactive(user_id) if {
	user := input.octopus.users[user_id]
	not access.active(user)
}

# Undefined (an evaluation error, never a pass) when the maximum is not configured.
tested := count(in_scope) if is_number(max_days)

max_days := input.settings.api_key_max_days

findings contains finding if {
	some id, key in in_scope
	problems := array.concat(user_gap(key), lifetime(key))
	count(problems) > 0
	user_id := object.get(key, "UserId", null)
	finding := {
		"resource": id,
		"message": sprintf("API key %s (%s) of %s: %s", [
			id, util.show(object.get(key, "Purpose", null)), util.show(user_id),
			concat("; ", problems),
		]),
		"evidence": util.refs([key, object.get(input.octopus.users, user_id, null)]),
	}
}

user_gap(key) := [] if {
	input.octopus.users[key.UserId]
} else := ["its user is not in the evidence, so the key cannot be shown to be out of use"]

lifetime(key) := ["it has no Created time, so its lifetime cannot be shown"] if {
	not is_string(key.Created)
	is_string(key.Expires)
} else := ["it has no Created time and never expires"] if {
	not is_string(key.Created)
} else := [sprintf("it never expires (Expires is empty; created %s)", [key.Created])] if {
	not is_string(key.Expires)
} else := [sprintf(
	"its Created time %s is not a timestamp that can be computed with, so its lifetime cannot be shown",
	[key.Created],
)] if {
	not util.computable(key.Created)
} else := [sprintf(
	"it effectively never expires (Expires %s is past any date that can be computed with; created %s)",
	[key.Expires, key.Created],
)] if {
	# 9999-12-31 or 2300-01-01 is how some clients write "never"; parsing it would
	# raise "time outside of valid range" and drop every finding of the policy.
	util.beyond_computable(key.Expires)
} else := [sprintf(
	"its Expires time %s is not a timestamp that can be computed with, so its lifetime cannot be shown",
	[key.Expires],
)] if {
	not util.computable(key.Expires)
} else := [msg] if {
	span := util.ns(key.Expires) - util.ns(key.Created)
	span > max_days * util.day_ns
	msg := sprintf(
		"it is valid for %s (Created %s, Expires %s), more than the maximum of %v days",
		[duration(span), key.Created, key.Expires, max_days],
	)
} else := []

duration(span) := sprintf("%v days", [days]) if {
	days := floor(span / util.day_ns)
	days * util.day_ns == span
} else := sprintf("more than %v days", [floor(span / util.day_ns)])
