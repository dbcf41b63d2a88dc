# METADATA
# title: Production deployments under a JSM change are approved and in window
# description: >-
#   Every production deployment in the audit period that names a Jira Service
#   Management request (by issue key, in its server task approval or release notes)
#   rests on a request whose every approval step was approved, which was in an
#   allowed status when the task started, and whose planned window covers the
#   task's start and completion. A named request missing from the evidence fails.
# custom:
#   id: jsm-change-approval
#   severity: high
#   controls: [iso27001-2022:A.8.32, soc2-2017:CC8.1]
#   requires: [octopus.deployments, octopus.tasks, octopus.releases,
#              octopus.environments, jsm.requests, jsm.approvals, jsm.status_changes]
package evidencekit.policies.jsm_change_approval

import data.evidencekit.lib.deployments
import data.evidencekit.lib.jsmlink
import data.evidencekit.lib.util
import rego.v1

default_statuses := ["Implementing", "Review", "Completed", "Closed"]

# The statuses a request may be in when its deployment starts (any case).
allowed_statuses := object.get(input.settings, "jsm_allowed_statuses", default_statuses)

allowed := {lower(trim_space(name)) | some name in allowed_statuses}

tested := count(jsmlink.links)

findings contains finding if {
	some id, link in jsmlink.links
	entry := deployments.in_period[id]
	problems := failures(id, entry, link)
	count(problems) > 0
	finding := {
		"resource": id,
		"message": concat("; ", problems),
		"evidence": evidence(id, entry, link),
	}
}

# Every failed condition for one deployment, in a fixed order.
failures(id, entry, link) := array.concat([missing], completion(entry.task)) if {
	not jsmlink.requests[id]
	missing := sprintf(
		"deployment %s names %s (from %s), which is not a request in the JSM evidence",
		[id, link.key, jsmlink.method_text[link.method]],
	)
}

failures(id, entry, _) := problems if {
	request := jsmlink.requests[id]
	problems := [problem |
		some part in [approval(request), status_check(request, entry.task), window(request, entry.task)]
		some problem in part
	]
}

approval(request) := [] if {
	request.approved == true
} else := [sprintf("request %s is not approved: %s", [jsmlink.label(request), approval_detail(request)])]

approval_detail(request) := "it has no approval step" if {
	request.approval_state == "none"
} else := sprintf("approval %s was declined", [step_names(request, "declined")]) if {
	request.approval_state == "declined"
} else := sprintf("approval %s is still pending", [step_names(request, "pending")]) if {
	request.approval_state == "pending"
} else := sprintf(
	"its approvals are not all in the evidence (approval state %s)",
	[util.show(object.get(request, "approval_state", null))],
)

# The names of a request's approval steps in one state; "pending" stands for any
# step that is neither approved nor declined.
step_names(request, state) := concat(", ", [step_label(step) |
	some step in jsmlink.approvals(request)
	step_state(step) == state
])

step_state(step) := step.finalDecision if {
	step.finalDecision in {"approved", "declined"}
} else := "pending"

step_label(step) := sprintf("%q (%s)", [step.name, step.id]) if is_string(step.name)

else := object.get(step, "id", "(no id)")

status_check(request, task) := [] if {
	at := jsmlink.status_at(request, task.StartTime)
	is_string(at.status)
	lower(trim_space(at.status)) in allowed
} else := [sprintf(
	"request %s was created at %s, after task %s started at %s",
	[jsmlink.label(request), request.createdDate, task.Id, task.StartTime],
)] if {
	jsmlink.status_at(request, task.StartTime).how == "not_created"
} else := [sprintf(
	"request %s was in status %s when task %s started at %s (%s), not one of %s",
	[
		jsmlink.label(request), util.show(at.status), task.Id, task.StartTime,
		status_source[at.how], concat(", ", allowed_statuses),
	],
)] if {
	at := jsmlink.status_at(request, task.StartTime)
}

status_source := {
	"history": "from its status history",
	"current": "its current status; no status change is in the evidence",
}

# The planned window must exist and cover the task's start and completion.
window(request, task) := array.concat([gap], completion(task)) if {
	gap := window_gap(request)
} else := array.concat(starts_early(request, task), completion_window(request, task))

window_gap(request) := msg if {
	missing := [name | some name in ["planned_start", "planned_end"]; not is_string(request[name])]
	count(missing) > 0
	msg := sprintf(
		"request %s has no planned window (%s empty), so the deployment cannot be shown to fall inside it",
		[jsmlink.label(request), concat(" and ", missing)],
	)
}

starts_early(request, task) := [sprintf(
	"task %s started at %s, before the planned start %s of request %s",
	[task.Id, task.StartTime, request.planned_start, jsmlink.label(request)],
)] if {
	task.StartTime < request.planned_start
} else := []

completion_window(request, task) := [sprintf(
	"task %s completed at %s, after the planned end %s of request %s",
	[task.Id, task.CompletedTime, request.planned_end, jsmlink.label(request)],
)] if {
	is_string(task.CompletedTime)
	task.CompletedTime > request.planned_end
} else := completion(task)

completion(task) := [] if {
	is_string(task.CompletedTime)
} else := [sprintf(
	"task %s has not completed, so it cannot be shown to have finished inside the window",
	[task.Id],
)]

# The deployment, task and environment, the link's source, then the request, its
# approval steps and the status change that placed it (when there is one).
evidence(id, entry, link) := array.concat(
	array.concat(deployments.evidence(entry.deployment, entry.task), link.evidence),
	request_evidence(id, entry.task),
)

request_evidence(id, task) := array.concat(
	array.concat(util.refs([request]), util.refs(jsmlink.approvals(request))),
	jsmlink.status_at(request, task.StartTime).evidence,
) if {
	request := jsmlink.requests[id]
} else := []
