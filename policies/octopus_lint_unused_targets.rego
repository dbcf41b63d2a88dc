# METADATA
# title: Octopus deployment targets are in use
# description: >-
#   Every enabled deployment target received a deployment that completed in the
#   configured number of days (default 30) before the period's end: a deployment
#   listing it in DeployedToMachineIds whose task has a CompletedTime in that span.
#   A target nobody deploys to is unmanaged attack surface that keeps its access.
# custom:
#   id: octopus-unused-targets
#   lint: OctoLintUnusedTargets
#   severity: low
#   controls: [iso27001-2022:A.8.9, iso27001-2022:A.5.9, soc2-2017:CC7.1]
#   requires: [octopus.machines, octopus.deployments, octopus.tasks]
package evidencekit.policies.octopus_unused_targets

import data.evidencekit.lib.octopus_lint as lint
import data.evidencekit.lib.util
import rego.v1

max_days := object.get(input.settings, "unused_target_days", 30)

in_scope[id] := machine if {
	some id, machine in input.octopus.machines
	lint.enabled(machine)
}

tested := count(in_scope)

# Targets of the deployments that completed in the span, found in one pass.
recently_used contains machine_id if {
	some deployment in input.octopus.deployments
	task := input.octopus.tasks[deployment.TaskId]
	lint.in_last_days(task.CompletedTime, max_days)
	some machine_id in deployment.DeployedToMachineIds
}

findings contains finding if {
	some id, machine in in_scope
	not recently_used[id]
	finding := {
		"resource": id,
		"message": sprintf(
			"deployment target %s is enabled but no deployment to it completed in the %v days before the period's end",
			[lint.label(machine), max_days],
		),
		"evidence": util.refs([machine]),
	}
}
