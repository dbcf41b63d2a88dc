"""The policy input document: period, settings, merged collections and indexes."""

from typing import Any

import pytest

from evidencekit.collectors.base import Record, ResourceData, SourceData
from evidencekit.config import Config, parse_config
from evidencekit.errors import EvidenceError
from evidencekit.policies.prepare import (
    account_modifications,
    build_input,
    known_resources,
    reads_raw_events,
)


def make_config(**overrides: Any) -> Config:
    raw: dict[str, Any] = {
        "organisation": "Example Bank plc",
        "period": {"start": "2026-07-01", "end": "2026-09-30", "timezone": "UTC"},
        "production_environments": ["Production", "Environments-9"],
        "sources": [
            {"name": "octo", "type": "octopus", "path": "exports/octopus"},
            {"name": "snow", "type": "servicenow", "path": "exports/servicenow"},
        ],
        "policies": {
            "privileged_allowlist": ["Break.Glass@Example.com ", "Users-1"],
            "backup_runbooks": ["Nightly database backup"],
        },
    }
    raw.update(overrides)
    return parse_config(raw)


def octo(source: str, kind: str, record_id: str, **fields: Any) -> Record:
    """A normalised Octopus record, with the keys every collector adds."""
    file = f"{kind}.json"
    return {
        "Id": record_id,
        **fields,
        "_ref": f"{source}/{kind}/{record_id}",
        "_file": file,
    }


def snow(source: str, table: str, sys_id: str, **fields: Any) -> Record:
    """A normalised ServiceNow record."""
    return {
        "sys_id": sys_id,
        **fields,
        "_ref": f"{source}/{table}/{sys_id}",
        "_file": f"{table}.json",
    }


def source(name: str, kind: str, resources: dict[str, list[Record]]) -> SourceData:
    key = "Id" if kind == "octopus" else "sys_id"
    return SourceData(
        name=name,
        type=kind,
        location=f"exports/{name}",
        resources={
            resource: ResourceData(
                name=resource, records={record[key]: record for record in records}
            )
            for resource, records in resources.items()
        },
    )


def octopus_source(name: str = "octo") -> SourceData:
    def rec(kind: str, record_id: str, **fields: Any) -> Record:
        return octo(name, kind, record_id, **fields)

    return source(
        name,
        "octopus",
        {
            "environments": [
                rec("environments", "Environments-1", Name="Staging"),
                rec("environments", "Environments-2", Name="Production"),
                rec("environments", "Environments-9", Name="DR"),
            ],
            "deployments": [
                rec(
                    "deployments",
                    "Deployments-7",
                    EnvironmentId="Environments-2",
                    TaskId="ServerTasks-70",
                    DeployedById="Users-212",
                    FormValues={},
                )
            ],
            "servertaskapprovals": [
                rec(
                    "servertaskapprovals",
                    "ServerTaskApprovals-55",
                    ServerTaskId="ServerTasks-70",
                    ChangeRequest={"Number": "CHG0031337"},
                ),
                rec(
                    "servertaskapprovals",
                    "ServerTaskApprovals-56",
                    ServerTaskId="ServerTasks-71",
                    ChangeRequest={"Number": "CHG0031338"},
                ),
            ],
            "users": [
                rec("users", "Users-212", EmailAddress=" Alice.Ng@Example.com"),
                rec("users", "Users-377", EmailAddress=None),
                rec("users", "Users-400", EmailAddress=""),
            ],
            "teams": [
                rec("teams", "Teams-12", MemberUserIds=["Users-212", "Users-377"]),
                rec("teams", "Teams-2", MemberUserIds=["Users-212"]),
                rec("teams", "Teams-3", MemberUserIds=[]),
            ],
            "scopeduserroles": [
                rec("scopeduserroles", "ScopedUserRoles-88", TeamId="Teams-12"),
                rec("scopeduserroles", "ScopedUserRoles-9", TeamId="Teams-12"),
                rec("scopeduserroles", "ScopedUserRoles-90", TeamId="Teams-2"),
            ],
            "runbooks": [
                rec("runbooks", "Runbooks-4", Name="Nightly database backup"),
                rec("runbooks", "Runbooks-3", Name="Nightly database backup"),
                rec("runbooks", "Runbooks-5", Name="Restart web tier"),
            ],
            "runbookruns": [
                rec("runbookruns", "RunbookRuns-11", RunbookId="Runbooks-4"),
                rec("runbookruns", "RunbookRuns-10", RunbookId="Runbooks-4"),
                rec("runbookruns", "RunbookRuns-12", RunbookId="Runbooks-5"),
            ],
            "events": [
                rec(
                    "events",
                    "Events-1",
                    UserId="Users-212",
                    Occurred="2026-09-29T08:00:00.000000Z",
                ),
                rec(
                    "events",
                    "Events-2",
                    UserId="Users-212",
                    Occurred="2026-09-30T23:59:59.999999Z",
                ),
                rec(
                    "events",
                    "Events-3",
                    UserId="Users-212",
                    Occurred="2026-10-01T00:00:00.000000Z",
                ),
                rec(
                    "events",
                    "Events-4",
                    UserId="Users-212",
                    Occurred="2026-08-01T00:00:00.000000Z",
                ),
                rec(
                    "events",
                    "Events-5",
                    UserId="Users-377",
                    Occurred="2026-10-02T09:00:00.000000Z",
                ),
                rec(
                    "events",
                    "Events-6",
                    UserId=None,
                    Occurred="2026-09-01T09:00:00.000000Z",
                ),
            ],
        },
    )


def servicenow_source(name: str = "snow") -> SourceData:
    def rec(table: str, sys_id: str, **fields: Any) -> Record:
        return snow(name, table, sys_id, **fields)

    described = 'Octopus: Deploy "payments-api" version 4.2.0 to "Production"'
    return source(
        name,
        "servicenow",
        {
            "change_request": [
                rec(
                    "change_request",
                    "c2",
                    number="CHG0031337",
                    short_description=described,
                ),
                rec(
                    "change_request",
                    "c1",
                    number="CHG0031338",
                    short_description=described,
                ),
                rec(
                    "change_request", "c3", number="CHG0031339", short_description=None
                ),
            ],
            "sysapproval_approver": [
                rec("sysapproval_approver", "a2", sysapproval="c2", state="approved"),
                rec("sysapproval_approver", "a1", sysapproval="c2", state="rejected"),
                rec(
                    "sysapproval_approver",
                    "a3",
                    sysapproval=None,
                    document_id="c3",
                    state="approved",
                ),
            ],
            "sys_user": [
                rec("sys_user", "u1", email="Bob.Smith@Example.COM"),
                rec("sys_user", "u2", email=None),
            ],
        },
    )


@pytest.fixture
def document() -> dict[str, Any]:
    return build_input(make_config(), [octopus_source(), servicenow_source()])


def test_period_is_half_open_utc_with_month_windows() -> None:
    config = make_config(
        period={"start": "2026-07-01", "end": "2026-08-31", "timezone": "Europe/London"}
    )

    period = build_input(config, [])["period"]

    assert period == {
        "start": "2026-06-30T23:00:00.000000Z",
        "end": "2026-08-31T23:00:00.000000Z",
        "timezone": "Europe/London",
        "months": [
            {
                "month": "2026-07",
                "start": "2026-06-30T23:00:00.000000Z",
                "end": "2026-07-31T23:00:00.000000Z",
            },
            {
                "month": "2026-08",
                "start": "2026-07-31T23:00:00.000000Z",
                "end": "2026-08-31T23:00:00.000000Z",
            },
        ],
    }


def test_settings_carry_the_policy_parameters(document: dict[str, Any]) -> None:
    assert document["settings"] == {
        "privileged_allowlist": ["break.glass@example.com", "users-1"],
        "api_key_max_days": 365,
        "inactivity_days": 90,
        "backup_runbooks": ["Nightly database backup"],
        "emergency_review_days": 5,
        "kubernetes_ignored_subjects": [],
        "aws_admin_allowlist": [],
        "jsm_allowed_statuses": ["Implementing", "Review", "Completed", "Closed"],
        "account_rotation_days": 90,
        "aws_key_rotation_days": 90,
        "unused_target_days": 30,
        "max_deployment_steps": 20,
    }


def test_every_resource_key_is_present_without_evidence() -> None:
    document = build_input(make_config(), [], keep_events=True)

    for kind, names in known_resources().items():
        assert document[kind] == {name: {} for name in names}
    assert document["index"]["last_event_by_user"] == {}
    assert document["index"]["production_environment_ids"] == {}


def test_raw_events_are_left_out_unless_asked_for() -> None:
    sources = [octopus_source()]

    without = build_input(make_config(), sources)
    with_events = build_input(make_config(), sources, keep_events=True)

    assert "events" not in without["octopus"]
    assert without["index"]["last_event_by_user"]["Users-212"]["ref"] == (
        "octo/events/Events-2"
    )
    assert set(with_events["octopus"]["events"]) == {f"Events-{n}" for n in range(1, 7)}


def test_records_are_referenced_not_copied() -> None:
    octopus = octopus_source()

    document = build_input(make_config(), [octopus])

    original = octopus.resources["deployments"].records["Deployments-7"]
    assert document["octopus"]["deployments"]["Deployments-7"] is original


def test_production_environments_match_by_name_or_id(document: dict[str, Any]) -> None:
    assert document["index"]["production_environment_ids"] == {
        "Environments-2": True,
        "Environments-9": True,
    }


def test_change_link_indexes(document: dict[str, Any]) -> None:
    index = document["index"]

    assert index["task_approval_by_task"] == {
        "ServerTasks-70": "ServerTaskApprovals-55",
        "ServerTasks-71": "ServerTaskApprovals-56",
    }
    assert index["change_by_number"] == {
        "CHG0031337": "c2",
        "CHG0031338": "c1",
        "CHG0031339": "c3",
    }
    assert index["changes_by_short_description"] == {
        'Octopus: Deploy "payments-api" version 4.2.0 to "Production"': ["c1", "c2"]
    }
    assert index["approvals_by_change"] == {"c2": ["a1", "a2"], "c3": ["a3"]}


def test_identity_indexes(document: dict[str, Any]) -> None:
    index = document["index"]

    assert index["octopus_user_email"] == {"Users-212": "alice.ng@example.com"}
    assert index["servicenow_user_email"] == {"u1": "bob.smith@example.com"}
    assert index["team_ids_by_user"] == {
        "Users-212": ["Teams-12", "Teams-2"],
        "Users-377": ["Teams-12"],
    }
    assert index["scoped_roles_by_team"] == {
        "Teams-12": ["ScopedUserRoles-88", "ScopedUserRoles-9"],
        "Teams-2": ["ScopedUserRoles-90"],
    }


def test_runbook_indexes(document: dict[str, Any]) -> None:
    index = document["index"]

    assert index["runbook_ids_by_name"] == {
        "Nightly database backup": ["Runbooks-3", "Runbooks-4"],
        "Restart web tier": ["Runbooks-5"],
    }
    assert index["runbook_runs_by_runbook"] == {
        "Runbooks-4": ["RunbookRuns-10", "RunbookRuns-11"],
        "Runbooks-5": ["RunbookRuns-12"],
    }


def test_last_event_is_the_latest_before_the_period_end(
    document: dict[str, Any],
) -> None:
    # Events-3 is at the exclusive end and Events-5 after it; neither counts.
    assert document["index"]["last_event_by_user"] == {
        "Users-212": {
            "occurred": "2026-09-30T23:59:59.999999Z",
            "ref": "octo/events/Events-2",
        }
    }


def test_sources_of_one_type_are_merged() -> None:
    second = source(
        "octo-dr",
        "octopus",
        {
            "deployments": [
                octo("octo-dr", "deployments", "Deployments-9001", TaskId="X"),
                # the same record exported twice is not a conflict
                octo(
                    "octo-dr",
                    "deployments",
                    "Deployments-7",
                    EnvironmentId="Environments-2",
                    TaskId="ServerTasks-70",
                    DeployedById="Users-212",
                    FormValues={},
                ),
            ]
        },
    )

    document = build_input(make_config(), [octopus_source(), second])

    deployments = document["octopus"]["deployments"]
    assert set(deployments) == {"Deployments-7", "Deployments-9001"}
    assert deployments["Deployments-7"]["_ref"] == "octo/deployments/Deployments-7"


def test_different_records_with_one_id_stop_the_merge() -> None:
    second = source(
        "octo-eu",
        "octopus",
        {"deployments": [octo("octo-eu", "deployments", "Deployments-7", TaskId="Z")]},
    )

    with pytest.raises(EvidenceError) as caught:
        build_input(make_config(), [octopus_source(), second])

    message = str(caught.value)
    assert message.startswith(
        "source 'octo-eu', file deployments.json, record Deployments-7: "
    )
    assert "already read from octo/deployments/Deployments-7" in message


def test_reads_raw_events_spots_a_policy_that_scans_them() -> None:
    scans = "some event in input.octopus.events\n"
    indexed = "last := input.index.last_event_by_user[user.Id]\n"

    assert reads_raw_events([("a.rego", indexed), ("b.rego", scans)])
    assert reads_raw_events([("c.rego", 'count(input.octopus["events"])')])
    assert not reads_raw_events([("a.rego", indexed)])


def test_account_modifications_keep_only_modified_events_before_the_end() -> None:
    def event(number: int, category: str, occurred: str, docs: list[str]) -> Any:
        return {
            "Id": f"Events-{number}",
            "Category": category,
            "Occurred": occurred,
            "RelatedDocumentIds": docs,
            "_ref": f"octopus/events/Events-{number}",
        }

    events = {
        "Events-1": event(1, "Modified", "2026-08-01T09:00:00.000000Z", ["Accounts-1"]),
        "Events-2": event(2, "Created", "2026-08-02T09:00:00.000000Z", ["Accounts-1"]),
        "Events-3": event(3, "Modified", "2026-10-01T00:00:00.000000Z", ["Accounts-1"]),
        "Events-4": event(4, "Modified", "2026-07-01T00:00:00.000000Z", ["Projects-1"]),
        "Events-5": event(5, "Modified", "2026-06-01T00:00:00.000000Z", ["Accounts-1"]),
    }
    accounts = {"Accounts-1": {"Id": "Accounts-1"}}
    found = account_modifications(events, accounts, "2026-10-01T00:00:00.000000Z")
    assert found == {
        "Accounts-1": [
            {
                "occurred": "2026-06-01T00:00:00.000000Z",
                "ref": "octopus/events/Events-5",
            },
            {
                "occurred": "2026-08-01T09:00:00.000000Z",
                "ref": "octopus/events/Events-1",
            },
        ]
    }
