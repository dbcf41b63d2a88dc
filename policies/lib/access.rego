# Who holds system-level administration in Octopus, and through which team.
package evidencekit.lib.access

import data.evidencekit.lib.util
import rego.v1

# The built-in Octopus teams whose members administer the instance or a space.
builtin_admin_team_names := {"Octopus Administrators", "Octopus Managers", "Space Managers"}

# A user counts as active unless the evidence says IsActive is false: a record
# without the flag is kept in scope rather than passed over.
active(user) if not user.IsActive == false

# A scoped user role is system-level when it is not tied to a space. Its scope lists
# (EnvironmentIds, ProjectIds, ...) do not narrow system permissions, and an empty
# list means unrestricted anyway, so they are not consulted.
# A record without the SpaceId key (a pre-Spaces export, or a serialiser that drops
# nulls) is system-level too: nothing ties it to a space.
system_level(scoped_role) if object.get(scoped_role, "SpaceId", null) in {null, ""}

# The grants of AdministerSystem that reach a team: one {"scoped_role", "role"}
# per system-level scoped user role whose user role holds the permission.
admin_grants(team_id) := [grant |
	some scoped_role_id in object.get(input.index.scoped_roles_by_team, team_id, [])
	scoped_role := input.octopus.scopeduserroles[scoped_role_id]
	system_level(scoped_role)
	role := input.octopus.userroles[scoped_role.UserRoleId]
	"AdministerSystem" in object.get(role, "GrantedSystemPermissions", [])
	grant := {"scoped_role": scoped_role, "role": role}
]

# The system-level scoped user roles of a team whose user role is not in the
# evidence, so whether they grant AdministerSystem cannot be shown: one
# {"scoped_role", "role_id"} each, in the order of the index.
unknown_grants(team_id) := [gap |
	some scoped_role_id in object.get(input.index.scoped_roles_by_team, team_id, [])
	scoped_role := input.octopus.scopeduserroles[scoped_role_id]
	system_level(scoped_role)
	not input.octopus.userroles[object.get(scoped_role, "UserRoleId", null)]
	gap := {"scoped_role": scoped_role, "role_id": object.get(scoped_role, "UserRoleId", null)}
]

# Why a gap hides a user's access, for messages: "scoped role ScopedUserRoles-9
# grants userroles-x, which is not in the evidence".
unknown_grant_text(gap) := sprintf("scoped role %s of team %s grants %s, which is not in the evidence", [
	object.get(gap.scoped_role, "Id", null),
	object.get(gap.scoped_role, "TeamId", null),
	role_label(gap.role_id),
])

role_label(role_id) := role_id if is_string(role_id)

else := "a user role it does not name (UserRoleId is empty)"

# Teams of a user whose admin status is unknown, by id: {team_id: [gap, ...]}.
unknown_teams_of(user_id) := {team_id: gaps |
	some team_id in object.get(input.index.team_ids_by_user, user_id, [])
	gaps := unknown_grants(team_id)
	count(gaps) > 0
}

# Teams whose members are administrators, with the reasons and their evidence:
# {"team", "named": bool, "grants": [...]}.
admin_teams[team_id] := {"team": team, "named": named, "grants": grants} if {
	some team_id, team in input.octopus.teams
	grants := admin_grants(team_id)
	named := team.Name in builtin_admin_team_names
	is_admin(named, grants)
}

is_admin(named, _) if named

is_admin(_, grants) if count(grants) > 0

# The admin teams a user belongs to, by id.
admin_teams_of(user_id) := {team_id |
	some team_id in object.get(input.index.team_ids_by_user, user_id, [])
	admin_teams[team_id]
}

# Why a team counts as an administrators team, for messages.
reason(entry) := concat(" and ", array.concat(name_reason(entry), grant_reason(entry)))

name_reason(entry) := ["is a built-in administrators team"] if {
	entry.named
} else := []

grant_reason(entry) := [sprintf("holds AdministerSystem through %s", [labels])] if {
	count(entry.grants) > 0
	labels := concat(", ", grant_labels(entry.grants))
} else := []

grant_labels(grants) := [label |
	some grant in grants
	label := sprintf("%s (%s)", [object.get(grant.scoped_role, "Id", null), object.get(grant.role, "Name", null)])
]

# The _refs of a team and of every grant that makes it an administrators team.
evidence(entry) := array.concat(
	util.refs([entry.team]),
	[ref | some grant in entry.grants; some ref in util.refs([grant.scoped_role, grant.role])],
)
