# METADATA
# title: System administrators are on the approved list
# description: >-
#   Every active Octopus user who holds a system-level role granting AdministerSystem
#   through a team is on the privileged allowlist (matched on the lower-cased Id or
#   Username, or on the EmailAddress when exactly one active user has it). System
#   permissions are not narrowed by scope lists, and an empty scope list means
#   unrestricted. A system-level role whose user role is not in the evidence, and a
#   team member who is not, fail: the access cannot be shown.
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
tested := count(active_users) + count(missing_members) if {
	is_array(input.settings.privileged_allowlist)
}

allowlist := {name | some name in input.settings.privileged_allowlist}

findings contains finding if {
	some id, user in active_users
	not allowed(id, user)
	grants := admin_grants_of(id)
	gaps := unknown_grants_of(id)
	count(grants) + count(gaps) > 0
	finding := {
		"resource": id,
		"message": concat("; ", array.concat(
			grant_sentence(id, user, grants),
			gap_sentences(id, user, grants, gaps),
		)),
		"evidence": array.concat(array.concat(util.refs([user]), grant_evidence(grants)), [ref |
			some gap in gaps
			some ref in util.refs([
				object.get(input.octopus.teams, object.get(gap.scoped_role, "TeamId", null), null),
				gap.scoped_role,
			])
		]),
	}
}

# Ids that teams able to grant system permissions list as members, with no user
# record: whether they are active administrators off the allowlist cannot be shown,
# so each is a finding rather than passed over. {user id: [team id, ...]}.
missing_members[user_id] := team_ids if {
	some user_id, listed in input.index.team_ids_by_user
	not input.octopus.users[user_id]
	not lower(user_id) in allowlist
	team_ids := sort([team_id | some team_id in listed; privileged_team(team_id)])
	count(team_ids) > 0
}

findings contains finding if {
	some user_id, team_ids in missing_members
	finding := {
		"resource": user_id,
		"message": concat("; ", [sprintf(
			"team %s (%s) lists %s, who is not in the evidence, so %s's access cannot be shown",
			[team_id, util.show(object.get(input.octopus.teams[team_id], "Name", null)), user_id, user_id],
		) |
			some team_id in team_ids
		]),
		"evidence": [ref |
			some team_id in team_ids
			some ref in util.refs([input.octopus.teams[team_id]])
		],
	}
}

privileged_team(team_id) if count(access.admin_grants(team_id)) > 0

privileged_team(team_id) if count(access.unknown_grants(team_id)) > 0

# Each grant of AdministerSystem that reaches a user, with its team.
admin_grants_of(user_id) := [{"team": team, "grant": grant} |
	some team_id in object.get(input.index.team_ids_by_user, user_id, [])
	team := input.octopus.teams[team_id]
	some grant in access.admin_grants(team_id)
]

# Each system-level scoped role of a user's teams whose user role is not in the
# evidence.
unknown_grants_of(user_id) := [gap |
	some team_id in object.get(input.index.team_ids_by_user, user_id, [])
	input.octopus.teams[team_id]
	some gap in access.unknown_grants(team_id)
]

grant_sentence(id, user, grants) := [sprintf(
	"active user %s (%s) holds AdministerSystem through %s and is not on the privileged allowlist%s",
	[
		id, util.show(object.get(user, "Username", null)),
		concat(", ", [grant_text(item) | some item in grants]), shared_text(user),
	],
)] if {
	count(grants) > 0
} else := []

gap_sentences(id, user, grants, gaps) := [sentence |
	some i, gap in gaps
	sentence := concat("", [gap_lead(id, user, grants, i), sprintf(
		"%s, so %s's access cannot be shown",
		[access.unknown_grant_text(gap), id],
	)])
]

# The first sentence names the user when no known grant already did.
gap_lead(id, user, grants, i) := sprintf(
	"active user %s (%s), who is not on the privileged allowlist%s: ",
	[id, util.show(object.get(user, "Username", null)), shared_text(user)],
) if {
	count(grants) == 0
	i == 0
} else := ""

grant_evidence(grants) := [ref |
	some item in grants
	some ref in util.refs([item.team, item.grant.scoped_role, item.grant.role])
]

# The allowlist names a user by Id or Username, or by an e-mail address that
# exactly one active user has: a second account that copies an allowlisted address
# must not be excused by it.
allowed(id, _) if lower(id) in allowlist

allowed(_, user) if {
	some field in ["Id", "Username"]
	is_string(user[field])
	lower(user[field]) in allowlist
}

allowed(_, user) if {
	email := email_of(user)
	email in allowlist
	count(active_ids_by_email[email]) == 1
}

email_of(user) := lower(user.EmailAddress) if is_string(user.EmailAddress)

# The active users having each allowlisted e-mail address, by id.
active_ids_by_email[email] := ids if {
	some email in allowlist
	ids := sort([id | some id, user in active_users; email_of(user) == email])
}

# Say why an allowlisted e-mail address did not excuse the user.
shared_text(user) := sprintf(
	" (its e-mail address %s is on the allowlist but is shared by active users %s, so it does not identify one user)",
	[email, concat(", ", ids)],
) if {
	email := email_of(user)
	ids := active_ids_by_email[email]
	count(ids) > 1
} else := ""

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
