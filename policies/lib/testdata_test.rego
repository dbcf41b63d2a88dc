# Realistic evidence fixtures for the policy unit tests (test-only, not shipped).
#
# `doc` is one complete input document, shaped as docs/data-model.md section 2
# describes, in which every policy passes. Each test changes only what it is about
# with `with input.<path> as ...`, using the record builders below, and keeps the
# matching index entries consistent with the records it changes.
#
# Known quirk of the regorus build in use: in an expression that carries
# `with input as td.doc`, a reference to one of this package's values (not its
# functions), such as td.change_40, evaluates as undefined. Bind such values to a
# variable before the `with` expression, or evaluate the policy first and inspect
# the result in a separate expression.
package evidencekit.lib.testdata

import rego.v1

# --- record builders: the system's own fields plus _ref and _file ---------------

octopus(resource, id, fields) := object.union(fields, {
	"Id": id,
	"_ref": sprintf("octopus/%s/%s", [resource, id]),
	"_file": sprintf("%s.json", [resource]),
})

servicenow(table, sys_id, fields) := object.union(fields, {
	"sys_id": sys_id,
	"_ref": sprintf("servicenow/%s/%s", [table, sys_id]),
	"_file": sprintf("%s.json", [table]),
})

octopus_ref(resource, id) := sprintf("octopus/%s/%s", [resource, id])

servicenow_ref(table, sys_id) := sprintf("servicenow/%s/%s", [table, sys_id])

# --- the audit period: Q3 2026 in UTC -------------------------------------------

period := {
	"start": "2026-07-01T00:00:00.000000Z",
	"end": "2026-10-01T00:00:00.000000Z",
	"timezone": "UTC",
	"months": [
		{"month": "2026-07", "start": "2026-07-01T00:00:00.000000Z", "end": "2026-08-01T00:00:00.000000Z"},
		{"month": "2026-08", "start": "2026-08-01T00:00:00.000000Z", "end": "2026-09-01T00:00:00.000000Z"},
		{"month": "2026-09", "start": "2026-09-01T00:00:00.000000Z", "end": "2026-10-01T00:00:00.000000Z"},
	],
}

settings := {
	"privileged_allowlist": ["octoadmin", "ciso@acme-payments.example", "users-42"],
	"api_key_max_days": 365,
	"inactivity_days": 90,
	"backup_runbooks": ["Nightly database backup"],
	"emergency_review_days": 5,
}

# --- Octopus ---------------------------------------------------------------------

environments := {
	"Environments-1": octopus("environments", "Environments-1", {"Name": "Development", "Slug": "development", "SpaceId": "Spaces-1"}),
	"Environments-2": octopus("environments", "Environments-2", {"Name": "Staging", "Slug": "staging", "SpaceId": "Spaces-1"}),
	"Environments-3": octopus("environments", "Environments-3", {"Name": "Production", "Slug": "production", "SpaceId": "Spaces-1"}),
}

projects := {
	"Projects-41": octopus("projects", "Projects-41", {"Name": "payments-api", "Slug": "payments-api", "SpaceId": "Spaces-1"}),
	"Projects-42": octopus("projects", "Projects-42", {"Name": "ledger-service", "Slug": "ledger-service", "SpaceId": "Spaces-1"}),
}

releases := {
	"Releases-3302": release("Releases-3302", "Projects-41", "4.2.0", "Adds SEPA instant payouts."),
	"Releases-3310": release("Releases-3310", "Projects-42", "1.9.0", "Rounding fix for FX ledger entries, see CHG0031340."),
}

release(id, project_id, version, notes) := octopus("releases", id, {
	"Version": version, "ProjectId": project_id, "ChannelId": "Channels-41",
	"Assembled": "2026-07-14T16:20:00.000000Z", "ReleaseNotes": notes,
	"IgnoreChannelRules": false, "SpaceId": "Spaces-1",
})

# A production deployment of payments-api 4.2.0 by a.ng; fields override.
deployment(id, fields) := octopus("deployments", id, object.union(
	{
		"Name": "Deploy to Production", "ProjectId": "Projects-41",
		"ReleaseId": "Releases-3302", "EnvironmentId": "Environments-3",
		"ChannelId": "Channels-41", "TenantId": null, "TaskId": "ServerTasks-66120",
		"DeployedBy": "a.ng", "DeployedById": "Users-212",
		"Created": "2026-07-15T08:58:02.101000Z", "QueueTime": null, "Comments": null,
		"FormValues": {}, "FailureEncountered": false, "SkipActions": [],
		"SpaceId": "Spaces-1",
	},
	fields,
))

# A successful deployment task inside the change window; fields override.
task(id, fields) := octopus("tasks", id, object.union(
	{
		"Name": "Deploy", "Description": "Deploy payments-api release 4.2.0 to Production",
		"State": "Success", "QueueTime": "2026-07-15T08:58:02.200000Z",
		"StartTime": "2026-07-15T09:01:40.000000Z",
		"CompletedTime": "2026-07-15T09:04:11.300000Z",
		"FinishedSuccessfully": true, "IsCompleted": true, "ErrorMessage": null,
		"SpaceId": "Spaces-1",
	},
	fields,
))

failed_task(id, fields) := task(id, object.union(
	{
		"State": "Failed", "FinishedSuccessfully": false,
		"ErrorMessage": "The deployment failed because one or more steps failed.",
	},
	fields,
))

deployments := {"Deployments-7781": deployment("Deployments-7781", {})}

tasks := object.union(
	{"ServerTasks-66120": task("ServerTasks-66120", {})},
	runbook_tasks,
)

servertaskapprovals := {"ServerTaskApprovals-55": approval("ServerTaskApprovals-55", "ServerTasks-66120", "CHG0031337")}

approval(id, task_id, number) := octopus("servertaskapprovals", id, {
	"ServerTaskId": task_id, "SpaceId": "Spaces-1", "ApprovalProviderId": "servicenow",
	"Name": "Deploy payments-api 4.2.0 to Production",
	"ChangeRequest": {
		"Id": change_37, "Number": number, "Active": true, "Type": "normal",
		"Description": `Octopus: Deploy "payments-api" version 4.2.0 to "Production"`,
		"ChangeRequestApprovalState": "Approved",
	},
})

user(id, username, email, fields) := octopus("users", id, object.union(
	{
		"Username": username, "DisplayName": username, "EmailAddress": email,
		"IsActive": true, "IsService": false, "IsRequestor": false, "Identities": [],
	},
	fields,
))

users := {
	"Users-1": user("Users-1", "octoadmin", "octoadmin@acme-payments.example", {}),
	"Users-212": user("Users-212", "a.ng", "A.Ng@acme-payments.example", {}),
	"Users-305": user("Users-305", "b.osei", "b.osei@acme-payments.example", {}),
	"Users-377": user("Users-377", "svc-ci", null, {"IsService": true}),
	"Users-90": user("Users-90", "c.ruiz", "c.ruiz@acme-payments.example", {"IsActive": false}),
}

team(id, name, space_id, members) := octopus("teams", id, {
	"Name": name, "SpaceId": space_id, "MemberUserIds": members,
	"ExternalSecurityGroups": [], "CanBeDeleted": true,
})

teams := {
	"Teams-1": team("Teams-1", "Octopus Administrators", null, ["Users-1"]),
	"Teams-12": team("Teams-12", "prod-deployers", "Spaces-1", ["Users-212", "Users-377"]),
	"Teams-14": team("Teams-14", "change-approvers", "Spaces-1", ["Users-305"]),
}

userroles := {
	"userroles-systemadministrator": octopus("userroles", "userroles-systemadministrator", {
		"Name": "System administrator",
		"GrantedSystemPermissions": ["AdministerSystem", "ConfigureServer", "EventView", "TeamEdit", "UserEdit", "UserRoleEdit"],
		"GrantedSpacePermissions": [],
	}),
	"userroles-deploymentcreator": octopus("userroles", "userroles-deploymentcreator", {
		"Name": "Deployment creator",
		"GrantedSystemPermissions": [],
		"GrantedSpacePermissions": ["DeploymentCreate", "DeploymentView", "EnvironmentView", "ProjectView", "ReleaseView", "TaskView"],
	}),
	"userroles-projectviewer": octopus("userroles", "userroles-projectviewer", {
		"Name": "Project viewer",
		"GrantedSystemPermissions": [],
		"GrantedSpacePermissions": ["ProjectView", "ReleaseView", "TaskView"],
	}),
}

scoped_role(id, team_id, role_id, space_id, environment_ids) := octopus("scopeduserroles", id, {
	"TeamId": team_id, "UserRoleId": role_id, "SpaceId": space_id,
	"EnvironmentIds": environment_ids, "ProjectIds": [], "ProjectGroupIds": [], "TenantIds": [],
})

scopeduserroles := {
	"ScopedUserRoles-1": scoped_role("ScopedUserRoles-1", "Teams-1", "userroles-systemadministrator", null, []),
	"ScopedUserRoles-88": scoped_role("ScopedUserRoles-88", "Teams-12", "userroles-deploymentcreator", "Spaces-1", ["Environments-3"]),
	"ScopedUserRoles-90": scoped_role("ScopedUserRoles-90", "Teams-14", "userroles-projectviewer", "Spaces-1", []),
}

api_key(id, user_id, created, expires) := octopus("apikeys", id, {
	"Purpose": "ci pipeline", "UserId": user_id, "Created": created, "Expires": expires,
})

apikeys := {
	# 364 days: inside the 365-day maximum.
	"APIKeys-501": api_key("APIKeys-501", "Users-377", "2026-02-01T09:00:00.000000Z", "2027-01-31T09:00:00.000000Z"),
	# Never expires, but its user is inactive, so it is out of scope.
	"APIKeys-502": api_key("APIKeys-502", "Users-90", "2024-05-02T10:00:00.000000Z", null),
}

runbooks := {
	"Runbooks-7": octopus("runbooks", "Runbooks-7", {"Name": "Nightly database backup", "ProjectId": "Projects-42", "SpaceId": "Spaces-1"}),
	"Runbooks-8": octopus("runbooks", "Runbooks-8", {"Name": "Rotate certificates", "ProjectId": "Projects-41", "SpaceId": "Spaces-1"}),
}

runbook_run(id, runbook_id, task_id) := octopus("runbookruns", id, {
	"Name": "Run", "RunbookId": runbook_id, "ProjectId": "Projects-42",
	"EnvironmentId": "Environments-3", "TaskId": task_id,
	"Created": "2026-07-02T01:00:00.000000Z", "DeployedBy": "svc-ci",
	"DeployedById": "Users-377", "SpaceId": "Spaces-1",
})

runbookruns := {
	"RunbookRuns-1001": runbook_run("RunbookRuns-1001", "Runbooks-7", "ServerTasks-70001"),
	"RunbookRuns-1002": runbook_run("RunbookRuns-1002", "Runbooks-7", "ServerTasks-70002"),
	"RunbookRuns-1003": runbook_run("RunbookRuns-1003", "Runbooks-7", "ServerTasks-70003"),
}

runbook_task(id, start) := task(id, {
	"Name": "RunbookRun", "Description": "Run Nightly database backup",
	"QueueTime": start, "StartTime": start, "CompletedTime": start,
})

runbook_tasks := {
	"ServerTasks-70001": runbook_task("ServerTasks-70001", "2026-07-02T01:00:05.000000Z"),
	"ServerTasks-70002": runbook_task("ServerTasks-70002", "2026-08-02T01:00:04.000000Z"),
	"ServerTasks-70003": runbook_task("ServerTasks-70003", "2026-09-02T01:00:06.000000Z"),
}

# --- ServiceNow --------------------------------------------------------------------

change_37 := "a1b2c3d4e5f60718293a4b5c6d7e8f90"

change_40 := "b2c3d4e5f60718293a4b5c6d7e8f9001"

sys_user_kim := "5137153cc611227c000bbd1bd8cd2005"

sys_user_osei := "9ee1b13dc6112271007f9d0efdb69cd0"

sys_user_ng := "46d44a23a9fe19810012d100cca80666"

approval_37 := "c3d4e5f60718293a4b5c6d7e8f90012"

# An approved normal change whose window covers ServerTasks-66120; fields override.
change(sys_id, number, fields) := servicenow("change_request", sys_id, object.union(
	{
		"number": number, "type": "normal", "approval": "approved", "state": 3,
		"short_description": `Octopus: Deploy "payments-api" version 4.2.0 to "Production"`,
		"start_date": "2026-07-15T08:00:00.000000Z", "end_date": "2026-07-15T12:00:00.000000Z",
		"closed_at": "2026-07-15T13:10:00.000000Z", "requested_by": sys_user_kim,
		"assigned_to": sys_user_ng, "risk": 3, "impact": 3, "active": false,
		"close_code": "successful",
	},
	fields,
))

change_requests := {
	change_37: change(change_37, "CHG0031337", {}),
	change_40: change(change_40, "CHG0031340", {
		"type": "emergency", "short_description": "Hotfix FX ledger rounding",
		"start_date": "2026-08-03T18:00:00.000000Z", "end_date": "2026-08-03T20:00:00.000000Z",
		"closed_at": "2026-08-05T09:00:00.000000Z",
	}),
}

sys_user(sys_id, user_name, email) := servicenow("sys_user", sys_id, {
	"user_name": user_name, "email": email, "active": true,
})

sys_users := {
	sys_user_kim: sys_user(sys_user_kim, "dkim", "D.Kim@acme-payments.example"),
	sys_user_osei: sys_user(sys_user_osei, "bosei", "b.osei@acme-payments.example"),
	sys_user_ng: sys_user(sys_user_ng, "ang", "a.ng@acme-payments.example"),
}

approver_record(sys_id, change_id, approver, state) := servicenow("sysapproval_approver", sys_id, {
	"sysapproval": change_id, "document_id": change_id, "approver": approver,
	"state": state, "sys_updated_on": "2026-07-14T17:30:00.000000Z",
})

approvals := {approval_37: approver_record(approval_37, change_37, sys_user_osei, "approved")}

# --- the whole document -------------------------------------------------------------

title_37 := `Octopus: Deploy "payments-api" version 4.2.0 to "Production"`

index := {
	"production_environment_ids": {"Environments-3": true},
	"task_approval_by_task": {"ServerTasks-66120": "ServerTaskApprovals-55"},
	"change_by_number": {"CHG0031337": change_37, "CHG0031340": change_40},
	"changes_by_short_description": {
		title_37: [change_37],
		"Hotfix FX ledger rounding": [change_40],
	},
	"approvals_by_change": {change_37: [approval_37]},
	"octopus_user_email": {
		"Users-1": "octoadmin@acme-payments.example",
		"Users-212": "a.ng@acme-payments.example",
		"Users-305": "b.osei@acme-payments.example",
		"Users-90": "c.ruiz@acme-payments.example",
	},
	"servicenow_user_email": {
		sys_user_kim: "d.kim@acme-payments.example",
		sys_user_osei: "b.osei@acme-payments.example",
		sys_user_ng: "a.ng@acme-payments.example",
	},
	"team_ids_by_user": {
		"Users-1": ["Teams-1"],
		"Users-212": ["Teams-12"],
		"Users-377": ["Teams-12"],
		"Users-305": ["Teams-14"],
	},
	"scoped_roles_by_team": {
		"Teams-1": ["ScopedUserRoles-1"],
		"Teams-12": ["ScopedUserRoles-88"],
		"Teams-14": ["ScopedUserRoles-90"],
	},
	"runbook_ids_by_name": {
		"Nightly database backup": ["Runbooks-7"],
		"Rotate certificates": ["Runbooks-8"],
	},
	"runbook_runs_by_runbook": {"Runbooks-7": ["RunbookRuns-1001", "RunbookRuns-1002", "RunbookRuns-1003"]},
	"last_event_by_user": {
		"Users-1": last_event("Events-91001", "2026-09-20T10:00:00.000000Z"),
		"Users-212": last_event("Events-90412", "2026-07-15T09:04:11.512000Z"),
		"Users-305": last_event("Events-90733", "2026-08-02T14:45:00.000000Z"),
		"Users-377": last_event("Events-91877", "2026-09-30T23:59:59.999999Z"),
	},
}

last_event(event_id, occurred) := {"occurred": occurred, "ref": octopus_ref("events", event_id)}

doc := {
	"period": period,
	"settings": settings,
	"octopus": {
		"events": {},
		"deployments": deployments,
		"tasks": tasks,
		"releases": releases,
		"projects": projects,
		"environments": environments,
		"runbooks": runbooks,
		"runbookruns": runbookruns,
		"users": users,
		"teams": teams,
		"userroles": userroles,
		"scopeduserroles": scopeduserroles,
		"apikeys": apikeys,
		"servertaskapprovals": servertaskapprovals,
	},
	"servicenow": {
		"change_request": change_requests,
		"sysapproval_approver": approvals,
		"sys_user": sys_users,
	},
	"index": index,
}

# --- helpers for assertions -----------------------------------------------------------

# The one finding about a resource in a set of findings; undefined unless exactly one.
only(findings, resource) := found if {
	matches := [finding | some finding in findings; finding.resource == resource]
	count(matches) == 1
	found := matches[0]
}

# True when text contains every fragment.
mentions(text, fragments) if {
	every fragment in fragments {
		contains(text, fragment)
	}
}
