# Unit tests for the octopus-too-many-steps policy.
package evidencekit.policies.octopus_too_many_steps_test

import data.evidencekit.policies.octopus_too_many_steps as policy
import rego.v1

process(id, project_id, steps) := {
	"Id": id, "ProjectId": project_id, "StepCount": steps,
	"_ref": sprintf("octopus/deploymentprocesses/%s", [id]),
}

doc := {
	"settings": {},
	"octopus": {
		"projects": {"Projects-1": {"Id": "Projects-1", "Name": "ledger", "_ref": "octopus/projects/Projects-1"}},
		"deploymentprocesses": {
			"deploymentprocess-Projects-1": process("deploymentprocess-Projects-1", "Projects-1", 20),
			"deploymentprocess-Projects-2": process("deploymentprocess-Projects-2", "Projects-2", 19),
			"deploymentprocess-Projects-3": process("deploymentprocess-Projects-3", "Projects-3", null),
		},
	},
}

test_twenty_steps_fail_and_nineteen_pass if {
	d := doc
	findings := policy.findings with input as d
	findings == {{
		"resource": "deploymentprocess-Projects-1",
		"message": `deployment process deploymentprocess-Projects-1 of project Projects-1 ("ledger") has 20 steps, the limit is fewer than 20`,
		"evidence": ["octopus/deploymentprocesses/deploymentprocess-Projects-1", "octopus/projects/Projects-1"],
	}}
	policy.tested == 2 with input as d
}

test_limit_comes_from_settings_and_a_missing_project_is_named_by_id if {
	d := doc
	findings := policy.findings with input as d with input.settings as {"max_deployment_steps": 19}
	[f | some f in findings; f.resource == "deploymentprocess-Projects-2"][0].message == `deployment process deploymentprocess-Projects-2 of project "Projects-2" has 19 steps, the limit is fewer than 19`
}
