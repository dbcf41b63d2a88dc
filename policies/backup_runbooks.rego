# METADATA
# title: Backup runbooks succeed every month
# description: >-
#   Each configured backup runbook has at least one run whose task succeeded and
#   started within each calendar month of the audit period. A configured runbook
#   that is not in the evidence fails every month.
# custom:
#   id: backup-runbooks
#   severity: high
#   controls: [iso27001-2022:A.8.13, soc2-2017:A1.2]
#   requires: [octopus.runbooks, octopus.runbookruns, octopus.tasks]
package evidencekit.policies.backup_runbooks

import data.evidencekit.lib.util
import rego.v1

names := {name | some name in input.settings.backup_runbooks}

# Undefined (an evaluation error, never a pass) when the settings or months are absent.
tested := count(names) * count(input.period.months) if {
	is_array(input.settings.backup_runbooks)
	is_array(input.period.months)
}

findings contains finding if {
	some name in names
	count(object.get(input.index.runbook_ids_by_name, name, [])) == 0
	some month in input.period.months
	finding := {
		"resource": sprintf("%s/%s", [name, month.month]),
		"message": sprintf(
			"no runbook named %q in the evidence, so no successful run in %s can be shown",
			[name, month.month],
		),
		"evidence": [],
	}
}

findings contains finding if {
	some name in names
	runbook_ids := input.index.runbook_ids_by_name[name]
	count(runbook_ids) > 0
	some month in input.period.months
	started := runs_started(runbook_ids, month)
	not any_success(started)
	finding := {
		"resource": sprintf("%s/%s", [name, month.month]),
		"message": sprintf(
			"runbook %q (%s) has no successful run started in %s (%s to %s): %s",
			[name, concat(", ", sort(runbook_ids)), month.month, month.start, month.end, outcome(started)],
		),
		"evidence": array.concat(
			util.refs([input.octopus.runbooks[id] | some id in sort(runbook_ids)]),
			[ref | some run in started; some ref in util.refs([run.run, run.task])],
		),
	}
}

# The runs of the runbooks whose task started in the month, with that task.
runs_started(runbook_ids, month) := [{"run": run, "task": task} |
	some runbook_id in runbook_ids
	some run_id in object.get(input.index.runbook_runs_by_runbook, runbook_id, [])
	run := input.octopus.runbookruns[run_id]
	task := input.octopus.tasks[run.TaskId]
	util.within(task.StartTime, month.start, month.end)
]

any_success(started) if {
	some item in started
	item.task.State == "Success"
}

outcome(started) := "no run started that month" if {
	count(started) == 0
} else := sprintf("%v run(s) started, none succeeded (%s)", [
	count(started),
	concat(", ", [run_text(item) | some item in started]),
])

run_text(item) := sprintf("%s %s", [item.task.Id, util.show(object.get(item.task, "State", null))])
