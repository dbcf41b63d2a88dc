# Unit tests for finding Octopus administrators.
package evidencekit.lib.access_test

import data.evidencekit.lib.access
import data.evidencekit.lib.testdata as td
import rego.v1

platform := td.team("Teams-20", "Platform SRE", null, ["Users-305"])

platform_role(space_id) := td.scoped_role("ScopedUserRoles-120", "Teams-20", "userroles-systemadministrator", space_id, [])

test_builtin_team_names_are_admin_teams if {
	named := {
		"Teams-2": td.team("Teams-2", "Octopus Managers", null, []),
		"Teams-3": td.team("Teams-3", "Space Managers", "Spaces-1", []),
		"Teams-4": td.team("Teams-4", "octopus administrators", null, []),
	}
	teams := access.admin_teams with input as td.doc with input.octopus.teams as named
	object.keys(teams) == {"Teams-2", "Teams-3"}
	teams["Teams-3"].grants == []
	access.reason(teams["Teams-3"]) == "is a built-in administrators team"
}

test_system_level_role_with_null_space_makes_admin_team if {
	teams := access.admin_teams with input as td.doc
		with input.octopus.teams as {"Teams-20": platform}
		with input.octopus.scopeduserroles as {"ScopedUserRoles-120": platform_role(null)}
		with input.index.scoped_roles_by_team as {"Teams-20": ["ScopedUserRoles-120"]}
	entry := teams["Teams-20"]
	entry.named == false
	access.reason(entry) == "holds AdministerSystem through ScopedUserRoles-120 (System administrator)"
	access.evidence(entry) == [
		"octopus/teams/Teams-20",
		"octopus/scopeduserroles/ScopedUserRoles-120",
		"octopus/userroles/userroles-systemadministrator",
	]
}

test_system_level_role_with_empty_space_makes_admin_team if {
	teams := access.admin_teams with input as td.doc
		with input.octopus.teams as {"Teams-20": platform}
		with input.octopus.scopeduserroles as {"ScopedUserRoles-120": platform_role("")}
		with input.index.scoped_roles_by_team as {"Teams-20": ["ScopedUserRoles-120"]}
	teams["Teams-20"]
}

test_space_level_role_is_not_system_administration if {
	teams := access.admin_teams with input as td.doc
		with input.octopus.teams as {"Teams-20": platform}
		with input.octopus.scopeduserroles as {"ScopedUserRoles-120": platform_role("Spaces-1")}
		with input.index.scoped_roles_by_team as {"Teams-20": ["ScopedUserRoles-120"]}
	teams == {}
}

test_system_level_role_without_administer_system_is_not_admin if {
	viewer := td.scoped_role("ScopedUserRoles-121", "Teams-20", "userroles-projectviewer", null, [])
	teams := access.admin_teams with input as td.doc
		with input.octopus.teams as {"Teams-20": platform}
		with input.octopus.scopeduserroles as {"ScopedUserRoles-121": viewer}
		with input.index.scoped_roles_by_team as {"Teams-20": ["ScopedUserRoles-121"]}
	teams == {}
}

test_named_team_with_grant_gives_both_reasons if {
	entry := access.admin_teams["Teams-1"] with input as td.doc
	access.reason(entry) == "is a built-in administrators team and holds AdministerSystem through ScopedUserRoles-1 (System administrator)"
}

test_admin_teams_of_user if {
	access.admin_teams_of("Users-1") == {"Teams-1"} with input as td.doc
	access.admin_teams_of("Users-212") == set() with input as td.doc
	access.admin_teams_of("Users-999") == set() with input as td.doc
}

test_active_unless_flag_is_false if {
	access.active({"IsActive": true})
	access.active({"Username": "no-flag"})
	not access.active({"IsActive": false})
}

test_role_without_space_id_key_is_system_level if {
	access.system_level(object.remove(platform_role(null), ["SpaceId"]))
	not access.system_level(platform_role("Spaces-1"))
}

test_system_level_role_whose_user_role_is_missing_is_an_unknown_grant if {
	role := td.scoped_role("ScopedUserRoles-120", "Teams-20", "userroles-x", null, [])
	gaps := access.unknown_grants("Teams-20") with input as td.doc
		with input.octopus.teams as {"Teams-20": platform}
		with input.octopus.scopeduserroles as {"ScopedUserRoles-120": role}
		with input.index.scoped_roles_by_team as {"Teams-20": ["ScopedUserRoles-120"]}
	count(gaps) == 1
	access.unknown_grant_text(gaps[0]) == "scoped role ScopedUserRoles-120 of team Teams-20 grants userroles-x, which is not in the evidence"
	access.unknown_grants("Teams-1") == [] with input as td.doc
}
