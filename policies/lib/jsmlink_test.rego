# Unit tests for linking deployments to JSM requests, and the JSM fixtures the
# jsm-change-approval tests share (test-only, like lib/testdata_test.rego).
#
# `doc` is td.doc with a JSM section: Deployments-7781's server task approval
# names OPS-812, an approved request (two approval steps) that was Implementing
# when ServerTasks-66120 started and whose window covers the task.
package evidencekit.lib.jsmlink_test

import data.evidencekit.lib.jsmlink
import data.evidencekit.lib.testdata as td
import rego.v1

# --- JSM record builders: the collector's normalised shapes ----------------------

jsm(resource, id, fields) := object.union(fields, {
	"_ref": sprintf("jsm/%s/%s", [resource, id]),
	"_file": sprintf("%s/%s.page-0001.json", [resource, split(id, "/")[0]]),
})

kim := "712020:5d1c7e4a-8f5b-4b8e-9a52-3c1f0b7d2e61"

osei := "712020:9a3e2b14-66c1-4d0f-8e7b-1b2c3d4e5f60"

# An approved request whose window covers ServerTasks-66120; fields override.
request(key, fields) := jsm("requests", key, object.union(
	{
		"issueKey": key, "issueId": "10412", "requestTypeId": "27", "serviceDeskId": "10",
		"summary": "Deploy payments-api 4.2.0 to Production",
		"currentStatus": {"status": "Completed", "statusCategory": "DONE", "statusDate": "2026-07-15T09:30:00.000000Z"},
		"reporter": {"accountId": kim, "emailAddress": "dana.kim@harbourline.example"},
		"createdDate": "2026-07-13T08:15:00.000000Z",
		"planned_start": "2026-07-15T08:00:00.000000Z",
		"planned_end": "2026-07-15T12:00:00.000000Z",
		"approved": true, "approval_state": "approved",
		"approval_ids": [sprintf("%s/44", [key]), sprintf("%s/45", [key])],
		"status_change_ids": [sprintf("%s/%s/0", [key, h]) | some h in ["30101", "30102", "30107", "30109"]],
	},
	fields,
))

step(key, id, name, decision) := jsm("approvals", sprintf("%s/%s", [key, id]), {
	"issueKey": key, "id": id, "name": name, "finalDecision": decision,
	"approvers": [{"accountId": osei, "email": "b.osei@harbourline.example", "approverDecision": decision}],
	"createdDate": "2026-07-13T08:20:00.000000Z", "completedDate": "2026-07-14T15:45:00.000000Z",
})

change(key, history, from, to, at) := jsm("status_changes", sprintf("%s/%s/0", [key, history]), {
	"issueKey": key, "historyId": history, "from": from, "to": to,
	"fromId": null, "toId": null, "at": at, "author": kim,
})

requests := {"OPS-812": request("OPS-812", {})}

approvals := {
	"OPS-812/44": step("OPS-812", "44", "Peer review", "approved"),
	"OPS-812/45": step("OPS-812", "45", "Change advisory board", "approved"),
}

status_changes := {
	"OPS-812/30101/0": change("OPS-812", "30101", "Planning", "Awaiting approval", "2026-07-13T08:20:00.000000Z"),
	"OPS-812/30102/0": change("OPS-812", "30102", "Awaiting approval", "Awaiting implementation", "2026-07-14T15:45:00.000000Z"),
	"OPS-812/30107/0": change("OPS-812", "30107", "Awaiting implementation", "Implementing", "2026-07-15T08:58:30.000000Z"),
	"OPS-812/30109/0": change("OPS-812", "30109", "Implementing", "Completed", "2026-07-15T09:30:00.000000Z"),
}

servertaskapprovals(number) := {"ServerTaskApprovals-55": td.approval("ServerTaskApprovals-55", "ServerTasks-66120", number)}

# The whole document: td.doc plus the JSM evidence, linked through the approval.
doc := object.union(td.doc, {
	"octopus": {"servertaskapprovals": servertaskapprovals("OPS-812")},
	"jsm": {"requests": requests, "approvals": approvals, "status_changes": status_changes},
})

# td.doc's releases with the release notes of Releases-3302 replaced.
releases(notes) := object.union(td.releases, {"Releases-3302": td.release("Releases-3302", "Projects-41", "4.2.0", notes)})

# --- links -------------------------------------------------------------------------

test_key_in_the_server_task_approval_links if {
	d := doc
	link := jsmlink.links["Deployments-7781"] with input as d
	link == {
		"method": "servertaskapproval", "key": "OPS-812",
		"evidence": ["octopus/servertaskapprovals/ServerTaskApprovals-55"],
	}
	jsmlink.requests["Deployments-7781"].issueKey == "OPS-812" with input as d
}

test_servicenow_number_falls_through_to_release_notes if {
	d := doc
	stas := servertaskapprovals("CHG0031337")
	notes := releases("Adds SEPA instant payouts. Change: OPS-812.")
	link := jsmlink.links["Deployments-7781"] with input as d
		with input.octopus.servertaskapprovals as stas
		with input.octopus.releases as notes
	link == {"method": "release_notes", "key": "OPS-812", "evidence": ["octopus/releases/Releases-3302"]}
}

test_release_notes_prefer_a_key_in_the_evidence if {
	d := doc
	stas := servertaskapprovals("CHG0031337")
	notes := releases("Built with SHA-256 sums. Follows OPS-900; deployed under OPS-812.")
	link := jsmlink.links["Deployments-7781"] with input as d
		with input.octopus.servertaskapprovals as stas
		with input.octopus.releases as notes
	link.key == "OPS-812"
}

test_release_notes_key_of_a_known_project_links_even_when_missing if {
	d := doc
	stas := servertaskapprovals("CHG0031337")
	notes := releases("UTF-8 fixes, see OPS-900.")
	link := jsmlink.links["Deployments-7781"] with input as d
		with input.octopus.servertaskapprovals as stas
		with input.octopus.releases as notes
	link.key == "OPS-900"
	not jsmlink.requests["Deployments-7781"] with input as d
		with input.octopus.servertaskapprovals as stas
		with input.octopus.releases as notes
}

test_key_shaped_words_of_other_projects_do_not_link if {
	d := doc
	stas := servertaskapprovals("CHG0031337")
	notes := releases("Hashes are SHA-256, text is UTF-8; OPS-812x is a tag, not a key.")
	count(jsmlink.links) == 0 with input as d
		with input.octopus.servertaskapprovals as stas
		with input.octopus.releases as notes
}

test_approval_key_links_even_without_the_request if {
	d := doc
	stas := servertaskapprovals("SEC-17")
	link := jsmlink.links["Deployments-7781"] with input as d with input.octopus.servertaskapprovals as stas
	link.key == "SEC-17"
}

# --- status at a moment ------------------------------------------------------------

test_status_at_takes_the_latest_change_at_or_before if {
	d := doc
	r := request("OPS-812", {})
	jsmlink.status_at(r, "2026-07-15T08:58:30.000000Z").status == "Implementing" with input as d
	jsmlink.status_at(r, "2026-07-15T08:58:29.999999Z").status == "Awaiting implementation" with input as d
	jsmlink.status_at(r, "2026-07-15T09:01:40.000000Z") == {
		"status": "Implementing", "how": "history",
		"evidence": ["jsm/status_changes/OPS-812/30107/0"],
	} with input as d
}

test_status_before_the_first_change_is_its_from if {
	d := doc
	r := request("OPS-812", {"createdDate": null})
	at := jsmlink.status_at(r, "2026-07-13T08:00:00.000000Z") with input as d
	at == {"status": "Planning", "how": "history", "evidence": ["jsm/status_changes/OPS-812/30101/0"]}
}

test_status_without_history_is_the_current_status if {
	d := doc
	r := request("OPS-812", {"status_change_ids": []})
	at := jsmlink.status_at(r, "2026-07-15T09:01:40.000000Z") with input as d
	at == {"status": "Completed", "how": "current", "evidence": []}
}

test_status_before_creation_is_null if {
	d := doc
	r := request("OPS-812", {})
	at := jsmlink.status_at(r, "2026-07-13T08:14:59.000000Z") with input as d
	at.how == "not_created"
	at.status == null
}
