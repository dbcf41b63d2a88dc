# METADATA
# title: Production deployments have an approved change
# description: >-
#   Every deployment to production whose task started in the audit period is linked
#   to a change request that was approved, was in Implement, Review or Closed, and
#   whose planned window covers the task's start and completion. A production
#   deployment whose task is missing from the evidence fails. One that names no
#   ServiceNow change but a Jira Service Management request is left to
#   jsm-change-approval.
# custom:
#   id: change-approval
#   severity: high
#   controls: [iso27001-2022:A.8.32, iso27001-2022:A.8.19, soc2-2017:CC8.1,
#              soc2-2017:CC6.8]
#   requires: [octopus.deployments, octopus.tasks, octopus.releases, octopus.projects,
#              octopus.environments, servicenow.change_request]
package evidencekit.policies.change_approval

import data.evidencekit.lib.changelink
import data.evidencekit.lib.deployments
import data.evidencekit.lib.util
import rego.v1

# The change states a deployment may run in: -1 Implement, 0 Review, 3 Closed.
allowed_states := {-1, 0, 3}

state_names := {
	"-5": "New", "-4": "Assess", "-3": "Authorize", "-2": "Scheduled",
	"-1": "Implement", "0": "Review", "3": "Closed", "4": "Canceled",
}

# Deployments judged by jsm-change-approval instead are not counted or reported.
tested := (count(deployments.in_period) - count(changelink.judged_by_jsm)) + count(deployments.missing_task)

findings contains finding if {
	some id, deployment in deployments.missing_task
	finding := {
		"resource": id,
		"message": sprintf(
			"task %s of production deployment %s is not in the evidence, so when it ran and under which change cannot be shown",
			[deployments.task_label(deployment), id],
		),
		"evidence": deployments.evidence(deployment, null),
	}
}

findings contains finding if {
	some id, entry in deployments.in_period
	not changelink.judged_by_jsm[id]
	link := changelink.links[id]
	problems := failures(id, entry, link)
	count(problems) > 0
	finding := {
		"resource": id,
		"message": concat("; ", problems),
		"evidence": evidence(id, entry, link),
	}
}

# Every failed condition for one deployment, in a fixed order.
failures(id, entry, link) := array.concat([unlinked], completion(entry.task)) if {
	not changelink.changes[id]
	unlinked := changelink.failure(id, entry.deployment, link)
}

failures(id, entry, _) := problems if {
	change := changelink.changes[id]
	problems := [problem |
		some part in [approval(change), state(change), window(change, entry.task)]
		some problem in part
	]
}

approval(change) := [] if {
	change.approval == "approved"
} else := [sprintf(
	"change %s has approval %s, not \"approved\"",
	[changelink.label(change), util.show(object.get(change, "approval", null))],
)]

state(change) := [] if {
	change.state in allowed_states
} else := [sprintf(
	"change %s is in state %s, not Implement (-1), Review (0) or Closed (3)",
	[changelink.label(change), state_text(object.get(change, "state", null))],
)]

state_text(value) := sprintf("%v (%s)", [value, state_names[sprintf("%v", [value])]]) if {
	value != null
} else := util.show(value)

# The planned window must exist and cover the task's start and completion.
window(change, task) := array.concat([gap], completion(task)) if {
	gap := window_gap(change)
} else := array.concat(starts_early(change, task), completion_window(change, task))

window_gap(change) := msg if {
	missing := [field | some field in ["start_date", "end_date"]; not is_string(change[field])]
	count(missing) > 0
	msg := sprintf(
		"change %s has no planned window (%s empty), so the deployment cannot be shown to fall inside it",
		[changelink.label(change), concat(" and ", missing)],
	)
}

starts_early(change, task) := [sprintf(
	"task %s started at %s, before the planned start %s of change %s",
	[task.Id, task.StartTime, change.start_date, changelink.label(change)],
)] if {
	task.StartTime < change.start_date
} else := []

completion_window(change, task) := [sprintf(
	"task %s completed at %s, after the planned end %s of change %s",
	[task.Id, task.CompletedTime, change.end_date, changelink.label(change)],
)] if {
	is_string(task.CompletedTime)
	task.CompletedTime > change.end_date
} else := completion(task)

completion(task) := [] if {
	is_string(task.CompletedTime)
} else := [sprintf(
	"task %s has not completed, so it cannot be shown to have finished inside the window",
	[task.Id],
)]

evidence(id, entry, link) := array.concat(
	array.concat(deployments.evidence(entry.deployment, entry.task), link.evidence),
	util.refs([object.get(changelink.changes, id, null)]),
)
