# Unit tests for the segregation-of-duties policy.
package evidencekit.policies.segregation_of_duties_test

import data.evidencekit.lib.jsmlink_test as jt
import data.evidencekit.lib.testdata as td
import data.evidencekit.policies.segregation_of_duties as policy
import rego.v1

deployment_ref := "octopus/deployments/Deployments-7781"

task_ref := "octopus/tasks/ServerTasks-66120"

change_ref := sprintf("servicenow/change_request/%s", [td.change_37])

approval_ref := sprintf("servicenow/sysapproval_approver/%s", [td.approval_37])

deployed_by(user_id) := {"Deployments-7781": td.deployment("Deployments-7781", {"DeployedById": user_id})}

with_change(fields) := object.union(td.change_requests, {td.change_37: td.change(td.change_37, "CHG0031337", fields)})

test_separate_deployer_requester_and_approver_pass if {
	policy.findings == set() with input as td.doc
	policy.tested == 1 with input as td.doc
}

test_deployments_without_a_change_in_evidence_are_not_examined if {
	policy.tested == 0 with input as td.doc with input.servicenow.change_request as {}
	policy.findings == set() with input as td.doc with input.servicenow.change_request as {}
}

test_deployer_who_requested_the_change_fails if {
	findings := policy.findings with input as td.doc
		with input.servicenow.change_request as with_change({"requested_by": td.sys_user_ng})
	findings == {{
		"resource": "Deployments-7781",
		"message": "deployment Deployments-7781 was queued by Users-212 (a.ng@acme-payments.example), who also requested change CHG0031337",
		"evidence": [
			deployment_ref, task_ref, "octopus/users/Users-212", change_ref,
			sprintf("servicenow/sys_user/%s", [td.sys_user_ng]),
		],
	}}
}

test_email_match_ignores_case if {
	emails := object.union(td.index.octopus_user_email, {"Users-212": "A.NG@Acme-Payments.example"})
	finding := td.only(policy.findings, "Deployments-7781") with input as td.doc
		with input.index.octopus_user_email as emails
		with input.servicenow.change_request as with_change({"requested_by": td.sys_user_ng})
	contains(finding.message, "who also requested change CHG0031337")
}

test_deployer_who_approved_the_change_fails if {
	findings := policy.findings with input as td.doc with input.octopus.deployments as deployed_by("Users-305")
	findings == {{
		"resource": "Deployments-7781",
		"message": sprintf("deployment Deployments-7781 was queued by Users-305 (b.osei@acme-payments.example), who also approved change CHG0031337 (approval %s)", [td.approval_37]),
		"evidence": [
			deployment_ref, task_ref, "octopus/users/Users-305", change_ref,
			approval_ref, sprintf("servicenow/sys_user/%s", [td.sys_user_osei]),
		],
	}}
}

test_rejected_or_pending_approvals_do_not_count if {
	rejected := {td.approval_37: td.approver_record(td.approval_37, td.change_37, td.sys_user_osei, "rejected")}
	policy.findings == set() with input as td.doc
		with input.octopus.deployments as deployed_by("Users-305")
		with input.servicenow.sysapproval_approver as rejected
	requested := {td.approval_37: td.approver_record(td.approval_37, td.change_37, td.sys_user_osei, "requested")}
	policy.findings == set() with input as td.doc
		with input.octopus.deployments as deployed_by("Users-305")
		with input.servicenow.sysapproval_approver as requested
}

test_requester_and_approver_conflicts_share_one_finding if {
	finding := td.only(policy.findings, "Deployments-7781") with input as td.doc
		with input.octopus.deployments as deployed_by("Users-305")
		with input.servicenow.change_request as with_change({"requested_by": td.sys_user_osei})
	td.mentions(finding.message, ["who also requested change CHG0031337; deployment Deployments-7781", "who also approved change CHG0031337"])
}

test_deployer_without_email_fails if {
	finding := td.only(policy.findings, "Deployments-7781") with input as td.doc
		with input.octopus.deployments as deployed_by("Users-377")
	finding.message == "deployment Deployments-7781 was queued by Users-377, who has no e-mail address in the Octopus evidence, so segregation from the requester and approvers of change CHG0031337 cannot be shown"
	finding.evidence == [deployment_ref, task_ref, "octopus/users/Users-377", change_ref]
}

test_deployment_without_deployer_fails if {
	finding := td.only(policy.findings, "Deployments-7781") with input as td.doc
		with input.octopus.deployments as deployed_by(null)
	contains(finding.message, "was queued by a user the evidence does not name (DeployedById is empty)")
}

test_change_without_requester_fails if {
	finding := td.only(policy.findings, "Deployments-7781") with input as td.doc
		with input.servicenow.change_request as with_change({"requested_by": null})
	finding.message == "change CHG0031337 has no requester (requested_by is empty), so the requester cannot be shown to differ from the deployer Users-212 (a.ng@acme-payments.example)"
}

test_requester_without_email_fails if {
	unknown := "ffffeeeeddddccccbbbbaaaa99998888"
	finding := td.only(policy.findings, "Deployments-7781") with input as td.doc
		with input.servicenow.change_request as with_change({"requested_by": unknown})
	contains(finding.message, sprintf("the requester %s of change CHG0031337 has no e-mail address in the ServiceNow evidence", [unknown]))
}

test_approver_without_email_fails if {
	emails := object.remove(td.index.servicenow_user_email, [td.sys_user_osei])
	finding := td.only(policy.findings, "Deployments-7781") with input as td.doc
		with input.index.servicenow_user_email as emails
	finding.message == sprintf("the approver %s (approval %s) of change CHG0031337 has no e-mail address in the ServiceNow evidence, so it cannot be shown to differ from the deployer Users-212 (a.ng@acme-payments.example)", [td.sys_user_osei, td.approval_37])
	approval_ref in finding.evidence
}

test_deployment_record_without_deployer_field_still_fails if {
	bare := {"Deployments-7781": object.remove(td.deployment("Deployments-7781", {}), ["DeployedById"])}
	finding := td.only(policy.findings, "Deployments-7781") with input as td.doc
		with input.octopus.deployments as bare
	contains(finding.message, "(DeployedById is empty), who has no e-mail address in the Octopus evidence")
	finding.evidence == [deployment_ref, task_ref, change_ref]
}

# A deployment that names only a JSM request is left to jsm-change-approval: it is
# neither examined nor reported as unlinked here. (Releases are bound before
# jt.doc; see change_approval_test.rego for the regorus quirk.)
test_deployment_naming_only_a_jsm_request_is_not_reported if {
	releases := jt.releases("Adds SEPA instant payouts. Change: OPS-812.")
	d := jt.doc
	findings := policy.findings with input as d
		with input.index.task_approval_by_task as {}
		with input.index.changes_by_short_description as {}
		with input.octopus.releases as releases
	findings == set()
	tested := policy.tested with input as d
		with input.index.task_approval_by_task as {}
		with input.index.changes_by_short_description as {}
		with input.octopus.releases as releases
	tested == 0
}
