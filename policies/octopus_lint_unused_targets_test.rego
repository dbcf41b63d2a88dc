# Unit tests for the octopus-unused-targets policy.
package evidencekit.policies.octopus_unused_targets_test

import data.evidencekit.policies.octopus_unused_targets as policy
import rego.v1

machine(id, disabled) := {"Id": id, "Name": lower(id), "IsDisabled": disabled, "_ref": sprintf("octopus/machines/%s", [id])}

deployment(id, task, machines) := {"Id": id, "TaskId": task, "DeployedToMachineIds": machines}

task(id, completed) := {"Id": id, "CompletedTime": completed}

doc := {
	"period": {"start": "2026-07-01T00:00:00.000000Z", "end": "2026-10-01T00:00:00.000000Z"},
	"settings": {},
	"octopus": {
		"machines": {
			"Machines-1": machine("Machines-1", false),
			"Machines-2": machine("Machines-2", false),
			"Machines-3": machine("Machines-3", true),
			"Machines-4": machine("Machines-4", null),
		},
		"deployments": {
			"Deployments-1": deployment("Deployments-1", "ServerTasks-1", ["Machines-1"]),
			"Deployments-2": deployment("Deployments-2", "ServerTasks-2", ["Machines-2"]),
			"Deployments-3": deployment("Deployments-3", "ServerTasks-3", ["Machines-4"]),
			"Deployments-4": deployment("Deployments-4", "ServerTasks-missing", ["Machines-4"]),
		},
		"tasks": {
			"ServerTasks-1": task("ServerTasks-1", "2026-09-01T00:00:00.000000Z"),
			"ServerTasks-2": task("ServerTasks-2", "2026-08-31T23:59:59.999999Z"),
			"ServerTasks-3": task("ServerTasks-3", "2026-10-01T00:00:00.000000Z"),
		},
	},
}

test_targets_without_a_recent_completed_deployment_fail if {
	d := doc
	findings := policy.findings with input as d
	{f.resource | some f in findings} == {"Machines-2", "Machines-4"}
	policy.tested == 3 with input as d
}

test_the_message_names_the_span if {
	d := doc
	findings := policy.findings with input as d
	[f | some f in findings; f.resource == "Machines-2"][0] == {
		"resource": "Machines-2",
		"message": `deployment target Machines-2 ("machines-2") is enabled but no deployment to it completed in the 30 days before the period's end`,
		"evidence": ["octopus/machines/Machines-2"],
	}
}

test_days_come_from_settings if {
	d := doc
	findings := policy.findings with input as d with input.settings as {"unused_target_days": 60}
	{f.resource | some f in findings} == {"Machines-4"}
}
