"""The JSM export reader: normalised fields, approval states, paging gaps, bad input."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from evidencekit.collectors.base import SourceData
from evidencekit.collectors.jsm import JsmCollector, JsmSource, approval_state
from evidencekit.results import SourceStatus

FIXTURE = Path(__file__).parent / "data" / "jsm" / "export"


@pytest.fixture
def export(tmp_path: Path) -> Path:
    """A private copy of the recorded export that a test may change."""
    folder = tmp_path / "jsm"
    shutil.copytree(FIXTURE, folder)
    return folder


def read(folder: Path) -> SourceData:
    return JsmCollector().read(folder, "jsm")


def load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def save(path: Path, document: Any) -> None:
    path.write_text(json.dumps(document), encoding="utf-8")


def edit_value(path: Path, index: int, **fields: Any) -> None:
    document = load(path)
    document["values"][index].update(fields)
    save(path, document)


def statuses(data: SourceData) -> dict[str, SourceStatus]:
    return {name: resource.status for name, resource in data.resources.items()}


def warnings(data: SourceData, resource: str) -> str:
    return "\n".join(data.resources[resource].warnings)


def test_recorded_export_is_complete() -> None:
    data = read(FIXTURE)

    counts = {name: len(resource.records) for name, resource in data.resources.items()}
    assert counts == {"requests": 3, "approvals": 5, "status_changes": 7}
    assert data.overall_status() is SourceStatus.COMPLETE
    assert all(not resource.warnings for resource in data.resources.values())


def test_request_fields_are_normalised() -> None:
    request = read(FIXTURE).resources["requests"].records["OPS-812"]

    assert request["issueId"] == "10412"
    assert request["requestTypeId"] == "27"
    assert request["serviceDeskId"] == "10"
    assert request["summary"] == "Deploy payments-api 4.2.0 to Production"
    assert request["createdDate"] == "2026-07-13T08:15:00.000000Z"  # epochMillis
    assert request["currentStatus"] == {
        "status": "Completed",
        "statusCategory": "DONE",
        "statusDate": "2026-07-15T09:30:00.000000Z",
    }
    assert request["reporter"] == {
        "accountId": "712020:5d1c7e4a-8f5b-4b8e-9a52-3c1f0b7d2e61",
        "emailAddress": "dana.kim@harbourline.example",
    }
    assert request["_ref"] == "jsm/requests/OPS-812"
    assert request["_file"] == "requests/10-27.page-0001.json"


def test_planned_window_reads_hhmm_offsets_and_date_objects() -> None:
    requests = read(FIXTURE).resources["requests"].records

    # "2026-07-15T09:00:00.000+0100" .. "13:00:00.000+0100"
    assert requests["OPS-812"]["planned_start"] == "2026-07-15T08:00:00.000000Z"
    assert requests["OPS-812"]["planned_end"] == "2026-07-15T12:00:00.000000Z"
    # a DateDTO whose epochMillis wins over its iso8601 text
    assert requests["OPS-815"]["planned_start"] == "2026-07-22T17:00:00.000000Z"
    # "+0700": midnight UTC; the planned end is not on the form at all
    assert requests["OPS-820"]["planned_start"] == "2026-08-04T00:00:00.000000Z"
    assert requests["OPS-820"]["planned_end"] is None


def test_approval_states_need_every_step_approved() -> None:
    requests = read(FIXTURE).resources["requests"].records

    summary = {
        key: (r["approval_state"], r["approved"], r["approval_ids"])
        for key, r in requests.items()
    }
    assert summary == {
        "OPS-812": ("approved", True, ["OPS-812/44", "OPS-812/45"]),
        "OPS-815": ("pending", False, ["OPS-815/47"]),
        "OPS-820": ("declined", False, ["OPS-820/51", "OPS-820/52"]),
    }


def test_approval_records_keep_each_approver() -> None:
    approvals = read(FIXTURE).resources["approvals"].records

    board = approvals["OPS-812/45"]
    assert board["issueKey"] == "OPS-812"
    assert board["finalDecision"] == "approved"
    assert board["completedDate"] == "2026-07-14T15:45:00.000000Z"
    assert [a["approverDecision"] for a in board["approvers"]] == ["approved"] * 2
    assert board["approvers"][0]["email"] is None  # hidden by profile visibility
    assert approvals["OPS-815/47"]["completedDate"] is None


def test_approval_state_of_no_steps_and_undecided_steps() -> None:
    assert approval_state([]) == "none"
    assert approval_state([{"finalDecision": "approved"}, {"finalDecision": None}]) == (
        "pending"
    )
    assert approval_state([{"finalDecision": "pending"}, {"finalDecision": "declined"}])


def test_status_changes_keep_only_status_items_in_time_order() -> None:
    data = read(FIXTURE)
    changes = data.resources["status_changes"].records
    request = data.resources["requests"].records["OPS-812"]

    assert request["status_change_ids"] == [
        "OPS-812/30101/0",
        "OPS-812/30102/0",  # item 1 of this history is an assignee change
        "OPS-812/30107/0",
        "OPS-812/30109/0",
    ]
    implementing = changes["OPS-812/30107/0"]
    assert implementing["from"] == "Awaiting implementation"
    assert implementing["to"] == "Implementing"
    assert implementing["toId"] == "10004"
    assert implementing["at"] == "2026-07-15T08:58:30.000000Z"
    assert implementing["author"] == "712020:5d1c7e4a-8f5b-4b8e-9a52-3c1f0b7d2e61"
    assert implementing["_file"] == "changelog/OPS-812.page-0002.json"


def test_evidence_files_lists_every_page_and_the_field_map() -> None:
    files = JsmCollector().evidence_files(FIXTURE)

    names = sorted(path.relative_to(FIXTURE).as_posix() for path in files)
    assert len(names) == 11
    assert "fields.json" in names
    assert "changelog/OPS-812.page-0002.json" in names


def test_last_request_page_missing_is_a_gap(export: Path) -> None:
    (export / "requests/10-27.page-0002.json").unlink()

    data = read(export)

    assert statuses(data)["requests"] is SourceStatus.INCOMPLETE
    assert "is not marked isLastPage" in warnings(data, "requests")
    assert set(data.resources["requests"].records) == {"OPS-812", "OPS-815"}


def test_skipped_offset_is_a_gap(export: Path) -> None:
    page = export / "requests/10-27.page-0002.json"
    document = load(page)
    document["start"] = 3
    save(page, document)

    data = read(export)

    assert statuses(data)["requests"] is SourceStatus.INCOMPLETE
    assert "starts at record 3 but the pages before it end at 2" in warnings(
        data, "requests"
    )


def test_record_twice_in_one_list_is_a_gap(export: Path) -> None:
    first = load(export / "requests/10-27.page-0001.json")
    page = export / "requests/10-27.page-0002.json"
    document = load(page)
    document["values"].append(first["values"][1])
    save(page, document)

    data = read(export)

    assert statuses(data)["requests"] is SourceStatus.INCOMPLETE
    assert "changed while it was paged" in warnings(data, "requests")
    assert data.resources["requests"].duplicates == 1


def test_truncated_changelog_is_a_gap(export: Path) -> None:
    (export / "changelog/OPS-812.page-0002.json").unlink()

    data = read(export)

    text = warnings(data, "status_changes")
    assert statuses(data)["status_changes"] is SourceStatus.INCOMPLETE
    assert "claims 4 record(s) in total but 2 were read" in text
    assert "is not marked isLast" in text


def test_request_without_approvals_file_is_unknown(export: Path) -> None:
    (export / "approvals/OPS-815.page-0001.json").unlink()

    data = read(export)

    assert statuses(data)["approvals"] is SourceStatus.INCOMPLETE
    assert "request OPS-815 has no approvals/OPS-815.page-*.json file" in warnings(
        data, "approvals"
    )
    request = data.resources["requests"].records["OPS-815"]
    assert (request["approval_state"], request["approved"]) == ("unknown", False)


def test_unreadable_approval_page_makes_the_state_unknown(export: Path) -> None:
    (export / "approvals/OPS-812.page-0002.json").write_text("{not json")

    data = read(export)

    assert statuses(data)["approvals"] is SourceStatus.FAILED
    request = data.resources["requests"].records["OPS-812"]
    assert (request["approval_state"], request["approved"]) == ("unknown", False)
    assert "OPS-812/44" in data.resources["approvals"].records


def test_misnamed_approvals_file_is_not_attributed(export: Path) -> None:
    shutil.copy(
        export / "approvals/OPS-815.page-0001.json", export / "approvals/x.json"
    )

    data = read(export)

    assert statuses(data)["approvals"] is SourceStatus.FAILED
    assert "expected a file named <issueKey>.page-<n>.json" in warnings(
        data, "approvals"
    )
    states = {r["approval_state"] for r in data.resources["requests"].records.values()}
    assert states == {"unknown"}


def test_bad_date_is_kept_as_null_and_named(export: Path) -> None:
    edit_value(export / "requests/10-27.page-0001.json", 0, createdDate="yesterday")

    data = read(export)

    assert statuses(data)["requests"] is SourceStatus.INCOMPLETE
    assert data.resources["requests"].records["OPS-812"]["createdDate"] is None
    text = warnings(data, "requests")
    assert "record OPS-812, field 'createdDate'" in text
    assert "file requests/10-27.page-0001.json" in text


def test_date_without_offset_is_refused(export: Path) -> None:
    page = export / "requests/10-27.page-0001.json"
    document = load(page)
    document["values"][0]["requestFieldValues"][2]["value"] = "2026-07-15T09:00:00"
    save(page, document)

    data = read(export)

    assert data.resources["requests"].records["OPS-812"]["planned_start"] is None
    assert "requestFieldValues.customfield_10040" in warnings(data, "requests")


def test_request_without_issue_key_is_skipped(export: Path) -> None:
    edit_value(export / "requests/10-27.page-0002.json", 0, issueKey=None)

    data = read(export)

    assert statuses(data)["requests"] is SourceStatus.INCOMPLETE
    assert set(data.resources["requests"].records) == {"OPS-812", "OPS-815"}
    assert "expected an issue key such as OPS-812, got None" in warnings(
        data, "requests"
    )


def test_missing_field_map_is_a_gap(export: Path) -> None:
    (export / "fields.json").unlink()

    data = read(export)

    assert statuses(data)["requests"] is SourceStatus.INCOMPLETE
    assert "fields.json is not in the export" in warnings(data, "requests")
    assert data.resources["requests"].records["OPS-812"]["planned_start"] is None


def test_missing_changelog_folder_is_missing(export: Path) -> None:
    shutil.rmtree(export / "changelog")

    data = read(export)

    assert statuses(data)["status_changes"] is SourceStatus.MISSING
    assert data.overall_status() is SourceStatus.INCOMPLETE


def test_export_source_config_refuses_live_settings(tmp_path: Path) -> None:
    source = JsmSource(name="jsm", type="jsm", path=tmp_path)
    assert not source.is_live

    with pytest.raises(ValidationError, match="planned_start_field apply to a live"):
        JsmSource(
            name="jsm", type="jsm", path=tmp_path, planned_start_field="customfield_1"
        )
    with pytest.raises(ValidationError, match="either path"):
        JsmSource(name="jsm", type="jsm")


# ------------------------------------------------- the records as the policy reads them

POLICIES = Path(__file__).parents[1] / "policies"


def octopus_record(resource: str, record_id: str, **fields: Any) -> dict[str, Any]:
    return {"Id": record_id, "_ref": f"octopus/{resource}/{record_id}", **fields}


def policy_input(data: SourceData) -> dict[str, Any]:
    """A minimal input document: two production deployments and the JSM records."""
    deployments = {
        "Deployments-1": octopus_record(
            "deployments", "Deployments-1", EnvironmentId="Environments-3",
            TaskId="ServerTasks-1", ReleaseId="Releases-1",
        ),
        "Deployments-2": octopus_record(
            "deployments", "Deployments-2", EnvironmentId="Environments-3",
            TaskId="ServerTasks-2", ReleaseId="Releases-2",
        ),
    }  # fmt: skip
    tasks = {
        "ServerTasks-1": octopus_record(
            "tasks", "ServerTasks-1", StartTime="2026-07-15T09:01:40.000000Z",
            CompletedTime="2026-07-15T09:04:11.300000Z",
        ),
        "ServerTasks-2": octopus_record(
            "tasks", "ServerTasks-2", StartTime="2026-07-22T17:30:00.000000Z",
            CompletedTime="2026-07-22T17:41:00.000000Z",
        ),
    }  # fmt: skip
    approval = octopus_record(
        "servertaskapprovals",
        "ServerTaskApprovals-1",
        ChangeRequest={"Number": "OPS-812"},
    )
    releases = {
        "Releases-1": octopus_record("releases", "Releases-1", ReleaseNotes=None),
        "Releases-2": octopus_record(
            "releases", "Releases-2", ReleaseNotes="SHA-256 sums; change OPS-815."
        ),
    }
    return {
        "period": {
            "start": "2026-07-01T00:00:00.000000Z",
            "end": "2026-10-01T00:00:00.000000Z",
        },
        "settings": {},
        "octopus": {
            "deployments": deployments,
            "tasks": tasks,
            "releases": releases,
            "environments": {"Environments-3": octopus_record("environments", "E")},
            "servertaskapprovals": {"ServerTaskApprovals-1": approval},
        },
        "jsm": {name: r.records for name, r in data.resources.items()},
        "index": {
            "production_environment_ids": {"Environments-3": True},
            "task_approval_by_task": {"ServerTasks-1": "ServerTaskApprovals-1"},
        },
    }


def test_policy_reads_the_collected_records() -> None:
    regorus = pytest.importorskip("regorus")
    engine = regorus.Engine()
    for path in [
        *sorted((POLICIES / "lib").glob("*.rego")),
        POLICIES / "jsm_change_approval.rego",
    ]:
        if not path.name.endswith("_test.rego"):
            engine.add_policy(path.name, path.read_text(encoding="utf-8"))
    engine.set_input_json(json.dumps(policy_input(read(FIXTURE))))

    findings = json.loads(
        engine.eval_rule_as_json(
            "data.evidencekit.policies.jsm_change_approval.findings"
        )
    )

    assert engine.eval_rule("data.evidencekit.policies.jsm_change_approval.tested") == 2
    assert [finding["resource"] for finding in findings] == ["Deployments-2"]
    assert findings[0]["message"] == (
        'request OPS-815 is not approved: approval "Change advisory board" (47) is '
        'still pending; request OPS-815 was in status "Awaiting approval" when task '
        "ServerTasks-2 started at 2026-07-22T17:30:00.000000Z (from its status "
        "history), not one of Implementing, Review, Completed, Closed"
    )
    assert findings[0]["evidence"] == [
        "octopus/deployments/Deployments-2",
        "octopus/tasks/ServerTasks-2",
        "octopus/environments/E",
        "octopus/releases/Releases-2",
        "jsm/requests/OPS-815",
        "jsm/approvals/OPS-815/47",
        "jsm/status_changes/OPS-815/30201/0",
    ]


def test_bad_changelog_date_is_reported_once_per_history(export: Path) -> None:
    page = export / "changelog/OPS-812.page-0001.json"
    document = load(page)
    history = document["values"][1]
    history["created"] = "14/Jul/26 4:45 PM"
    history["items"].append(dict(history["items"][0], toString="Implementing"))
    save(page, document)

    data = read(export)

    changes = data.resources["status_changes"].records
    assert changes["OPS-812/30102/0"]["at"] is None
    assert changes["OPS-812/30102/2"]["to"] == "Implementing"
    text = warnings(data, "status_changes")
    assert text.count("field 'created'") == 1
    assert statuses(data)["status_changes"] is SourceStatus.INCOMPLETE


def test_hand_made_plain_list_is_read_but_noted(export: Path) -> None:
    page = export / "approvals/OPS-815.page-0001.json"
    save(export / "approvals/OPS-815.json", load(page)["values"])
    page.unlink()

    data = read(export)

    assert statuses(data)["approvals"] is SourceStatus.COMPLETE
    assert "list OPS-815 has no paging fields" in warnings(data, "approvals")
    assert data.resources["requests"].records["OPS-815"]["approval_state"] == "pending"


def test_desk_without_requests_needs_no_approval_folders(tmp_path: Path) -> None:
    folder = tmp_path / "jsm"
    (folder / "requests").mkdir(parents=True)
    empty = {"size": 0, "start": 0, "limit": 50, "isLastPage": True, "values": []}
    save(folder / "requests/10.page-0001.json", empty)
    shutil.copy(FIXTURE / "fields.json", folder / "fields.json")

    data = read(folder)

    assert data.overall_status() is SourceStatus.COMPLETE
    assert all(not resource.records for resource in data.resources.values())


def test_missing_requests_folder_keeps_the_others_required(export: Path) -> None:
    shutil.rmtree(export / "requests")
    shutil.rmtree(export / "approvals")

    data = read(export)

    assert statuses(data)["requests"] is SourceStatus.MISSING
    assert statuses(data)["approvals"] is SourceStatus.MISSING
