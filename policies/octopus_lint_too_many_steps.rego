# METADATA
# title: Octopus deployment processes stay reviewable
# description: >-
#   No Octopus deployment process has the configured number of steps (default 20)
#   or more. A very long process is hard to review as a change and tends to hide
#   copies of steps that belong in a shared template.
# custom:
#   id: octopus-too-many-steps
#   lint: OctoLintTooManySteps
#   severity: low
#   controls: [iso27001-2022:A.8.9, soc2-2017:CC7.1]
#   requires: [octopus.deploymentprocesses]
package evidencekit.policies.octopus_too_many_steps

import data.evidencekit.lib.octopus_lint as lint
import data.evidencekit.lib.util
import rego.v1

max_steps := object.get(input.settings, "max_deployment_steps", 20)

in_scope[id] := process if {
	some id, process in input.octopus.deploymentprocesses
	is_number(process.StepCount)
}

tested := count(in_scope)

findings contains finding if {
	some id, process in in_scope
	process.StepCount >= max_steps
	project := object.get(input.octopus.projects, object.get(process, "ProjectId", ""), null)
	finding := {
		"resource": id,
		"message": sprintf("deployment process %s of project %s has %v steps, the limit is fewer than %v", [
			id, project_text(process, project), process.StepCount, max_steps,
		]),
		"evidence": util.refs([process, project]),
	}
}

project_text(process, project) := lint.label(project) if {
	project != null
} else := util.show(object.get(process, "ProjectId", null))
