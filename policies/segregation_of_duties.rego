# METADATA
# title: Deployers neither requested nor approved their change
# description: >-
#   For each production deployment in the audit period that is linked to a change
#   request in the evidence, the Octopus user who queued it is neither the change's
#   requester nor one of its approvers whose approval is "approved", compared by
#   e-mail address. A deployer, requester or approver whose e-mail address is not in
#   the evidence fails, because the separation cannot be shown.
# custom:
#   id: segregation-of-duties
#   severity: high
#   controls: [iso27001-2022:A.5.3, soc2-2017:CC8.1, soc2-2017:CC6.3]
#   requires: [octopus.deployments, octopus.tasks, octopus.releases, octopus.projects,
#              octopus.environments, octopus.users, servicenow.change_request,
#              servicenow.sysapproval_approver, servicenow.sys_user]
package evidencekit.policies.segregation_of_duties

import data.evidencekit.lib.changelink
import data.evidencekit.lib.deployments
import data.evidencekit.lib.util
import rego.v1

tested := count(changelink.changes)

findings contains finding if {
	some id, change in changelink.changes
	entry := deployments.in_period[id]
	checks := conflicts(id, entry.deployment, change)
	count(checks) > 0
	finding := {
		"resource": id,
		"message": concat("; ", [check.message | some check in checks]),
		"evidence": array.concat(
			util.refs([
				entry.deployment, entry.task,
				object.get(input.octopus.users, object.get(entry.deployment, "DeployedById", null), null),
				change,
			]),
			[ref | some check in checks; some ref in check.evidence],
		),
	}
}

# Each conflict, or gap that hides one, as {"message", "evidence"}.
conflicts(id, deployment, change) := [{"message": msg, "evidence": []}] if {
	not octopus_email(deployment.DeployedById)
	msg := sprintf(
		"deployment %s was queued by %s, who has no e-mail address in the Octopus evidence, so segregation from the requester and approvers of change %s cannot be shown",
		[id, queued_by(deployment), changelink.label(change)],
	)
} else := array.concat(requester(id, deployment, change), approvers(id, deployment, change))

queued_by(deployment) := deployment.DeployedById if {
	is_string(deployment.DeployedById)
} else := "a user the evidence does not name (DeployedById is empty)"

# E-mail addresses from the indexes, lower-cased again so the match never depends
# on how the index was built.
octopus_email(user_id) := lower(email) if {
	email := input.index.octopus_user_email[user_id]
	is_string(email)
}

servicenow_email(sys_id) := lower(email) if {
	email := input.index.servicenow_user_email[sys_id]
	is_string(email)
}

# The deployer with their address; only used once that address is known.
deployer(deployment) := sprintf("%s (%s)", [
	deployment.DeployedById,
	octopus_email(deployment.DeployedById),
])

requester(id, deployment, change) := [] if {
	email := servicenow_email(change.requested_by)
	email != octopus_email(deployment.DeployedById)
} else := [{"message": msg, "evidence": evidence}] if {
	servicenow_email(change.requested_by)
	msg := sprintf(
		"deployment %s was queued by %s, who also requested change %s",
		[id, deployer(deployment), changelink.label(change)],
	)
	evidence := util.refs([object.get(input.servicenow.sys_user, change.requested_by, null)])
} else := [{"message": msg, "evidence": []}] if {
	not is_string(change.requested_by)
	msg := sprintf(
		"change %s has no requester (requested_by is empty), so the requester cannot be shown to differ from the deployer %s",
		[changelink.label(change), deployer(deployment)],
	)
} else := [{"message": msg, "evidence": []}] if {
	msg := sprintf(
		"the requester %s of change %s has no e-mail address in the ServiceNow evidence, so it cannot be shown to differ from the deployer %s",
		[change.requested_by, changelink.label(change), deployer(deployment)],
	)
}

# The approvals of the change whose state is "approved".
approved(id) := [record |
	change_id := changelink.links[id].change_id
	some approval_id in object.get(input.index.approvals_by_change, change_id, [])
	record := input.servicenow.sysapproval_approver[approval_id]
	record.state == "approved"
]

approvers(id, deployment, change) := [check |
	some record in approved(id)
	check := approver_check(id, deployment, change, record)
]

approver_check(id, deployment, change, record) := {"message": msg, "evidence": evidence} if {
	email := servicenow_email(record.approver)
	email == octopus_email(deployment.DeployedById)
	msg := sprintf(
		"deployment %s was queued by %s, who also approved change %s (approval %s)",
		[id, deployer(deployment), changelink.label(change), object.get(record, "sys_id", null)],
	)
	evidence := util.refs([record, object.get(input.servicenow.sys_user, record.approver, null)])
} else := {"message": msg, "evidence": util.refs([record])} if {
	not servicenow_email(record.approver)
	msg := sprintf(
		"the approver %s (approval %s) of change %s has no e-mail address in the ServiceNow evidence, so it cannot be shown to differ from the deployer %s",
		[
			approver_label(record), object.get(record, "sys_id", null),
			changelink.label(change), deployer(deployment),
		],
	)
}

approver_label(record) := record.approver if {
	is_string(record.approver)
} else := "(approver is empty)"
