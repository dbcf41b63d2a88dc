# METADATA
# title: System administrators are on the approved list
# description: >-
#   Every active Octopus user who holds a system-level role granting AdministerSystem
#   through a team is on the privileged allowlist (matched on the lower-cased
#   Username, EmailAddress or Id). System permissions are not narrowed by scope
#   lists, and an empty scope list means unrestricted.
# custom:
#   id: privileged-access
#   severity: high
#   controls: [iso27001-2022:A.8.2, iso27001-2022:A.5.15, iso27001-2022:A.5.18,
#              soc2-2017:CC6.1, soc2-2017:CC6.3]
#   requires: [octopus.users, octopus.teams, octopus.scopeduserroles,
#              octopus.userroles]
package evidencekit.policies.privileged_access

import data.evidencekit.lib.access
import data.evidencekit.lib.util
import rego.v1

active_users[id] := user if {
	some id, user in input.octopus.users
	access.active(user)
}

# Undefined (an evaluation error, never a pass) when the allowlist setting is absent.
tested := count(active_users) if is_array(input.settings.privileged_allowlist)

allowlist := {name | some name in input.settings.privileged_allowlist}

findings contains finding if {
	some id, user in active_users
	grants := [{"team": team, "grant": grant} |
		some team_id in object.get(input.index.team_ids_by_user, id, [])
		team := input.octopus.teams[team_id]
		some grant in access.admin_grants(team_id)
	]
	count(grants) > 0
	not allowed(user)
	finding := {
		"resource": id,
		"message": sprintf(
			"active user %s (%s) holds AdministerSystem through %s and is not on the privileged allowlist",
			[
				id, util.show(object.get(user, "Username", null)),
				concat(", ", [grant_text(item) | some item in grants]),
			],
		),
		"evidence": array.concat(util.refs([user]), [ref |
			some item in grants
			some ref in util.refs([item.team, item.grant.scoped_role, item.grant.role])
		]),
	}
}

allowed(user) if {
	some field in ["Username", "EmailAddress", "Id"]
	is_string(user[field])
	lower(user[field]) in allowlist
}

grant_text(item) := sprintf("team %s (%s), system-level role %s (%s)%s", [
	object.get(item.team, "Id", null), object.get(item.team, "Name", null),
	object.get(item.grant.scoped_role, "Id", null), object.get(item.grant.role, "Name", null),
	scope_text(item.grant.scoped_role),
])

scope_lists := ["EnvironmentIds", "ProjectIds", "ProjectGroupIds", "TenantIds"]

# Say so when a role carries scope lists: they do not limit system permissions.
scope_text(scoped_role) := " with no scope restriction" if {
	every field in scope_lists {
		object.get(scoped_role, field, null) in [null, []]
	}
} else := " (its scope lists do not limit system permissions)"
