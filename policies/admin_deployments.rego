# METADATA
# title: Administrators do not deploy to production
# description: >-
#   No production deployment in the audit period was queued by a member of an
#   administrators team: a team with a system-level user role that grants
#   AdministerSystem, or one of the built-in teams Octopus Administrators, Octopus
#   Managers and Space Managers. A deployment with no DeployedById, or queued by a
#   member of a team whose system-level user role is not in the evidence, fails:
#   that no administrator queued it cannot be shown.
# custom:
#   id: admin-deployments
#   lint: OctoLintDeploymentQueuedByAdmin
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
	problem := deployer_problem(id, entry.deployment)
	finding := {
		"resource": id,
		"message": problem.message,
		"evidence": array.concat(deployments.evidence(entry.deployment, entry.task), problem.evidence),
	}
}

# What is wrong with a deployment's deployer, as {"message", "evidence"}; undefined
# when nothing is. A deployment with no DeployedById is always a finding: its
# DeployedBy username is matched to a user to say who it probably was, but without
# the id the evidence cannot show that no administrator queued it.
deployer_problem(id, deployment) := problem if {
	user_id := deployment.DeployedById
	is_string(user_id)
	problem := known_deployer_problem(id, user_id)
} else := {"message": msg, "evidence": evidence} if {
	not is_string(deployment.DeployedById)
	user_ids := users_named(deployment.DeployedBy)
	msg := sprintf("production deployment %s %s with no user id, so it cannot be shown that no administrator queued it%s", [
		id, deployed_by_text(deployment.DeployedBy), username_match_text(user_ids),
	])
	evidence := [ref |
		some user_id in user_ids
		some ref in array.concat(util.refs([input.octopus.users[user_id]]), team_evidence(user_id))
	]
}

known_deployer_problem(id, user_id) := {"message": msg, "evidence": evidence} if {
	count(access.admin_teams_of(user_id)) > 0
	msg := sprintf(
		"production deployment %s was queued by %s, a member of administrators team(s) %s",
		[id, user_label(user_id), admin_teams_text(user_id)],
	)
	evidence := array.concat(util.refs([object.get(input.octopus.users, user_id, null)]), team_evidence(user_id))
} else := {"message": msg, "evidence": evidence} if {
	gaps := [gap | some _, team_gaps in access.unknown_teams_of(user_id); some gap in team_gaps]
	count(gaps) > 0
	msg := sprintf("production deployment %s was queued by %s: %s, so it cannot be shown that no administrator queued it", [
		id, user_label(user_id), concat("; ", [access.unknown_grant_text(gap) | some gap in gaps]),
	])
	evidence := array.concat(util.refs([object.get(input.octopus.users, user_id, null)]), [ref |
		some gap in gaps
		some ref in util.refs([
			object.get(input.octopus.teams, object.get(gap.scoped_role, "TeamId", null), null),
			gap.scoped_role,
		])
	])
}

# The ids of the users whose Username is the given name, compared case-insensitively.
users_named(name) := sort([user_id |
	some user_id, user in input.octopus.users
	is_string(user.Username)
	lower(user.Username) == lower(name)
]) if {
	is_string(name)
} else := []

deployed_by_text(name) := sprintf("was deployed by '%s'", [name]) if {
	is_string(name)
} else := "names no deployer (DeployedBy is empty too)"

username_match_text(user_ids) := "; no user in the evidence has that username" if {
	count(user_ids) == 0
} else := concat("", [sprintf("; by username that is %s%s", [user_label(user_id), admin_membership_text(user_id)]) |
	some user_id in user_ids
])

admin_membership_text(user_id) := sprintf(", a member of administrators team(s) %s", [admin_teams_text(user_id)]) if {
	count(access.admin_teams_of(user_id)) > 0
} else := ", who is in no administrators team"

admin_teams_text(user_id) := concat(", ", [team_text(access.admin_teams[team_id]) |
	some team_id in sort(access.admin_teams_of(user_id))
])

team_evidence(user_id) := [ref |
	some team_id in sort(access.admin_teams_of(user_id))
	some ref in access.evidence(access.admin_teams[team_id])
]

team_text(entry) := sprintf("%s (%s, which %s)", [
	object.get(entry.team, "Id", null), object.get(entry.team, "Name", null), access.reason(entry),
])

user_label(user_id) := sprintf("%s (%s)", [user_id, input.octopus.users[user_id].Username]) if {
	is_string(input.octopus.users[user_id].Username)
} else := user_id
