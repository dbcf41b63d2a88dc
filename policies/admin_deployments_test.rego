# Unit tests for the admin-deployments policy.
package evidencekit.policies.admin_deployments_test

import data.evidencekit.lib.testdata as td
import data.evidencekit.policies.admin_deployments as policy
import rego.v1

deployed_by(user_id) := {"Deployments-7781": td.deployment("Deployments-7781", {"DeployedById": user_id})}

# Users-305 is moved into a team whose only role is the given scoped role.
sre_team := {"Teams-20": td.team("Teams-20", "Platform SRE", null, ["Users-305"])}

sre_role(space_id) := {"ScopedUserRoles-120": td.scoped_role("ScopedUserRoles-120", "Teams-20", "userroles-systemadministrator", space_id, [])}

test_deployer_outside_admin_teams_passes if {
	policy.findings == set() with input as td.doc
	policy.tested == 1 with input as td.doc
}

test_member_of_octopus_administrators_fails if {
	findings := policy.findings with input as td.doc with input.octopus.deployments as deployed_by("Users-1")
	findings == {{
		"resource": "Deployments-7781",
		"message": "production deployment Deployments-7781 was queued by Users-1 (octoadmin), a member of administrators team(s) Teams-1 (Octopus Administrators, which is a built-in administrators team and holds AdministerSystem through ScopedUserRoles-1 (System administrator))",
		"evidence": [
			"octopus/deployments/Deployments-7781",
			"octopus/tasks/ServerTasks-66120",
			"octopus/environments/Environments-3",
			"octopus/users/Users-1",
			"octopus/teams/Teams-1",
			"octopus/scopeduserroles/ScopedUserRoles-1",
			"octopus/userroles/userroles-systemadministrator",
		],
	}}
}

test_member_of_builtin_manager_teams_fails if {
	every name in ["Octopus Managers", "Space Managers"] {
		builtin_team_finding(name)
	}
}

builtin_team_finding(name) if {
	teams := {"Teams-3": td.team("Teams-3", name, "Spaces-1", ["Users-212"])}
	finding := td.only(policy.findings, "Deployments-7781") with input as td.doc
		with input.octopus.teams as teams
		with input.index.team_ids_by_user as {"Users-212": ["Teams-3"]}
		with input.index.scoped_roles_by_team as {}
	contains(finding.message, sprintf("Teams-3 (%s, which is a built-in administrators team)", [name]))
}

test_team_with_system_level_administer_system_fails_for_null_and_empty_space if {
	every space_id in [null, ""] {
		system_role_finding(space_id)
	}
}

system_role_finding(space_id) if {
	finding := td.only(policy.findings, "Deployments-7781") with input as td.doc
		with input.octopus.deployments as deployed_by("Users-305")
		with input.octopus.teams as sre_team
		with input.octopus.scopeduserroles as sre_role(space_id)
		with input.index.team_ids_by_user as {"Users-305": ["Teams-20"]}
		with input.index.scoped_roles_by_team as {"Teams-20": ["ScopedUserRoles-120"]}
	contains(finding.message, "Teams-20 (Platform SRE, which holds AdministerSystem through ScopedUserRoles-120 (System administrator))")
}

test_space_level_administrator_role_does_not_count if {
	findings := policy.findings with input as td.doc
		with input.octopus.deployments as deployed_by("Users-305")
		with input.octopus.teams as sre_team
		with input.octopus.scopeduserroles as sre_role("Spaces-1")
		with input.index.team_ids_by_user as {"Users-305": ["Teams-20"]}
		with input.index.scoped_roles_by_team as {"Teams-20": ["ScopedUserRoles-120"]}
	findings == set()
}

test_deployer_with_no_team_passes if {
	policy.findings == set() with input as td.doc
		with input.octopus.deployments as deployed_by("Users-1")
		with input.index.team_ids_by_user as {}
}

test_admin_deploying_outside_production_is_not_examined if {
	staging := {"Deployments-7790": td.deployment("Deployments-7790", {"EnvironmentId": "Environments-2", "DeployedById": "Users-1"})}
	policy.findings == set() with input as td.doc with input.octopus.deployments as staging
	policy.tested == 0 with input as td.doc with input.octopus.deployments as staging
}

test_admin_deployment_before_period_is_not_examined if {
	tasks := object.union(td.tasks, {"ServerTasks-66120": td.task("ServerTasks-66120", {"StartTime": "2026-06-30T23:59:59.999999Z"})})
	policy.findings == set() with input as td.doc
		with input.octopus.deployments as deployed_by("Users-1")
		with input.octopus.tasks as tasks
}

test_admin_team_and_role_without_names_still_fail if {
	team := {"Teams-20": object.remove(td.team("Teams-20", "x", null, ["Users-305"]), ["Name"])}
	role := {"userroles-custom": {"Id": "userroles-custom", "GrantedSystemPermissions": ["AdministerSystem"], "_ref": "octopus/userroles/userroles-custom"}}
	scoped := {"ScopedUserRoles-120": td.scoped_role("ScopedUserRoles-120", "Teams-20", "userroles-custom", null, [])}
	finding := td.only(policy.findings, "Deployments-7781") with input as td.doc
		with input.octopus.deployments as deployed_by("Users-305")
		with input.octopus.teams as team
		with input.octopus.userroles as role
		with input.octopus.scopeduserroles as scoped
		with input.index.team_ids_by_user as {"Users-305": ["Teams-20"]}
		with input.index.scoped_roles_by_team as {"Teams-20": ["ScopedUserRoles-120"]}
	contains(finding.message, "Teams-20 (null, which holds AdministerSystem through ScopedUserRoles-120 (null))")
	"octopus/userroles/userroles-custom" in finding.evidence
}

# A deployment exported with DeployedById null (an API user deleted since, or a
# serialiser that lost it) still names the username in DeployedBy.
no_user_id(username) := {"Deployments-7781": td.deployment("Deployments-7781", {"DeployedById": null, "DeployedBy": username})}

test_deployment_without_user_id_by_an_administrator_fails if {
	findings := policy.findings with input as td.doc with input.octopus.deployments as no_user_id("octoadmin")
	findings == {{
		"resource": "Deployments-7781",
		"message": "production deployment Deployments-7781 was deployed by 'octoadmin' with no user id, so it cannot be shown that no administrator queued it; by username that is Users-1 (octoadmin), a member of administrators team(s) Teams-1 (Octopus Administrators, which is a built-in administrators team and holds AdministerSystem through ScopedUserRoles-1 (System administrator))",
		"evidence": [
			"octopus/deployments/Deployments-7781",
			"octopus/tasks/ServerTasks-66120",
			"octopus/environments/Environments-3",
			"octopus/users/Users-1",
			"octopus/teams/Teams-1",
			"octopus/scopeduserroles/ScopedUserRoles-1",
			"octopus/userroles/userroles-systemadministrator",
		],
	}}
}

test_deployment_without_user_id_matches_the_username_case_insensitively if {
	finding := td.only(policy.findings, "Deployments-7781") with input as td.doc
		with input.octopus.deployments as no_user_id("OctoAdmin")
	contains(finding.message, "by username that is Users-1 (octoadmin), a member of administrators team(s) Teams-1")
}

test_deployment_without_user_id_by_a_non_administrator_still_fails if {
	finding := td.only(policy.findings, "Deployments-7781") with input as td.doc
		with input.octopus.deployments as no_user_id("a.ng")
	finding.message == "production deployment Deployments-7781 was deployed by 'a.ng' with no user id, so it cannot be shown that no administrator queued it; by username that is Users-212 (a.ng), who is in no administrators team"
}

test_deployment_without_user_id_or_known_username_fails if {
	unknown := td.only(policy.findings, "Deployments-7781") with input as td.doc
		with input.octopus.deployments as no_user_id("rafael.quenby")
	unknown.message == "production deployment Deployments-7781 was deployed by 'rafael.quenby' with no user id, so it cannot be shown that no administrator queued it; no user in the evidence has that username"
	nobody := td.only(policy.findings, "Deployments-7781") with input as td.doc
		with input.octopus.deployments as no_user_id(null)
	contains(nobody.message, "names no deployer (DeployedBy is empty too) with no user id")
}

test_deployment_without_the_deployed_by_id_key_fails if {
	deployment := object.remove(td.deployment("Deployments-7781", {}), ["DeployedById"])
	finding := td.only(policy.findings, "Deployments-7781") with input as td.doc
		with input.octopus.deployments as {"Deployments-7781": deployment}
	contains(finding.message, "was deployed by 'a.ng' with no user id")
}

# The deployer's team holds a system-level role whose user role is not in the
# evidence: whether it grants AdministerSystem cannot be shown.
test_deployer_in_a_team_with_a_missing_system_level_user_role_fails if {
	scoped := {"ScopedUserRoles-9": td.scoped_role("ScopedUserRoles-9", "Teams-20", "userroles-platformowner", null, [])}
	findings := policy.findings with input as td.doc
		with input.octopus.deployments as deployed_by("Users-305")
		with input.octopus.teams as sre_team
		with input.octopus.scopeduserroles as scoped
		with input.index.team_ids_by_user as {"Users-305": ["Teams-20"]}
		with input.index.scoped_roles_by_team as {"Teams-20": ["ScopedUserRoles-9"]}
	findings == {{
		"resource": "Deployments-7781",
		"message": "production deployment Deployments-7781 was queued by Users-305 (b.osei): scoped role ScopedUserRoles-9 of team Teams-20 grants userroles-platformowner, which is not in the evidence, so it cannot be shown that no administrator queued it",
		"evidence": [
			"octopus/deployments/Deployments-7781",
			"octopus/tasks/ServerTasks-66120",
			"octopus/environments/Environments-3",
			"octopus/users/Users-305",
			"octopus/teams/Teams-20",
			"octopus/scopeduserroles/ScopedUserRoles-9",
		],
	}}
}

test_role_without_space_id_key_makes_an_administrators_team if {
	role := object.remove(sre_role(null)["ScopedUserRoles-120"], ["SpaceId"])
	finding := td.only(policy.findings, "Deployments-7781") with input as td.doc
		with input.octopus.deployments as deployed_by("Users-305")
		with input.octopus.teams as sre_team
		with input.octopus.scopeduserroles as {"ScopedUserRoles-120": role}
		with input.index.team_ids_by_user as {"Users-305": ["Teams-20"]}
		with input.index.scoped_roles_by_team as {"Teams-20": ["ScopedUserRoles-120"]}
	contains(finding.message, "Teams-20 (Platform SRE, which holds AdministerSystem through ScopedUserRoles-120 (System administrator))")
}
