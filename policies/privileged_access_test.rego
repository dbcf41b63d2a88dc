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
