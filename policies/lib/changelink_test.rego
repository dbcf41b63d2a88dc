# Unit tests for linking production deployments to change requests.
package evidencekit.lib.changelink_test

import data.evidencekit.lib.changelink
import data.evidencekit.lib.jsmlink_test as jt
import data.evidencekit.lib.testdata as td
import rego.v1

form := "Octopus.ServiceNow.ChangeRequest.Number"

# A deployment with no server task approval (its task has none in the index).
unapproved(fields) := {"Deployments-7781": td.deployment("Deployments-7781", fields)}

test_server_task_approval_wins_over_every_other_source if {
	link := changelink.links["Deployments-7781"] with input as td.doc
		with input.octopus.deployments as unapproved({"FormValues": {form: "CHG0031340"}, "Comments": "CHG0031340"})
	link == {
		"method": "servertaskapproval", "number": "CHG0031337", "change_id": td.change_37,
		"evidence": ["octopus/servertaskapprovals/ServerTaskApprovals-55"],
	}
}

test_approval_without_number_falls_through_to_form_value if {
	approval := td.approval("ServerTaskApprovals-55", "ServerTasks-66120", null)
	link := changelink.links["Deployments-7781"] with input as td.doc
		with input.octopus.servertaskapprovals as {"ServerTaskApprovals-55": approval}
		with input.octopus.deployments as unapproved({"FormValues": {form: "CHG0031340"}})
	link.method == "form_value"
	link.number == "CHG0031340"
	link.change_id == td.change_40
}

test_form_value_wins_over_comments if {
	link := changelink.links["Deployments-7781"] with input as td.doc
		with input.index.task_approval_by_task as {}
		with input.octopus.deployments as unapproved({"FormValues": {form: " CHG0031340 "}, "Comments": "CHG0031337"})
	link.method == "form_value"
	link.number == "CHG0031340"
}

test_blank_form_value_is_ignored if {
	link := changelink.links["Deployments-7781"] with input as td.doc
		with input.index.task_approval_by_task as {}
		with input.octopus.deployments as unapproved({"FormValues": {form: ""}, "Comments": "Approved in CHG0031340."})
	link.method == "comments"
	link.number == "CHG0031340"
}

test_comments_win_over_release_notes_and_first_match_is_taken if {
	link := changelink.links["Deployments-7781"] with input as td.doc
		with input.index.task_approval_by_task as {}
		with input.octopus.deployments as unapproved({
			"ReleaseId": "Releases-3310",
			"Comments": "Per (CHG0031337), follow-up CHG0031340",
		})
	link == {"method": "comments", "number": "CHG0031337", "change_id": td.change_37, "evidence": []}
}

test_release_notes_are_read_when_comments_name_no_change if {
	link := changelink.links["Deployments-7781"] with input as td.doc
		with input.index.task_approval_by_task as {}
		with input.octopus.deployments as unapproved({"ReleaseId": "Releases-3310", "Comments": "hotfix"})
	link == {
		"method": "release_notes", "number": "CHG0031340", "change_id": td.change_40,
		"evidence": ["octopus/releases/Releases-3310"],
	}
}

test_change_numbers_must_be_word_bounded_with_seven_digits if {
	not changelink.first_number("see CHG00313370")
	not changelink.first_number("see xCHG0031337")
	not changelink.first_number("see CHG0031337x")
	not changelink.first_number("see CHG003133")
	not changelink.first_number("see chg0031337")
	not changelink.first_number(null)
	changelink.first_number("CHG0031337") == "CHG0031337"
	changelink.first_number("ticket:CHG0031337.") == "CHG0031337"
}

test_short_description_is_the_last_resort if {
	link := changelink.links["Deployments-7781"] with input as td.doc
		with input.index.task_approval_by_task as {}
	link == {
		"method": "short_description", "number": "CHG0031337", "change_id": td.change_37,
		"evidence": [
			"octopus/projects/Projects-41",
			"octopus/releases/Releases-3302",
			"octopus/environments/Environments-3",
		],
	}
}

test_short_description_takes_first_sorted_sys_id if {
	other := "0f0e0d0c0b0a09080706050403020100"
	third := "fedcba98765432100123456789abcdef"
	changes := object.union(td.change_requests, {
		other: td.change(other, "CHG0031299", {}),
		third: td.change(third, "CHG0031301", {}),
	})
	titles := {td.title_37: [td.change_37, other, third]}
	link := changelink.links["Deployments-7781"] with input as td.doc
		with input.index.task_approval_by_task as {}
		with input.servicenow.change_request as changes
		with input.index.changes_by_short_description as titles
	link.change_id == other
	link.number == "CHG0031299"
}

test_short_description_must_match_exactly if {
	link := changelink.links["Deployments-7781"] with input as td.doc
		with input.index.task_approval_by_task as {}
		with input.index.changes_by_short_description as {`Octopus: Deploy "payments-api" version 4.2.0 to "production"`: [td.change_37]}
	link == {"method": "none", "number": null, "change_id": null, "evidence": []}
	msg := changelink.failure("Deployments-7781", td.deployment("Deployments-7781", {}), link) with input as td.doc
	contains(msg, "deployment Deployments-7781 is not linked to a change request")
	contains(msg, `no change titled 'Octopus: Deploy "payments-api" version 4.2.0 to "Production"'`)
}

test_unknown_change_number_is_a_failed_link_not_a_fallback if {
	link := changelink.links["Deployments-7781"] with input as td.doc
		with input.index.task_approval_by_task as {}
		with input.octopus.deployments as unapproved({"FormValues": {form: "CHG0001234"}})
	link.method == "form_value"
	link.number == "CHG0001234"
	link.change_id == null
	msg := changelink.failure("Deployments-7781", td.deployment("Deployments-7781", {}), link)
	msg == "deployment Deployments-7781 names CHG0001234, which is not in the ServiceNow evidence (number taken from the prompted variable Octopus.ServiceNow.ChangeRequest.Number)"
	not changelink.changes["Deployments-7781"] with input as td.doc
		with input.index.task_approval_by_task as {}
		with input.octopus.deployments as unapproved({"FormValues": {form: "CHG0001234"}})
}

test_number_indexed_but_record_missing_is_not_found if {
	link := changelink.links["Deployments-7781"] with input as td.doc
		with input.servicenow.change_request as {}
	link.number == "CHG0031337"
	link.change_id == null
}

test_missing_project_leaves_title_unknown if {
	link := changelink.links["Deployments-7781"] with input as td.doc
		with input.index.task_approval_by_task as {}
		with input.octopus.projects as {}
	link.method == "none"
	msg := changelink.failure("Deployments-7781", td.deployment("Deployments-7781", {}), link) with input.octopus.projects as {}
	contains(msg, "(its project, release or environment is not in the evidence)")
}

test_linked_change_and_grouping_by_change if {
	second := td.deployment("Deployments-7782", {"TaskId": "ServerTasks-66121", "Comments": "CHG0031337"})
	grouped := changelink.deployments_by_change with input as td.doc
		with input.octopus.deployments as object.union(td.deployments, {"Deployments-7782": second})
		with input.octopus.tasks as object.union(td.tasks, {"ServerTasks-66121": td.task("ServerTasks-66121", {})})
	grouped == {td.change_37: {"Deployments-7781", "Deployments-7782"}}
	change := changelink.changes["Deployments-7781"] with input as td.doc
	change.number == "CHG0031337"
}

test_label_falls_back_to_sys_id if {
	changelink.label({"number": null, "sys_id": td.change_37}) == td.change_37
	changelink.label({"number": "CHG0031337", "sys_id": td.change_37}) == "CHG0031337"
}

# A deployment that names no ServiceNow change but whose release notes name the JSM
# request OPS-812 is left to jsm-change-approval. (Releases are bound before jt.doc;
# see change_approval_test.rego for the regorus quirk.)
test_deployment_naming_only_a_jsm_request_is_judged_by_jsm if {
	releases := jt.releases("Adds SEPA instant payouts. Change: OPS-812.")
	d := jt.doc
	judged := changelink.judged_by_jsm with input as d
		with input.index.task_approval_by_task as {}
		with input.index.changes_by_short_description as {}
		with input.octopus.releases as releases
	judged == {"Deployments-7781"}
}

test_deployment_naming_a_change_is_not_left_to_jsm if {
	# The server task approval names CHG0031337 and the release notes OPS-812: the
	# jsmlink entry exists, but the change link keeps the deployment here.
	releases := jt.releases("Adds SEPA instant payouts. Change: OPS-812.")
	d := jt.doc
	stas := jt.servertaskapprovals("CHG0031337")
	judged := changelink.judged_by_jsm with input as d
		with input.octopus.servertaskapprovals as stas
		with input.octopus.releases as releases
	judged == set()
}

test_unlinked_deployment_without_a_jsm_request_is_not_left_to_jsm if {
	releases := jt.releases("Adds SEPA instant payouts.")
	d := jt.doc
	judged := changelink.judged_by_jsm with input as d
		with input.index.task_approval_by_task as {}
		with input.index.changes_by_short_description as {}
		with input.octopus.releases as releases
	judged == set()
}
