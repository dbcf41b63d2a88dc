# Unit tests for the privileged-access policy.
package evidencekit.policies.privileged_access_test

import data.evidencekit.lib.testdata as td
import data.evidencekit.policies.privileged_access as policy
import rego.v1

# Put a user into Octopus Administrators (Teams-1), which holds AdministerSystem.
admins(user_ids) := {"Teams-1": td.team("Teams-1", "Octopus Administrators", null, user_ids)}

membership(user_ids) := {user_id: ["Teams-1"] | some user_id in user_ids}

test_allowlisted_administrator_passes if {
	policy.findings == set() with input as td.doc
	policy.tested == 4 with input as td.doc
}

test_administrator_not_on_allowlist_fails if {
	findings := policy.findings with input as td.doc with input.settings.privileged_allowlist as []
	findings == {{
		"resource": "Users-1",
		"message": `active user Users-1 ("octoadmin") holds AdministerSystem through team Teams-1 (Octopus Administrators), system-level role ScopedUserRoles-1 (System administrator) with no scope restriction and is not on the privileged allowlist`,
		"evidence": [
			"octopus/users/Users-1",
			"octopus/teams/Teams-1",
			"octopus/scopeduserroles/ScopedUserRoles-1",
			"octopus/userroles/userroles-systemadministrator",
		],
	}}
}

test_allowlist_matches_email_case_insensitively if {
	policy.findings == set() with input as td.doc
		with input.octopus.teams as admins(["Users-1", "Users-212"])
		with input.index.team_ids_by_user as membership(["Users-1", "Users-212"])
		with input.settings.privileged_allowlist as ["octoadmin", "a.ng@acme-payments.example"]
	finding := td.only(policy.findings, "Users-212") with input as td.doc
		with input.octopus.teams as admins(["Users-1", "Users-212"])
		with input.index.team_ids_by_user as membership(["Users-1", "Users-212"])
	contains(finding.message, "active user Users-212")
}

test_allowlist_matches_user_id_case_insensitively if {
	users := object.union(td.users, {"Users-42": td.user("Users-42", "breakglass", null, {})})
	policy.findings == set() with input as td.doc
		with input.octopus.users as users
		with input.octopus.teams as admins(["Users-1", "Users-42"])
		with input.index.team_ids_by_user as membership(["Users-1", "Users-42"])
}

test_allowlist_matches_username if {
	policy.findings == set() with input as td.doc
		with input.octopus.teams as admins(["Users-1", "Users-305"])
		with input.index.team_ids_by_user as membership(["Users-1", "Users-305"])
		with input.settings.privileged_allowlist as ["octoadmin", "b.osei"]
}

test_inactive_administrator_is_ignored if {
	policy.findings == set() with input as td.doc
		with input.octopus.teams as admins(["Users-1", "Users-90"])
		with input.index.team_ids_by_user as membership(["Users-1", "Users-90"])
	policy.tested == 4 with input as td.doc
}

test_user_without_active_flag_is_examined if {
	users := object.union(td.users, {"Users-500": object.remove(td.user("Users-500", "legacy", null, {}), ["IsActive"])})
	finding := td.only(policy.findings, "Users-500") with input as td.doc
		with input.octopus.users as users
		with input.octopus.teams as admins(["Users-1", "Users-500"])
		with input.index.team_ids_by_user as membership(["Users-1", "Users-500"])
	contains(finding.message, "active user Users-500")
}

test_space_level_role_is_not_system_administration if {
	space_role := {"ScopedUserRoles-1": td.scoped_role("ScopedUserRoles-1", "Teams-1", "userroles-systemadministrator", "Spaces-1", [])}
	policy.findings == set() with input as td.doc
		with input.settings.privileged_allowlist as []
		with input.octopus.scopeduserroles as space_role
}

test_empty_string_space_is_system_level if {
	blank_space := {"ScopedUserRoles-1": td.scoped_role("ScopedUserRoles-1", "Teams-1", "userroles-systemadministrator", "", [])}
	td.only(policy.findings, "Users-1") with input as td.doc
		with input.settings.privileged_allowlist as []
		with input.octopus.scopeduserroles as blank_space
}

test_scope_lists_do_not_exempt_system_permissions if {
	scoped := {"ScopedUserRoles-1": td.scoped_role("ScopedUserRoles-1", "Teams-1", "userroles-systemadministrator", null, ["Environments-1"])}
	finding := td.only(policy.findings, "Users-1") with input as td.doc
		with input.settings.privileged_allowlist as []
		with input.octopus.scopeduserroles as scoped
	contains(finding.message, "(its scope lists do not limit system permissions)")
}

test_role_without_administer_system_passes if {
	viewer := {"ScopedUserRoles-1": td.scoped_role("ScopedUserRoles-1", "Teams-1", "userroles-projectviewer", null, [])}
	policy.findings == set() with input as td.doc
		with input.settings.privileged_allowlist as []
		with input.octopus.scopeduserroles as viewer
}

test_missing_allowlist_setting_leaves_tested_undefined if {
	settings := object.remove(td.settings, ["privileged_allowlist"])
	not policy.tested with input as td.doc with input.settings as settings
}

# A system-level role exported without the SpaceId key at all (a pre-Spaces export,
# or a serialiser that drops nulls) is system-level, like SpaceId null.
test_role_without_space_id_key_is_system_level if {
	role := object.remove(
		td.scoped_role("ScopedUserRoles-1", "Teams-1", "userroles-systemadministrator", null, []),
		["SpaceId"],
	)
	finding := td.only(policy.findings, "Users-1") with input as td.doc
		with input.settings.privileged_allowlist as []
		with input.octopus.scopeduserroles as {"ScopedUserRoles-1": role}
	contains(finding.message, "holds AdministerSystem through team Teams-1 (Octopus Administrators), system-level role ScopedUserRoles-1 (System administrator)")
}

# Platform SRE (Teams-20, b.osei) holds a system-level role whose user role is not
# in userroles.json: what it grants cannot be shown, so b.osei fails.
sre_team := {"Teams-20": td.team("Teams-20", "Platform SRE", null, ["Users-305"])}

sre_role := {"ScopedUserRoles-9": td.scoped_role("ScopedUserRoles-9", "Teams-20", "userroles-platformowner", null, [])}

sre_index := object.union(td.index, {
	"team_ids_by_user": object.union(td.index.team_ids_by_user, {"Users-305": ["Teams-14", "Teams-20"]}),
	"scoped_roles_by_team": object.union(td.index.scoped_roles_by_team, {"Teams-20": ["ScopedUserRoles-9"]}),
})

test_system_level_role_whose_user_role_is_missing_fails_closed if {
	teams := object.union(td.teams, sre_team)
	roles := object.union(td.scopeduserroles, sre_role)
	index := sre_index
	findings := policy.findings with input as td.doc
		with input.octopus.teams as teams
		with input.octopus.scopeduserroles as roles
		with input.index as index
	findings == {{
		"resource": "Users-305",
		"message": `active user Users-305 ("b.osei"), who is not on the privileged allowlist: scoped role ScopedUserRoles-9 of team Teams-20 grants userroles-platformowner, which is not in the evidence, so Users-305's access cannot be shown`,
		"evidence": [
			"octopus/users/Users-305",
			"octopus/teams/Teams-20",
			"octopus/scopeduserroles/ScopedUserRoles-9",
		],
	}}
}

test_missing_user_role_of_a_space_level_role_is_not_examined if {
	teams := object.union(td.teams, sre_team)
	space_role := {"ScopedUserRoles-9": td.scoped_role("ScopedUserRoles-9", "Teams-20", "userroles-platformowner", "Spaces-1", [])}
	roles := object.union(td.scopeduserroles, space_role)
	index := sre_index
	policy.findings == set() with input as td.doc
		with input.octopus.teams as teams
		with input.octopus.scopeduserroles as roles
		with input.index as index
}

test_allowlisted_user_with_a_missing_user_role_passes if {
	teams := object.union(td.teams, sre_team)
	roles := object.union(td.scopeduserroles, sre_role)
	index := sre_index
	policy.findings == set() with input as td.doc
		with input.octopus.teams as teams
		with input.octopus.scopeduserroles as roles
		with input.index as index
		with input.settings.privileged_allowlist as ["octoadmin", "b.osei"]
}

test_administrators_team_member_missing_from_users_fails_closed if {
	findings := policy.findings with input as td.doc
		with input.octopus.teams as admins(["Users-1", "Users-40"])
		with input.index.team_ids_by_user as membership(["Users-1", "Users-40"])
	findings == {{
		"resource": "Users-40",
		"message": `team Teams-1 ("Octopus Administrators") lists Users-40, who is not in the evidence, so Users-40's access cannot be shown`,
		"evidence": ["octopus/teams/Teams-1"],
	}}
	policy.tested == 5 with input as td.doc
		with input.octopus.teams as admins(["Users-1", "Users-40"])
		with input.index.team_ids_by_user as membership(["Users-1", "Users-40"])
}

test_missing_member_of_a_team_without_system_roles_is_not_examined if {
	policy.findings == set() with input as td.doc
		with input.index.team_ids_by_user as object.union(td.index.team_ids_by_user, {"Users-41": ["Teams-14"]})
}

test_missing_member_allowlisted_by_id_passes if {
	policy.findings == set() with input as td.doc
		with input.octopus.teams as admins(["Users-1", "Users-42"])
		with input.index.team_ids_by_user as membership(["Users-1", "Users-42"])
}

# A second active account that copies the allowlisted address of a.ng is not
# excused by it, and neither is a.ng while the address is shared.
test_shared_allowlisted_email_does_not_excuse_either_account if {
	copy := td.user("Users-612", "a.ng-admin", "a.ng@acme-payments.example", {})
	users := object.union(td.users, {"Users-612": copy})
	findings := policy.findings with input as td.doc
		with input.octopus.users as users
		with input.octopus.teams as admins(["Users-1", "Users-212", "Users-612"])
		with input.index.team_ids_by_user as membership(["Users-1", "Users-212", "Users-612"])
		with input.settings.privileged_allowlist as ["octoadmin", "a.ng@acme-payments.example"]
	object.keys({finding.resource: true | some finding in findings}) == {"Users-212", "Users-612"}
	finding := td.only(findings, "Users-612")
	finding.message == `active user Users-612 ("a.ng-admin") holds AdministerSystem through team Teams-1 (Octopus Administrators), system-level role ScopedUserRoles-1 (System administrator) with no scope restriction and is not on the privileged allowlist (its e-mail address a.ng@acme-payments.example is on the allowlist but is shared by active users Users-212, Users-612, so it does not identify one user)`
}

test_email_shared_only_with_an_inactive_user_still_matches if {
	old := td.user("Users-612", "a.ng-old", "a.ng@acme-payments.example", {"IsActive": false})
	users := object.union(td.users, {"Users-612": old})
	policy.findings == set() with input as td.doc
		with input.octopus.users as users
		with input.octopus.teams as admins(["Users-1", "Users-212", "Users-612"])
		with input.index.team_ids_by_user as membership(["Users-1", "Users-212", "Users-612"])
		with input.settings.privileged_allowlist as ["octoadmin", "a.ng@acme-payments.example"]
}

test_allowlist_entry_must_equal_the_username_not_contain_it if {
	finding := td.only(policy.findings, "Users-1") with input as td.doc
		with input.settings.privileged_allowlist as ["octo", "octoadmin@acme-payments"]
	contains(finding.message, "is not on the privileged allowlist")
}
