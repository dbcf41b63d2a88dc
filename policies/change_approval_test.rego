# Unit tests for the change-approval policy.
package evidencekit.policies.change_approval_test

import data.evidencekit.lib.jsmlink_test as jt
import data.evidencekit.lib.testdata as td
import data.evidencekit.policies.change_approval as policy
import rego.v1

deployment_ref := "octopus/deployments/Deployments-7781"

task_ref := "octopus/tasks/ServerTasks-66120"

environment_ref := "octopus/environments/Environments-3"

approval_ref := "octopus/servertaskapprovals/ServerTaskApprovals-55"

change_ref := sprintf("servicenow/change_request/%s", [td.change_37])

with_change(fields) := object.union(td.change_requests, {td.change_37: td.change(td.change_37, "CHG0031337", fields)})

with_task(fields) := object.union(td.tasks, {"ServerTasks-66120": td.task("ServerTasks-66120", fields)})

test_approved_change_covering_the_task_passes if {
	policy.findings == set() with input as td.doc
	policy.tested == 1 with input as td.doc
}

test_non_production_deployments_are_not_examined if {
	staging := {"Deployments-7790": td.deployment("Deployments-7790", {"EnvironmentId": "Environments-2"})}
	policy.tested == 0 with input as td.doc with input.octopus.deployments as staging
	policy.findings == set() with input as td.doc with input.octopus.deployments as staging
}

test_missing_task_fails_closed if {
	findings := policy.findings with input as td.doc with input.octopus.tasks as {}
	findings == {{
		"resource": "Deployments-7781",
		"message": "task ServerTasks-66120 of production deployment Deployments-7781 is not in the evidence, so when it ran and under which change cannot be shown",
		"evidence": [deployment_ref, environment_ref],
	}}
	policy.tested == 1 with input as td.doc with input.octopus.tasks as {}
}

test_deployment_that_never_started_is_out_of_scope if {
	tasks := with_task({"State": "Canceled", "StartTime": null, "CompletedTime": null})
	policy.tested == 0 with input as td.doc with input.octopus.tasks as tasks
	policy.findings == set() with input as td.doc with input.octopus.tasks as tasks
}

test_unlinked_deployment_fails if {
	finding := td.only(policy.findings, "Deployments-7781") with input as td.doc
		with input.index.task_approval_by_task as {}
		with input.index.changes_by_short_description as {}
	startswith(finding.message, "deployment Deployments-7781 is not linked to a change request")
	finding.evidence == [deployment_ref, task_ref, environment_ref]
}

test_unknown_change_number_fails if {
	approvals := {"ServerTaskApprovals-55": td.approval("ServerTaskApprovals-55", "ServerTasks-66120", "CHG0001234")}
	finding := td.only(policy.findings, "Deployments-7781") with input as td.doc
		with input.octopus.servertaskapprovals as approvals
	finding.message == "deployment Deployments-7781 names CHG0001234, which is not in the ServiceNow evidence (number taken from its server task approval)"
	finding.evidence == [deployment_ref, task_ref, environment_ref, approval_ref]
}

test_unlinked_and_unfinished_task_reports_both if {
	finding := td.only(policy.findings, "Deployments-7781") with input as td.doc
		with input.servicenow.change_request as {}
		with input.octopus.tasks as with_task({"State": "Executing", "CompletedTime": null})
	td.mentions(finding.message, [
		"names CHG0031337, which is not in the ServiceNow evidence (number taken from its server task approval); ",
		"task ServerTasks-66120 has not completed, so it cannot be shown to have finished inside the window",
	])
}

test_unapproved_and_canceled_change_reports_every_condition_in_one_finding if {
	findings := policy.findings with input as td.doc
		with input.servicenow.change_request as with_change({"approval": "rejected", "state": 4})
	findings == {{
		"resource": "Deployments-7781",
		"message": `change CHG0031337 has approval "rejected", not "approved"; change CHG0031337 is in state 4 (Canceled), not Implement (-1), Review (0) or Closed (3)`,
		"evidence": [deployment_ref, task_ref, environment_ref, approval_ref, change_ref],
	}}
}

test_missing_approval_and_state_fail if {
	finding := td.only(policy.findings, "Deployments-7781") with input as td.doc
		with input.servicenow.change_request as with_change({"approval": null, "state": null})
	td.mentions(finding.message, [
		"change CHG0031337 has approval empty, not \"approved\"",
		"change CHG0031337 is in state empty, not Implement (-1)",
	])
}

test_scheduled_change_fails if {
	finding := td.only(policy.findings, "Deployments-7781") with input as td.doc
		with input.servicenow.change_request as with_change({"state": -2})
	finding.message == "change CHG0031337 is in state -2 (Scheduled), not Implement (-1), Review (0) or Closed (3)"
}

test_implement_and_review_states_pass if {
	policy.findings == set() with input as td.doc with input.servicenow.change_request as with_change({"state": -1})
	policy.findings == set() with input as td.doc with input.servicenow.change_request as with_change({"state": 0})
}

test_window_edges_are_inclusive if {
	edges := with_change({"start_date": "2026-07-15T09:01:40.000000Z", "end_date": "2026-07-15T09:04:11.300000Z"})
	policy.findings == set() with input as td.doc with input.servicenow.change_request as edges
}

test_start_before_window_fails if {
	late_window := with_change({"start_date": "2026-07-15T09:01:40.000001Z"})
	finding := td.only(policy.findings, "Deployments-7781") with input as td.doc
		with input.servicenow.change_request as late_window
	finding.message == "task ServerTasks-66120 started at 2026-07-15T09:01:40.000000Z, before the planned start 2026-07-15T09:01:40.000001Z of change CHG0031337"
}

test_completion_after_window_fails if {
	early_end := with_change({"end_date": "2026-07-15T09:04:11.299999Z"})
	finding := td.only(policy.findings, "Deployments-7781") with input as td.doc
		with input.servicenow.change_request as early_end
	finding.message == "task ServerTasks-66120 completed at 2026-07-15T09:04:11.300000Z, after the planned end 2026-07-15T09:04:11.299999Z of change CHG0031337"
}

test_both_window_edges_missed_are_both_reported if {
	narrow := with_change({"start_date": "2026-07-15T09:02:00.000000Z", "end_date": "2026-07-15T09:03:00.000000Z"})
	finding := td.only(policy.findings, "Deployments-7781") with input as td.doc
		with input.servicenow.change_request as narrow
	td.mentions(finding.message, ["before the planned start", "; task ServerTasks-66120 completed at"])
}

test_change_without_planned_end_fails if {
	finding := td.only(policy.findings, "Deployments-7781") with input as td.doc
		with input.servicenow.change_request as with_change({"end_date": null})
	finding.message == "change CHG0031337 has no planned window (end_date empty), so the deployment cannot be shown to fall inside it"
}

test_change_without_any_window_fails if {
	finding := td.only(policy.findings, "Deployments-7781") with input as td.doc
		with input.servicenow.change_request as with_change({"start_date": null, "end_date": null})
	contains(finding.message, "has no planned window (start_date and end_date empty)")
}

test_task_not_completed_fails if {
	finding := td.only(policy.findings, "Deployments-7781") with input as td.doc
		with input.octopus.tasks as with_task({"State": "Executing", "CompletedTime": null, "IsCompleted": false})
	finding.message == "task ServerTasks-66120 has not completed, so it cannot be shown to have finished inside the window"
}

test_failed_deployment_inside_an_approved_window_counts_and_passes if {
	tasks := object.union(td.tasks, {"ServerTasks-66120": td.failed_task("ServerTasks-66120", {})})
	policy.tested == 1 with input as td.doc with input.octopus.tasks as tasks
	policy.findings == set() with input as td.doc with input.octopus.tasks as tasks
}

test_one_finding_per_deployment if {
	second := td.deployment("Deployments-7782", {"TaskId": "ServerTasks-66121", "FormValues": {"Octopus.ServiceNow.ChangeRequest.Number": "CHG0031340"}})
	findings := policy.findings with input as td.doc
		with input.octopus.deployments as object.union(td.deployments, {"Deployments-7782": second})
		with input.octopus.tasks as object.union(td.tasks, {"ServerTasks-66121": td.task("ServerTasks-66121", {})})
	# CHG0031340's window is 3 August; the task ran on 15 July.
	finding := td.only(findings, "Deployments-7782")
	finding.message == "task ServerTasks-66121 started at 2026-07-15T09:01:40.000000Z, before the planned start 2026-08-03T18:00:00.000000Z of change CHG0031340"
	count(findings) == 1
	policy.tested == 2 with input as td.doc
		with input.octopus.deployments as object.union(td.deployments, {"Deployments-7782": second})
		with input.octopus.tasks as object.union(td.tasks, {"ServerTasks-66121": td.task("ServerTasks-66121", {})})
}

test_sparse_change_record_still_fails_every_condition if {
	sparse := {td.change_37: {"sys_id": td.change_37, "number": "CHG0031337", "_ref": change_ref}}
	finding := td.only(policy.findings, "Deployments-7781") with input as td.doc
		with input.servicenow.change_request as sparse
	finding.message == concat("; ", [
		`change CHG0031337 has approval empty, not "approved"`,
		"change CHG0031337 is in state empty, not Implement (-1), Review (0) or Closed (3)",
		"change CHG0031337 has no planned window (start_date and end_date empty), so the deployment cannot be shown to fall inside it",
	])
}

test_deployment_without_environment_field_is_not_production if {
	bare := {"Deployments-7781": object.remove(td.deployment("Deployments-7781", {}), ["EnvironmentId"])}
	policy.tested == 0 with input as td.doc with input.octopus.deployments as bare
}

# Deployments-7781 with no server task approval and no change titled after it, so
# it names no ServiceNow change; its release notes vary, and the JSM evidence holds
# request OPS-812. (The releases are bound before jt.doc, and each evaluation is
# its own expression: in the regorus build in use, a call into another test
# package after binding jt.doc, or a helper function that carries `with` called
# twice, evaluates as undefined.)
test_deployment_naming_only_a_jsm_request_is_left_to_jsm_change_approval if {
	releases := jt.releases("Adds SEPA instant payouts. Change: OPS-812.")
	d := jt.doc
	findings := policy.findings with input as d
		with input.index.task_approval_by_task as {}
		with input.index.changes_by_short_description as {}
		with input.octopus.releases as releases
	findings == set()
	tested := policy.tested with input as d
		with input.index.task_approval_by_task as {}
		with input.index.changes_by_short_description as {}
		with input.octopus.releases as releases
	tested == 0
}

test_deployment_naming_neither_a_change_nor_a_jsm_request_still_fails if {
	# FIN-77 is not a project the JSM evidence holds requests of, so it is no link.
	releases := jt.releases("Adds SEPA instant payouts, see FIN-77.")
	d := jt.doc
	findings := policy.findings with input as d
		with input.index.task_approval_by_task as {}
		with input.index.changes_by_short_description as {}
		with input.octopus.releases as releases
	count(findings) == 1
	some finding in findings
	finding.resource == "Deployments-7781"
	startswith(finding.message, "deployment Deployments-7781 is not linked to a change request")
	tested := policy.tested with input as d
		with input.index.task_approval_by_task as {}
		with input.index.changes_by_short_description as {}
		with input.octopus.releases as releases
	tested == 1
}

test_deployment_naming_a_servicenow_change_and_a_jsm_request_is_still_judged if {
	# The release notes name both; the CHG number links it here, so the change is
	# judged (and fails its window) whatever jsm-change-approval finds.
	releases := jt.releases("Adds SEPA instant payouts under CHG0031337 and OPS-812.")
	d := jt.doc
	changes := with_change({"end_date": "2026-07-15T09:00:00.000000Z"})
	finding := td.only(policy.findings, "Deployments-7781") with input as d
		with input.index.task_approval_by_task as {}
		with input.octopus.releases as releases
		with input.servicenow.change_request as changes
	contains(finding.message, "after the planned end 2026-07-15T09:00:00.000000Z of change CHG0031337")
}
