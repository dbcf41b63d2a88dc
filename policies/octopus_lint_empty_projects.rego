# METADATA
# title: Octopus projects have a deployment process or runbooks
# description: >-
#   Every Octopus project has a deployment process with at least one step, or at
#   least one runbook. An empty project is configuration nobody maintains. A project
#   whose deployment process is not in the evidence (version-controlled projects
#   keep it in Git) and that has no runbook fails, because it cannot be shown to
#   be in use.
# custom:
#   id: octopus-empty-projects
#   lint: OctoLintEmptyProject
#   severity: low
#   controls: [iso27001-2022:A.8.9, soc2-2017:CC7.1]
#   requires: [octopus.projects, octopus.deploymentprocesses, octopus.runbooks]
package evidencekit.policies.octopus_empty_projects

import data.evidencekit.lib.octopus_lint as lint
import data.evidencekit.lib.util
import rego.v1

tested := count(input.octopus.projects)

with_runbooks := {runbook.ProjectId | some runbook in input.octopus.runbooks}

with_steps := {process.ProjectId |
	some process in input.octopus.deploymentprocesses
	process.StepCount > 0
}

findings contains finding if {
	some id, project in input.octopus.projects
	not with_runbooks[id]
	not with_steps[id]
	processes := [process |
		some process in input.octopus.deploymentprocesses
		process.ProjectId == id
	]
	finding := {
		"resource": id,
		"message": sprintf("project %s has no runbook and %s", [lint.label(project), process_text(processes)]),
		"evidence": util.refs(array.concat([project], processes)),
	}
}

process_text(processes) := "its deployment process is not in the evidence, so it cannot be shown to have steps" if {
	count(processes) == 0
} else := "its deployment process has no steps"
