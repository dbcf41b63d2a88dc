# METADATA
# title: Administrators do not deploy to production
# description: >-
#   No production deployment in the audit period was queued by a member of an
#   administrators team: a team with a system-level user role that grants
#   AdministerSystem, or one of the built-in teams Octopus Administrators, Octopus
#   Managers and Space Managers.
# custom:
#   id: admin-deployments
#   severity: medium
#   controls: [iso27001-2022:A.8.2, iso27001-2022:A.5.3, soc2-2017:CC6.3]
#   requires: [octopus.deployments, octopus.tasks, octopus.environments, octopus.users,
#              octopus.teams, octopus.scopeduserroles, octopus.userroles]
package evidencekit.policies.admin_deployments

import data.evidencekit.lib.access
import data.evidencekit.lib.deployments
import data.evidencekit.lib.util
import rego.v1

tested := count(deployments.in_period)

findings contains finding if {
	some id, entry in deployments.in_period
	user_id := entry.deployment.DeployedById
	team_ids := access.admin_teams_of(user_id)
	count(team_ids) > 0
	teams := [access.admin_teams[team_id] | some team_id in sort(team_ids)]
	finding := {
		"resource": id,
		"message": sprintf(
			"production deployment %s was queued by %s, a member of administrators team(s) %s",
			[id, user_label(user_id), concat(", ", [team_text(team) | some team in teams])],
		),
		"evidence": array.concat(
			array.concat(
				deployments.evidence(entry.deployment, entry.task),
				util.refs([object.get(input.octopus.users, user_id, null)]),
			),
			[ref | some team in teams; some ref in access.evidence(team)],
		),
	}
}

team_text(entry) := sprintf("%s (%s, which %s)", [
	object.get(entry.team, "Id", null), object.get(entry.team, "Name", null), access.reason(entry),
])

user_label(user_id) := sprintf("%s (%s)", [user_id, input.octopus.users[user_id].Username]) if {
	is_string(input.octopus.users[user_id].Username)
} else := user_id
