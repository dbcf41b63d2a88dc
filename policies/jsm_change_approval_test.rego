# Unit tests for the jsm-change-approval policy.
package evidencekit.policies.jsm_change_approval_test

import data.evidencekit.lib.jsmlink_test as jt
import data.evidencekit.lib.testdata as td
import data.evidencekit.policies.jsm_change_approval as policy
import rego.v1

deployment_ref := "octopus/deployments/Deployments-7781"

task_ref := "octopus/tasks/ServerTasks-66120"

environment_ref := "octopus/environments/Environments-3"

approval_ref := "octopus/servertaskapprovals/ServerTaskApprovals-55"

request_ref := "jsm/requests/OPS-812"

with_request(fields) := {"OPS-812": jt.request("OPS-812", fields)}

with_task(fields) := object.union(td.tasks, {"ServerTasks-66120": td.task("ServerTasks-66120", fields)})

# The single finding about Deployments-7781 when the request has these fields.
finding_for(fields) := found if {
	d := jt.doc
	requests := with_request(fields)
	found := td.only(policy.findings, "Deployments-7781") with input as d
		with input.jsm.requests as requests
}

test_approved_request_in_window_passes if {
	d := jt.doc
	policy.findings == set() with input as d
	policy.tested == 1 with input as d
}

test_deployment_naming_no_request_is_out_of_scope if {
	d := jt.doc
	stas := jt.servertaskapprovals("CHG0031337")
	policy.tested == 0 with input as d with input.octopus.servertaskapprovals as stas
	policy.findings == set() with input as d with input.octopus.servertaskapprovals as stas
}

test_named_request_missing_from_the_evidence_fails if {
	d := jt.doc
	stas := jt.servertaskapprovals("OPS-999")
	findings := policy.findings with input as d with input.octopus.servertaskapprovals as stas
	findings == {{
		"resource": "Deployments-7781",
		"message": "deployment Deployments-7781 names OPS-999 (from its server task approval), which is not a request in the JSM evidence",
		"evidence": [deployment_ref, task_ref, environment_ref, approval_ref],
	}}
}

test_missing_request_and_unfinished_task_reports_both if {
	d := jt.doc
	stas := jt.servertaskapprovals("OPS-999")
	tasks := with_task({"State": "Executing", "CompletedTime": null})
	finding := td.only(policy.findings, "Deployments-7781") with input as d
		with input.octopus.servertaskapprovals as stas
		with input.octopus.tasks as tasks
	td.mentions(finding.message, ["which is not a request in the JSM evidence; task ServerTasks-66120 has not completed"])
}

test_pending_approval_fails if {
	d := jt.doc
	requests := with_request({"approved": false, "approval_state": "pending", "approval_ids": ["OPS-812/44", "OPS-812/47"]})
	steps := object.union(jt.approvals, {"OPS-812/47": jt.step("OPS-812", "47", "Change advisory board", "pending")})
	finding := td.only(policy.findings, "Deployments-7781") with input as d
		with input.jsm.requests as requests
		with input.jsm.approvals as steps
	finding.message == `request OPS-812 is not approved: approval "Change advisory board" (47) is still pending`
}

test_one_declined_step_of_several_fails if {
	d := jt.doc
	requests := with_request({"approved": false, "approval_state": "declined"})
	steps := object.union(jt.approvals, {"OPS-812/45": jt.step("OPS-812", "45", "Change advisory board", "declined")})
	finding := td.only(policy.findings, "Deployments-7781") with input as d
		with input.jsm.requests as requests
		with input.jsm.approvals as steps
	finding.message == `request OPS-812 is not approved: approval "Change advisory board" (45) was declined`
	finding.evidence == [
		deployment_ref, task_ref, environment_ref, approval_ref, request_ref,
		"jsm/approvals/OPS-812/44", "jsm/approvals/OPS-812/45",
		"jsm/status_changes/OPS-812/30107/0",
	]
}

test_request_without_approval_steps_fails if {
	finding := finding_for({"approved": false, "approval_state": "none", "approval_ids": []})
	finding.message == "request OPS-812 is not approved: it has no approval step"
}

test_request_with_unreadable_approvals_fails if {
	finding := finding_for({"approved": false, "approval_state": "unknown"})
	finding.message == `request OPS-812 is not approved: its approvals are not all in the evidence (approval state "unknown")`
}

test_approved_flag_alone_decides if {
	# A state that says approved without the flag does not pass.
	finding := finding_for({"approved": null})
	startswith(finding.message, "request OPS-812 is not approved")
}

test_status_at_start_comes_from_the_history if {
	d := jt.doc
	late := jt.change("OPS-812", "30107", "Awaiting implementation", "Implementing", "2026-07-15T09:01:40.000001Z")
	changes := object.union(jt.status_changes, {"OPS-812/30107/0": late})
	finding := td.only(policy.findings, "Deployments-7781") with input as d with input.jsm.status_changes as changes
	finding.message == `request OPS-812 was in status "Awaiting implementation" when task ServerTasks-66120 started at 2026-07-15T09:01:40.000000Z (from its status history), not one of Implementing, Review, Completed, Closed`
	finding.evidence[count(finding.evidence) - 1] == "jsm/status_changes/OPS-812/30102/0"
}

test_status_change_at_the_start_counts if {
	d := jt.doc
	exact := jt.change("OPS-812", "30107", "Awaiting implementation", "Implementing", "2026-07-15T09:01:40.000000Z")
	changes := object.union(jt.status_changes, {"OPS-812/30107/0": exact})
	policy.findings == set() with input as d with input.jsm.status_changes as changes
}

test_statuses_match_in_any_case_and_come_from_settings if {
	d := jt.doc
	lower_case := object.union(td.settings, {"jsm_allowed_statuses": [" implementing "]})
	policy.findings == set() with input as d with input.settings as lower_case
	only_closed := object.union(td.settings, {"jsm_allowed_statuses": ["Closed"]})
	finding := td.only(policy.findings, "Deployments-7781") with input as d with input.settings as only_closed
	endswith(finding.message, "(from its status history), not one of Closed")
}

test_current_status_is_used_without_history if {
	policy.findings == set() with input as jt.doc with input.jsm.requests as with_request({"status_change_ids": []})
	finding := finding_for({"status_change_ids": [], "currentStatus": {"status": "Awaiting approval"}})
	contains(finding.message, `was in status "Awaiting approval" when task ServerTasks-66120 started at 2026-07-15T09:01:40.000000Z (its current status; no status change is in the evidence)`)
}

test_request_created_after_the_task_started_fails if {
	finding := finding_for({"createdDate": "2026-07-15T09:05:00.000000Z"})
	finding.message == "request OPS-812 was created at 2026-07-15T09:05:00.000000Z, after task ServerTasks-66120 started at 2026-07-15T09:01:40.000000Z"
}

test_window_edges_are_inclusive if {
	d := jt.doc
	edges := with_request({"planned_start": "2026-07-15T09:01:40.000000Z", "planned_end": "2026-07-15T09:04:11.300000Z"})
	policy.findings == set() with input as d with input.jsm.requests as edges
}

test_start_before_window_fails if {
	finding := finding_for({"planned_start": "2026-07-15T09:01:40.000001Z"})
	finding.message == "task ServerTasks-66120 started at 2026-07-15T09:01:40.000000Z, before the planned start 2026-07-15T09:01:40.000001Z of request OPS-812"
}

test_completion_after_window_fails if {
	finding := finding_for({"planned_end": "2026-07-15T09:04:11.299999Z"})
	finding.message == "task ServerTasks-66120 completed at 2026-07-15T09:04:11.300000Z, after the planned end 2026-07-15T09:04:11.299999Z of request OPS-812"
}

test_missing_window_fails if {
	finding := finding_for({"planned_end": null})
	finding.message == "request OPS-812 has no planned window (planned_end empty), so the deployment cannot be shown to fall inside it"
	none := finding_for({"planned_start": null, "planned_end": null})
	contains(none.message, "(planned_start and planned_end empty)")
}

test_unfinished_task_fails if {
	d := jt.doc
	tasks := with_task({"State": "Executing", "CompletedTime": null, "IsCompleted": false})
	finding := td.only(policy.findings, "Deployments-7781") with input as d with input.octopus.tasks as tasks
	finding.message == "task ServerTasks-66120 has not completed, so it cannot be shown to have finished inside the window"
}

test_every_failed_condition_is_in_one_finding if {
	finding := finding_for({
		"approved": false, "approval_state": "none", "approval_ids": [],
		"status_change_ids": [], "currentStatus": {"status": "Planning"},
		"planned_start": null,
	})
	finding.message == concat("; ", [
		"request OPS-812 is not approved: it has no approval step",
		`request OPS-812 was in status "Planning" when task ServerTasks-66120 started at 2026-07-15T09:01:40.000000Z (its current status; no status change is in the evidence), not one of Implementing, Review, Completed, Closed`,
		"request OPS-812 has no planned window (planned_start empty), so the deployment cannot be shown to fall inside it",
	])
}

test_release_notes_link_is_judged_too if {
	# Bound before jt.doc: this regorus build loses jt.releases' result when
	# it is called after jt.doc in the same rule body.
	notes := jt.releases("Deploy under OPS-812.")
	d := jt.doc
	stas := jt.servertaskapprovals("CHG0031337")
	requests := with_request({"planned_end": "2026-07-15T09:00:00.000000Z"})
	finding := td.only(policy.findings, "Deployments-7781") with input as d
		with input.octopus.servertaskapprovals as stas
		with input.octopus.releases as notes
		with input.jsm.requests as requests
	contains(finding.message, "after the planned end 2026-07-15T09:00:00.000000Z of request OPS-812")
	finding.evidence[3] == "octopus/releases/Releases-3302"
}

test_non_production_deployment_is_not_examined if {
	d := jt.doc
	staging := {"Deployments-7781": td.deployment("Deployments-7781", {"EnvironmentId": "Environments-2"})}
	policy.tested == 0 with input as d with input.octopus.deployments as staging
}
