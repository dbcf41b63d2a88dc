# Unit tests for the backup-runbooks policy.
package evidencekit.policies.backup_runbooks_test

import data.evidencekit.lib.testdata as td
import data.evidencekit.policies.backup_runbooks as policy
import rego.v1

runbook_ref := "octopus/runbooks/Runbooks-7"

with_tasks(changed) := object.union(td.tasks, changed)

test_successful_run_every_month_passes if {
	policy.findings == set() with input as td.doc
	policy.tested == 3 with input as td.doc
}

test_month_with_only_a_failed_run_fails if {
	tasks := with_tasks({"ServerTasks-70002": td.failed_task("ServerTasks-70002", {"StartTime": "2026-08-02T01:00:04.000000Z"})})
	findings := policy.findings with input as td.doc with input.octopus.tasks as tasks
	findings == {{
		"resource": "Nightly database backup/2026-08",
		"message": `runbook "Nightly database backup" (Runbooks-7) has no successful run started in 2026-08 (2026-08-01T00:00:00.000000Z to 2026-09-01T00:00:00.000000Z): 1 run(s) started, none succeeded (ServerTasks-70002 "Failed")`,
		"evidence": [runbook_ref, "octopus/runbookruns/RunbookRuns-1002", "octopus/tasks/ServerTasks-70002"],
	}}
}

test_month_without_any_run_fails if {
	runs := {"Runbooks-7": ["RunbookRuns-1001", "RunbookRuns-1003"]}
	findings := policy.findings with input as td.doc with input.index.runbook_runs_by_runbook as runs
	finding := td.only(findings, "Nightly database backup/2026-08")
	endswith(finding.message, "): no run started that month")
	finding.evidence == [runbook_ref]
	count(findings) == 1
}

test_run_at_month_start_counts_for_that_month_only if {
	# The August run moved to exactly 1 August 00:00: August is covered, and July
	# still has its own run.
	tasks := with_tasks({"ServerTasks-70002": td.task("ServerTasks-70002", {"StartTime": "2026-08-01T00:00:00.000000Z"})})
	policy.findings == set() with input as td.doc with input.octopus.tasks as tasks
}

test_run_at_month_end_belongs_to_the_next_month if {
	# The July run moved to 1 August 00:00, so July has none.
	tasks := with_tasks({"ServerTasks-70001": td.task("ServerTasks-70001", {"StartTime": "2026-08-01T00:00:00.000000Z"})})
	findings := policy.findings with input as td.doc with input.octopus.tasks as tasks
	{finding.resource | some finding in findings} == {"Nightly database backup/2026-07"}
}

test_run_just_before_month_end_counts_for_that_month if {
	tasks := with_tasks({"ServerTasks-70001": td.task("ServerTasks-70001", {"StartTime": "2026-07-31T23:59:59.999999Z"})})
	policy.findings == set() with input as td.doc with input.octopus.tasks as tasks
}

test_run_whose_task_is_missing_does_not_count if {
	tasks := object.remove(td.tasks, ["ServerTasks-70003"])
	findings := policy.findings with input as td.doc with input.octopus.tasks as tasks
	{finding.resource | some finding in findings} == {"Nightly database backup/2026-09"}
}

test_configured_runbook_missing_from_evidence_fails_every_month if {
	findings := policy.findings with input as td.doc
		with input.settings.backup_runbooks as ["Weekly ledger export"]
	{finding.resource | some finding in findings} == {
		"Weekly ledger export/2026-07",
		"Weekly ledger export/2026-08",
		"Weekly ledger export/2026-09",
	}
	finding := td.only(findings, "Weekly ledger export/2026-09")
	finding.message == `no runbook named "Weekly ledger export" in the evidence, so no successful run in 2026-09 can be shown`
	finding.evidence == []
}

test_a_success_of_any_runbook_with_the_name_counts if {
	# Two projects each have a "Nightly database backup"; the August success is
	# in the second one.
	runbooks := object.union(td.runbooks, {"Runbooks-9": td.octopus("runbooks", "Runbooks-9", {"Name": "Nightly database backup", "ProjectId": "Projects-41"})})
	runs := {
		"Runbooks-7": ["RunbookRuns-1001", "RunbookRuns-1003"],
		"Runbooks-9": ["RunbookRuns-1002"],
	}
	names := {"Nightly database backup": ["Runbooks-7", "Runbooks-9"]}
	policy.findings == set() with input as td.doc
		with input.octopus.runbooks as runbooks
		with input.index.runbook_runs_by_runbook as runs
		with input.index.runbook_ids_by_name as names
}

test_tested_counts_distinct_runbooks_times_months if {
	policy.tested == 6 with input as td.doc
		with input.settings.backup_runbooks as ["Nightly database backup", "Rotate certificates", "Nightly database backup"]
	# Rotate certificates exists but never ran.
	findings := policy.findings with input as td.doc
		with input.settings.backup_runbooks as ["Nightly database backup", "Rotate certificates"]
	count(findings) == 3
}

test_no_configured_runbooks_tests_nothing if {
	policy.tested == 0 with input as td.doc with input.settings.backup_runbooks as []
}

test_missing_months_leave_tested_undefined if {
	period := object.remove(td.period, ["months"])
	not policy.tested with input as td.doc with input.period as period
}
