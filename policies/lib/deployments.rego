# Which production deployments are in the audit period, and which cannot be placed.
package evidencekit.lib.deployments

import data.evidencekit.lib.util
import rego.v1

# Deployments to an environment the configuration names as production.
production[id] := deployment if {
	some id, deployment in input.octopus.deployments
	input.index.production_environment_ids[deployment.EnvironmentId]
}

# Production deployments whose task started in the period, with that task. A task
# with no StartTime never ran and is out of scope; failed tasks count. The period
# test is written out here rather than through util.in_period because this rule
# runs once per deployment and function calls dominate its cost at scale.
in_period[id] := {"deployment": deployment, "task": task} if {
	some id, deployment in input.octopus.deployments
	input.index.production_environment_ids[deployment.EnvironmentId]
	task := input.octopus.tasks[deployment.TaskId]
	start := task.StartTime
	is_string(start)
	input.period.start <= start
	start < input.period.end
}

# Production deployments whose task is not in the evidence, so when (and whether)
# they ran cannot be shown. Known limit: they are placed by their own Created or
# QueueTime, because the task's StartTime is unknown; one created and queued
# before the period whose task then started inside it is not reported here.
missing_task[id] := deployment if {
	some id, deployment in production
	not input.octopus.tasks[deployment.TaskId]
	may_be_in_period(deployment)
}

may_be_in_period(deployment) if util.in_period(deployment.Created)

may_be_in_period(deployment) if util.in_period(deployment.QueueTime)

may_be_in_period(deployment) if {
	not is_string(deployment.Created)
	not is_string(deployment.QueueTime)
}

# The _refs that place a deployment: the deployment, its task and its environment.
evidence(deployment, task) := util.refs([
	deployment,
	task,
	object.get(input.octopus.environments, object.get(deployment, "EnvironmentId", null), null),
])

# The label of a deployment's task for messages.
task_label(deployment) := deployment.TaskId if is_string(deployment.TaskId)

else := "(no TaskId)"
