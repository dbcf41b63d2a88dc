# Unit tests for the octopus-unhealthy-targets policy.
package evidencekit.policies.octopus_unhealthy_targets_test

import data.evidencekit.policies.octopus_unhealthy_targets as policy
import rego.v1

machine(id, health, disabled) := {
	"Id": id, "Name": lower(id), "HealthStatus": health, "Status": "Offline",
	"IsDisabled": disabled, "_ref": sprintf("octopus/machines/%s", [id]),
}

doc := {"octopus": {"machines": {
	"Machines-1": machine("Machines-1", "Healthy", false),
	"Machines-2": machine("Machines-2", "Unavailable", false),
	"Machines-3": machine("Machines-3", "Unhealthy", true),
	"Machines-4": machine("Machines-4", "HasWarnings", false),
	"Machines-5": machine("Machines-5", "Unhealthy", null),
}}}

test_enabled_unhealthy_or_unavailable_targets_fail if {
	d := doc
	findings := policy.findings with input as d
	{f.resource | some f in findings} == {"Machines-2", "Machines-5"}
	[f | some f in findings; f.resource == "Machines-2"][0].message == `deployment target Machines-2 ("machines-2") is enabled but its health is Unavailable (status "Offline")`
}

test_disabled_targets_are_not_in_scope if {
	d := doc
	policy.tested == 4 with input as d
}
