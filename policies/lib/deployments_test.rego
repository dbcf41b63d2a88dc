# Unit tests for which production deployments are in the audit period.
package evidencekit.lib.deployments_test

import data.evidencekit.lib.deployments
import data.evidencekit.lib.testdata as td
import rego.v1

staging := td.deployment("Deployments-7790", {"EnvironmentId": "Environments-2", "TaskId": "ServerTasks-66130"})

test_production_deployment_in_period if {
	entry := deployments.in_period["Deployments-7781"] with input as td.doc
	entry.task.Id == "ServerTasks-66120"
	entry.deployment.Id == "Deployments-7781"
}

test_other_environments_are_out_of_scope if {
	result := deployments.in_period with input as td.doc
		with input.octopus.deployments as {"Deployments-7790": staging}
		with input.octopus.tasks as {"ServerTasks-66130": td.task("ServerTasks-66130", {})}
	result == {}
}

test_task_starting_at_period_start_is_in if {
	deployments.in_period["Deployments-7781"] with input as td.doc
		with input.octopus.tasks as {"ServerTasks-66120": td.task("ServerTasks-66120", {"StartTime": "2026-07-01T00:00:00.000000Z"})}
}

test_task_starting_at_period_end_is_out if {
	result := deployments.in_period with input as td.doc
		with input.octopus.tasks as {"ServerTasks-66120": td.task("ServerTasks-66120", {"StartTime": "2026-10-01T00:00:00.000000Z"})}
	result == {}
}

test_task_starting_just_before_period_end_is_in if {
	deployments.in_period["Deployments-7781"] with input as td.doc
		with input.octopus.tasks as {"ServerTasks-66120": td.task("ServerTasks-66120", {"StartTime": "2026-09-30T23:59:59.999999Z"})}
}

test_task_that_never_started_is_out if {
	never := td.task("ServerTasks-66120", {"State": "Canceled", "StartTime": null, "CompletedTime": "2026-07-15T09:00:00.000000Z"})
	result := deployments.in_period with input as td.doc with input.octopus.tasks as {"ServerTasks-66120": never}
	result == {}
	missing := deployments.missing_task with input as td.doc with input.octopus.tasks as {"ServerTasks-66120": never}
	missing == {}
}

test_failed_deployment_counts if {
	failed := td.failed_task("ServerTasks-66120", {})
	deployments.in_period["Deployments-7781"] with input as td.doc with input.octopus.tasks as {"ServerTasks-66120": failed}
}

test_missing_task_created_in_period_is_reported if {
	missing := deployments.missing_task with input as td.doc with input.octopus.tasks as {}
	object.keys(missing) == {"Deployments-7781"}
	result := deployments.in_period with input as td.doc with input.octopus.tasks as {}
	result == {}
}

test_missing_task_created_before_period_is_not_reported if {
	old := td.deployment("Deployments-7001", {"TaskId": "ServerTasks-60001", "Created": "2026-06-30T23:59:59.999999Z"})
	missing := deployments.missing_task with input as td.doc with input.octopus.deployments as {"Deployments-7001": old}
	missing == {}
}

test_missing_task_queued_in_period_is_reported if {
	queued := td.deployment("Deployments-7001", {
		"TaskId": "ServerTasks-60001",
		"Created": "2026-06-30T22:00:00.000000Z", "QueueTime": "2026-07-01T02:00:00.000000Z",
	})
	missing := deployments.missing_task with input as td.doc with input.octopus.deployments as {"Deployments-7001": queued}
	object.keys(missing) == {"Deployments-7001"}
}

test_missing_task_without_any_time_is_reported if {
	unknown := td.deployment("Deployments-7002", {"TaskId": null, "Created": null})
	missing := deployments.missing_task with input as td.doc with input.octopus.deployments as {"Deployments-7002": unknown}
	object.keys(missing) == {"Deployments-7002"}
	deployments.task_label(unknown) == "(no TaskId)"
}

test_evidence_names_deployment_task_and_environment if {
	entry := deployments.in_period["Deployments-7781"] with input as td.doc
	refs := deployments.evidence(entry.deployment, entry.task) with input as td.doc
	refs == [
		"octopus/deployments/Deployments-7781",
		"octopus/tasks/ServerTasks-66120",
		"octopus/environments/Environments-3",
	]
}
