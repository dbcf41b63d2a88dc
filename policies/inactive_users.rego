# METADATA
# title: Team members who stopped using Octopus are removed
# description: >-
#   Every active Octopus user who is a member of at least one team is the actor of an
#   audit event in the configured number of days before the end of the audit period.
#   Users in no team hold no access through teams and are not examined.
# custom:
#   id: inactive-users
#   severity: medium
#   controls: [iso27001-2022:A.5.18, iso27001-2022:A.5.16, soc2-2017:CC6.2]
#   requires: [octopus.users, octopus.teams, octopus.events]
package evidencekit.policies.inactive_users

import data.evidencekit.lib.access
import data.evidencekit.lib.util
import rego.v1

# Active users with at least one team, with those team ids.
members[id] := team_ids if {
	some id, user in input.octopus.users
	access.active(user)
	team_ids := object.get(input.index.team_ids_by_user, id, [])
	count(team_ids) > 0
}

# Undefined (an evaluation error, never a pass) when the threshold is not configured.
tested := count(members) if is_number(days)

days := input.settings.inactivity_days

# The earliest moment that still counts as recent activity.
cutoff_ns := util.ns(input.period.end) - (days * util.day_ns)

findings contains finding if {
	some id, team_ids in members
	not recent(id)
	user := input.octopus.users[id]
	last := object.get(input.index.last_event_by_user, id, null)
	teams := sort(team_ids)
	finding := {
		"resource": id,
		"message": sprintf(
			"active user %s (%s), a member of %s, is the actor of no audit event in the %v days before %s; last activity: %s",
			[
				id, util.show(object.get(user, "Username", null)), concat(", ", teams),
				days, input.period.end, last_activity(last),
			],
		),
		"evidence": array.concat(
			util.refs(array.concat([user], [input.octopus.teams[team_id] | some team_id in teams])),
			event_ref(last),
		),
	}
}

# An event time util.ns cannot compute with is undefined here, so that user is
# reported rather than passed over.
recent(id) if util.ns(input.index.last_event_by_user[id].occurred) >= cutoff_ns

last_activity(last) := last.occurred if is_string(last.occurred)

else := "no audit event at all"

event_ref(last) := [last.ref] if is_string(last.ref)

else := []
