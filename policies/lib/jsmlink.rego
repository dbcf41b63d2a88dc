# Link production deployments to the Jira Service Management requests they name.
#
# A deployment names a request by an issue key (PROJ-123, as a whole word) in:
#   1. its task's server task approval (ChangeRequest.Number), else
#   2. its release's ReleaseNotes.
# From the release notes, the first key that is a request in the evidence is taken;
# failing that, the first key of a project the evidence holds requests of (such a
# request is missing from the evidence). Other key-shaped words (SHA-256, UTF-8)
# are not links. A key in the approval's change number always counts, whether or
# not the request is in the evidence. Deployments that name no request are not
# linked here; the ServiceNow change-approval policy covers them.
package evidencekit.lib.jsmlink

import data.evidencekit.lib.deployments
import data.evidencekit.lib.util
import rego.v1

# An issue key: a project key of two or more characters, a hyphen, a number.
key_pattern := `\b[A-Z][A-Z0-9_]+-[0-9]+\b`

# How each method reads in a message.
method_text := {
	"servertaskapproval": "its server task approval",
	"release_notes": "its release notes",
}

# The project keys of the requests in the evidence.
projects contains project_of(key) if some key, _ in input.jsm.requests

project_of(key) := split(key, "-")[0]

# Per production deployment in the period that names a request:
# {"method", "key", "evidence"}; evidence holds the _refs the link was read from.
links[id] := link if {
	some id, entry in deployments.in_period
	link := candidate(entry.deployment)
}

# The request record of each linked deployment whose request is in the evidence.
requests[id] := input.jsm.requests[link.key] if {
	some id, link in links
}

candidate(deployment) := {
	"method": "servertaskapproval",
	"key": keys[0],
	"evidence": util.refs([approval]),
} if {
	approval_id := input.index.task_approval_by_task[deployment.TaskId]
	approval := input.octopus.servertaskapprovals[approval_id]
	keys := regex.find_n(key_pattern, util.text(approval.ChangeRequest.Number), -1)
	count(keys) > 0
} else := {"method": "release_notes", "key": key, "evidence": util.refs([release])} if {
	release := input.octopus.releases[deployment.ReleaseId]
	key := notes_key(release.ReleaseNotes)
}

# The release notes' key: one in the evidence first, else one of a known project.
notes_key(text) := known[0] if {
	keys := all_keys(text)
	known := [key | some key in keys; input.jsm.requests[key]]
	count(known) > 0
} else := named[0] if {
	keys := all_keys(text)
	named := [key | some key in keys; projects[project_of(key)]]
	count(named) > 0
}

all_keys(text) := regex.find_n(key_pattern, text, -1) if is_string(text)

# The approval step records of a request, in id order.
approvals(request) := [step |
	some step_id in object.get(request, "approval_ids", [])
	step := input.jsm.approvals[step_id]
]

# The request's status at a moment: {"status", "how", "evidence"}. "how" is
# "history" (from the latest status change at or before the moment, or the first
# one after it), "current" (no status change in the evidence) or "not_created"
# (the request did not exist yet; status is null).
status_at(request, ts) := {"status": null, "how": "not_created", "evidence": []} if {
	is_string(request.createdDate)
	ts < request.createdDate
} else := {"status": change.to, "how": "history", "evidence": [change._ref]} if {
	before := [c | some c in status_changes(request); c.at <= ts]
	count(before) > 0
	change := before[count(before) - 1]
} else := {"status": change.from, "how": "history", "evidence": [change._ref]} if {
	after := [c | some c in status_changes(request); c.at > ts]
	count(after) > 0
	change := after[0]
} else := {
	"status": object.get(request, ["currentStatus", "status"], null),
	"how": "current",
	"evidence": [],
}

# The request's timed status changes, in the time order the collector sorted them.
status_changes(request) := [change |
	some change_id in object.get(request, "status_change_ids", [])
	change := input.jsm.status_changes[change_id]
	is_string(change.at)
]

# The label of a request for messages: its key.
label(request) := object.get(request, "issueKey", "(a request without a key)")
