# Link each production deployment in the period to the change request it names.
#
# The rules are tried in order and the first that yields a change number wins:
#   1. the deployment task's server task approval (ChangeRequest.Number);
#   2. the prompted variable Octopus.ServiceNow.ChangeRequest.Number;
#   3. the first CHG number in the deployment's Comments, else in its ReleaseNotes;
#   4. a change whose short_description is the title Octopus gives the changes it
#      creates: Octopus: Deploy "<project>" version <version> to "<environment>".
# A number that is not in the ServiceNow evidence is a failed link, not a fallback
# to the next rule: the deployment named that change, so that is the one to judge.
package evidencekit.lib.changelink

import data.evidencekit.lib.deployments
import data.evidencekit.lib.jsmlink
import data.evidencekit.lib.util
import rego.v1

form_field := "Octopus.ServiceNow.ChangeRequest.Number"

# CHG and exactly seven digits, not part of a longer word or number.
number_pattern := `\bCHG[0-9]{7}\b`

# How each method reads in a message.
method_text := {
	"servertaskapproval": "its server task approval",
	"form_value": sprintf("the prompted variable %s", [form_field]),
	"comments": "its deployment comments",
	"release_notes": "its release notes",
	"short_description": "the change's short description",
}

# Per production deployment in the period: {"method", "number", "change_id",
# "evidence"}. method is "none" when nothing names a change; change_id is null
# when the number is not in the ServiceNow evidence; evidence holds the _refs of
# the records the link was read from (approval, release, project, environment).
links[id] := {
	"method": found.method,
	"number": found.number,
	"change_id": change_id_for(found),
	"evidence": found.evidence,
} if {
	some id, entry in deployments.in_period
	found := candidate(entry.deployment)
}

# Production deployments in the period that name no ServiceNow change but do name a
# Jira Service Management request (lib/jsmlink.rego): jsm-change-approval judges
# them, so the ServiceNow policies do not also report them as unlinked. Only
# method "none" qualifies: a deployment that names a CHG number is still judged
# here as well. Known limit: a JSM key in the server task approval (OPS-812) makes
# the method "servertaskapproval", so change-approval still reports that the
# deployment names a number missing from the ServiceNow evidence, while
# jsm-change-approval judges it too: the same deployment is reported twice.
judged_by_jsm contains id if {
	some id, link in links
	link.method == "none"
	jsmlink.links[id]
}

# The change record of each linked deployment whose change is in the evidence.
changes[id] := input.servicenow.change_request[link.change_id] if {
	some id, link in links
	is_string(link.change_id)
}

# The deployment ids linked to each change sys_id.
deployments_by_change[change_id] contains id if {
	some id, link in links
	change_id := link.change_id
	is_string(change_id)
}

# The first rule that yields a number; see the package comment for the order.
candidate(deployment) := {
	"method": "servertaskapproval",
	"number": number,
	"evidence": util.refs([approval]),
} if {
	approval_id := input.index.task_approval_by_task[deployment.TaskId]
	approval := input.octopus.servertaskapprovals[approval_id]
	number := util.text(approval.ChangeRequest.Number)
} else := {"method": "form_value", "number": number, "evidence": []} if {
	number := util.text(deployment.FormValues[form_field])
} else := {"method": "comments", "number": number, "evidence": []} if {
	number := first_number(deployment.Comments)
} else := {"method": "release_notes", "number": number, "evidence": util.refs([release])} if {
	release := input.octopus.releases[deployment.ReleaseId]
	number := first_number(release.ReleaseNotes)
} else := by_title(deployment) if {
	by_title(deployment)
} else := {"method": "none", "number": null, "evidence": []}

# Rule 4: the change titled the way Octopus titles the changes it creates. When
# several share the title, the first sys_id in sorted order is taken.
by_title(deployment) := link if {
	title := expected_title(deployment)
	change_id := sort(input.index.changes_by_short_description[title])[0]
	change := input.servicenow.change_request[change_id]
	link := {
		"method": "short_description",
		"number": object.get(change, "number", null),
		"change_id": change_id,
		"evidence": util.refs([
			input.octopus.projects[deployment.ProjectId],
			input.octopus.releases[deployment.ReleaseId],
			input.octopus.environments[deployment.EnvironmentId],
		]),
	}
}

# The short_description Octopus would give this deployment's change.
expected_title(deployment) := title if {
	project := input.octopus.projects[deployment.ProjectId].Name
	release := input.octopus.releases[deployment.ReleaseId].Version
	environment := input.octopus.environments[deployment.EnvironmentId].Name
	is_string(project)
	is_string(release)
	is_string(environment)
	title := sprintf(
		`Octopus: Deploy "%s" version %s to "%s"`,
		[project, release, environment],
	)
}

first_number(text) := matches[0] if {
	is_string(text)
	matches := regex.find_n(number_pattern, text, 1)
	count(matches) > 0
}

change_id_for(link) := link.change_id if {
	link.method == "short_description"
} else := change_id if {
	change_id := input.index.change_by_number[link.number]
	input.servicenow.change_request[change_id]
} else := null

# The message for a deployment whose change is not in the evidence. The last
# branch only guards against a link this library failed to describe: it keeps
# such a deployment failing rather than silently passing.
failure(id, deployment, link) := msg if {
	link.method == "none"
	msg := sprintf(
		"deployment %s is not linked to a change request: no server task approval with a change number, no %s prompted variable, no CHG number in its comments or release notes, and no change titled %s",
		[id, form_field, title_or_gap(deployment)],
	)
} else := msg if {
	link.change_id == null
	msg := sprintf(
		"deployment %s names %s, which is not in the ServiceNow evidence (number taken from %s)",
		[id, link.number, method_text[link.method]],
	)
} else := sprintf("deployment %s is not linked to a change request in the ServiceNow evidence", [id])

title_or_gap(deployment) := sprintf("'%s'", [title]) if {
	title := expected_title(deployment)
}

else := "(its project, release or environment is not in the evidence)"

# The label of a change for messages: its number, else its sys_id.
label(change) := change.number if is_string(change.number)

else := object.get(change, "sys_id", "(a change without number or sys_id)")
