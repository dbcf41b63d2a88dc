# Unit tests for the emergency-change-review policy.
package evidencekit.policies.emergency_change_review_test

import data.evidencekit.lib.jsmlink_test as jt
import data.evidencekit.lib.testdata as td
import data.evidencekit.policies.emergency_change_review as policy
import rego.v1

# ledger-service 1.9.0, whose release notes name the emergency change CHG0031340
# (planned end 2026-08-03T20:00:00Z, so the 5-day deadline is 2026-08-08T20:00:00Z).
hotfix(id, task_id) := td.deployment(id, {
	"ProjectId": "Projects-42", "ReleaseId": "Releases-3310", "TaskId": task_id,
	"Created": "2026-08-03T18:20:00.000000Z",
})

hotfix_task(id) := td.task(id, {
	"Description": "Deploy ledger-service release 1.9.0 to Production",
	"QueueTime": "2026-08-03T18:20:00.000000Z", "StartTime": "2026-08-03T18:25:00.000000Z",
	"CompletedTime": "2026-08-03T18:31:00.000000Z",
})

deployments := object.union(td.deployments, {"Deployments-7790": hotfix("Deployments-7790", "ServerTasks-66200")})

tasks := object.union(td.tasks, {"ServerTasks-66200": hotfix_task("ServerTasks-66200")})

with_change_40(fields) := object.union(td.change_requests, {td.change_40: td.change(td.change_40, "CHG0031340", object.union(
	{
		"type": "emergency", "short_description": "Hotfix FX ledger rounding",
		"start_date": "2026-08-03T18:00:00.000000Z", "end_date": "2026-08-03T20:00:00.000000Z",
	},
	fields,
))})

change_40_ref := sprintf("servicenow/change_request/%s", [td.change_40])

test_normal_changes_are_not_examined if {
	policy.tested == 0 with input as td.doc
	policy.findings == set() with input as td.doc
}

test_emergency_change_closed_promptly_passes if {
	policy.findings == set() with input as td.doc
		with input.octopus.deployments as deployments
		with input.octopus.tasks as tasks
	policy.tested == 1 with input as td.doc
		with input.octopus.deployments as deployments
		with input.octopus.tasks as tasks
}

test_closed_exactly_at_the_deadline_passes if {
	policy.findings == set() with input as td.doc
		with input.octopus.deployments as deployments
		with input.octopus.tasks as tasks
		with input.servicenow.change_request as with_change_40({"closed_at": "2026-08-08T20:00:00.000000Z"})
}

test_closed_just_after_the_deadline_fails if {
	findings := policy.findings with input as td.doc
		with input.octopus.deployments as deployments
		with input.octopus.tasks as tasks
		with input.servicenow.change_request as with_change_40({"closed_at": "2026-08-08T20:00:00.000001Z"})
	findings == {{
		"resource": "CHG0031340",
		"message": "emergency change CHG0031340, linked to production deployment(s) Deployments-7790, was closed at 2026-08-08T20:00:00.000001Z, more than 5 days after its planned end 2026-08-03T20:00:00.000000Z",
		"evidence": [change_40_ref, "octopus/deployments/Deployments-7790"],
	}}
}

test_review_days_come_from_settings if {
	finding := td.only(policy.findings, "CHG0031340") with input as td.doc
		with input.octopus.deployments as deployments
		with input.octopus.tasks as tasks
		with input.settings.emergency_review_days as 1
	contains(finding.message, "was closed at 2026-08-05T09:00:00.000000Z, more than 1 days after its planned end")
}

test_same_day_review_with_zero_days if {
	policy.findings == set() with input as td.doc
		with input.octopus.deployments as deployments
		with input.octopus.tasks as tasks
		with input.settings.emergency_review_days as 0
		with input.servicenow.change_request as with_change_40({"closed_at": "2026-08-03T20:00:00.000000Z"})
}

test_emergency_change_not_closed_fails if {
	finding := td.only(policy.findings, "CHG0031340") with input as td.doc
		with input.octopus.deployments as deployments
		with input.octopus.tasks as tasks
		with input.servicenow.change_request as with_change_40({"closed_at": null, "state": 0})
	endswith(finding.message, "has not been closed (closed_at is empty), so no review within 5 days of its planned end 2026-08-03T20:00:00.000000Z is shown")
}

test_emergency_change_without_planned_end_fails_closed if {
	finding := td.only(policy.findings, "CHG0031340") with input as td.doc
		with input.octopus.deployments as deployments
		with input.octopus.tasks as tasks
		with input.servicenow.change_request as with_change_40({"end_date": null})
	endswith(finding.message, "has no planned end (end_date is empty), so its review deadline cannot be computed")
}

test_one_finding_per_change_with_every_linked_deployment if {
	second := object.union(deployments, {"Deployments-7795": hotfix("Deployments-7795", "ServerTasks-66210")})
	more_tasks := object.union(tasks, {"ServerTasks-66210": hotfix_task("ServerTasks-66210")})
	findings := policy.findings with input as td.doc
		with input.octopus.deployments as second
		with input.octopus.tasks as more_tasks
		with input.servicenow.change_request as with_change_40({"closed_at": null})
	finding := td.only(findings, "CHG0031340")
	count(findings) == 1
	contains(finding.message, "linked to production deployment(s) Deployments-7790, Deployments-7795,")
	finding.evidence == [change_40_ref, "octopus/deployments/Deployments-7790", "octopus/deployments/Deployments-7795"]
	policy.tested == 1 with input as td.doc
		with input.octopus.deployments as second
		with input.octopus.tasks as more_tasks
}

test_emergency_change_of_a_deployment_outside_the_period_is_not_examined if {
	early := object.union(td.tasks, {"ServerTasks-66200": td.task("ServerTasks-66200", {"StartTime": "2026-06-30T10:00:00.000000Z"})})
	policy.tested == 0 with input as td.doc
		with input.octopus.deployments as deployments
		with input.octopus.tasks as early
		with input.servicenow.change_request as with_change_40({"closed_at": null})
}

test_change_without_number_is_reported_by_sys_id if {
	unnumbered := object.union(with_change_40({"closed_at": null}), {td.change_40: {"number": null}})
	prompted := td.deployment("Deployments-7790", {
		"TaskId": "ServerTasks-66200",
		"FormValues": {"Octopus.ServiceNow.ChangeRequest.Number": "CHG0031340"},
	})
	findings := policy.findings with input as td.doc
		with input.octopus.deployments as {"Deployments-7790": prompted}
		with input.octopus.tasks as tasks
		with input.servicenow.change_request as unnumbered
	finding := td.only(findings, td.change_40)
	startswith(finding.message, sprintf("emergency change %s,", [td.change_40]))
}



test_missing_review_days_setting_leaves_tested_undefined if {
	settings := object.remove(td.settings, ["emergency_review_days"])
	not policy.tested with input as td.doc with input.settings as settings
}

# A closed_at or end_date the engine cannot compute with (a far-future placeholder
# or a year before 1677) is a finding, never an error that drops the others.
test_timestamps_that_cannot_be_computed_with_fail_closed if {
	far := td.only(policy.findings, "CHG0031340") with input as td.doc
		with input.octopus.deployments as deployments
		with input.octopus.tasks as tasks
		with input.servicenow.change_request as with_change_40({"closed_at": "9999-12-31T00:00:00.000000Z"})
	endswith(far.message, "has closed_at 9999-12-31T00:00:00.000000Z, which is not a timestamp that can be computed with, so a review within 5 days of its planned end cannot be shown")
	both := td.only(policy.findings, "CHG0031340") with input as td.doc
		with input.octopus.deployments as deployments
		with input.octopus.tasks as tasks
		with input.servicenow.change_request as with_change_40({
			"end_date": "2300-01-01T00:00:00.000000Z",
			"closed_at": "1600-01-01T00:00:00.000000Z",
		})
	contains(both.message, "has end_date 2300-01-01T00:00:00.000000Z, which is not a timestamp")
}

# A deployment that names only a JSM request is left to jsm-change-approval: it is
# neither examined nor reported as unlinked here. (Releases are bound before
# jt.doc; see change_approval_test.rego for the regorus quirk.)
test_deployment_naming_only_a_jsm_request_is_not_reported if {
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
