# Unit tests for the octopus-empty-projects policy.
package evidencekit.policies.octopus_empty_projects_test

import data.evidencekit.policies.octopus_empty_projects as policy
import rego.v1

project(id) := {"Id": id, "Name": lower(id), "_ref": sprintf("octopus/projects/%s", [id])}

process(project_id, steps) := {
	"Id": sprintf("deploymentprocess-%s", [project_id]), "ProjectId": project_id, "StepCount": steps,
	"_ref": sprintf("octopus/deploymentprocesses/deploymentprocess-%s", [project_id]),
}

doc := {"octopus": {
	"projects": {
		"Projects-1": project("Projects-1"),
		"Projects-2": project("Projects-2"),
		"Projects-3": project("Projects-3"),
		"Projects-4": project("Projects-4"),
	},
	"deploymentprocesses": {
		"deploymentprocess-Projects-1": process("Projects-1", 4),
		"deploymentprocess-Projects-2": process("Projects-2", 0),
		"deploymentprocess-Projects-3": process("Projects-3", 0),
	},
	"runbooks": {"Runbooks-1": {"Id": "Runbooks-1", "ProjectId": "Projects-3"}},
}}

test_projects_with_steps_or_runbooks_pass if {
	d := doc
	findings := policy.findings with input as d
	{f.resource | some f in findings} == {"Projects-2", "Projects-4"}
	policy.tested == 4 with input as d
}

test_messages_say_what_is_missing if {
	d := doc
	findings := policy.findings with input as d
	[f | some f in findings; f.resource == "Projects-2"][0] == {
		"resource": "Projects-2",
		"message": `project Projects-2 ("projects-2") has no runbook and its deployment process has no steps`,
		"evidence": ["octopus/projects/Projects-2", "octopus/deploymentprocesses/deploymentprocess-Projects-2"],
	}
	[f | some f in findings; f.resource == "Projects-4"][0].message == `project Projects-4 ("projects-4") has no runbook and its deployment process is not in the evidence, so it cannot be shown to have steps`
}
