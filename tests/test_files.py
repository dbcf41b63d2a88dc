"""The shared export-file helpers: what is listed, staged, read, repaired and graded."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from evidencekit.collectors._files import (
    FieldProblem,
    ResourceBuilder,
    iter_json_lines,
    read_json,
)
from evidencekit.collectors.base import Record, SourceData
from evidencekit.collectors.octopus import OctopusExportCollector
from evidencekit.results import SourceStatus

FIXTURE = Path(__file__).parent / "data" / "octopus" / "export"


@pytest.fixture
def export(tmp_path: Path) -> Path:
    """A private copy of the recorded Octopus export that a test may change."""
    folder = tmp_path / "octopus"
    shutil.copytree(FIXTURE, folder)
    return folder


def load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def save(path: Path, document: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document), encoding="utf-8")


def collect_like_the_runner(export: Path, staging: Path) -> SourceData:
    """Copy what ``evidence_files`` lists, then read the copy, as the runner does."""
    collector = OctopusExportCollector()
    for path in collector.evidence_files(export):
        relative = path.relative_to(export)
        (staging / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, staging / relative, follow_symlinks=False)
    return collector.read(staging, "octo")


def second_space_deployment(export: Path, new_id: str, space: str) -> dict[str, Any]:
    page = load(export / "deployments" / "page-0001.json")
    deployment = dict(page["Items"][0], Id=new_id, SpaceId=space)
    return {"ItemType": "Deployment", "TotalResults": 1, "Items": [deployment]}


def test_page_in_a_sub_folder_is_staged_and_makes_the_resource_incomplete(
    export: Path, tmp_path: Path
) -> None:
    page = export / "deployments" / "Spaces-2" / "page-0001.json"
    save(page, second_space_deployment(export, "Deployments-9999", "Spaces-2"))

    data = collect_like_the_runner(export, tmp_path / "staged")

    deployments = data.resources["deployments"]
    assert (
        tmp_path / "staged" / "deployments" / "Spaces-2" / "page-0001.json"
    ).exists()
    assert deployments.status is SourceStatus.INCOMPLETE
    assert "Deployments-9999" not in deployments.records
    assert deployments.warnings == [
        "deployments: deployments/Spaces-2/page-0001.json is not a *.json page file "
        "at the top of deployments/, so it was not read"
    ]


def test_upper_case_json_suffix_is_read_as_json(export: Path, tmp_path: Path) -> None:
    page = export / "deployments" / "Spaces-3.page-0001.JSON"
    save(page, second_space_deployment(export, "Deployments-9998", "Spaces-3"))

    data = collect_like_the_runner(export, tmp_path / "staged")

    deployments = data.resources["deployments"]
    assert deployments.status is SourceStatus.COMPLETE
    assert deployments.records["Deployments-9998"]["SpaceId"] == "Spaces-3"
    assert "deployments/Spaces-3.page-0001.JSON" in {f.path for f in deployments.files}


def test_other_files_in_a_resource_folder_are_staged_and_reported(
    export: Path, tmp_path: Path
) -> None:
    (export / "events" / "export-notes.txt").write_text("run 2", encoding="utf-8")
    (export / "events" / ".DS_Store").write_bytes(b"\x00\x01")

    data = collect_like_the_runner(export, tmp_path / "staged")

    assert (tmp_path / "staged" / "events" / "export-notes.txt").exists()
    assert not (tmp_path / "staged" / "events" / ".DS_Store").exists()
    events = data.resources["events"]
    assert events.status is SourceStatus.INCOMPLETE
    assert events.warnings == [
        "events: events/export-notes.txt is not a *.json or *.jsonl page file at "
        "the top of events/, so it was not read"
    ]


def test_symlinked_resource_file_fails_that_resource_only(
    export: Path, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere" / "runbooks.json"
    elsewhere.parent.mkdir()
    (export / "runbooks.json").rename(elsewhere)
    (export / "runbooks.json").symlink_to(elsewhere)
    collector = OctopusExportCollector()

    listed = collector.evidence_files(export)
    data = collector.read(export, "octo")

    # Listed so the snapshot writer refuses it and records the gap in the manifest.
    assert export / "runbooks.json" in listed
    runbooks = data.resources["runbooks"]
    assert runbooks.status is SourceStatus.FAILED
    assert runbooks.records == {}
    assert runbooks.warnings == [
        "runbooks: runbooks.json is a symbolic link; evidencekit reads only "
        "regular files"
    ]
    assert data.resources["deployments"].status is SourceStatus.COMPLETE


def test_symlinked_page_in_a_folder_fails_the_resource(
    export: Path, tmp_path: Path
) -> None:
    page = tmp_path / "page-0009.json"
    save(page, second_space_deployment(export, "Deployments-9997", "Spaces-1"))
    (export / "deployments" / "page-0009.json").symlink_to(page)

    deployments = OctopusExportCollector().read(export, "octo").resources["deployments"]

    assert deployments.status is SourceStatus.FAILED
    assert "Deployments-9997" not in deployments.records
    assert deployments.warnings[0] == (
        "deployments: deployments/page-0009.json is a symbolic link; evidencekit "
        "reads only regular files"
    )


def test_differing_duplicate_makes_the_resource_incomplete_and_names_fields() -> None:
    builder = ResourceBuilder("octo", "tasks")
    first = builder.open_file(Path("tasks.json"), "tasks/Spaces-1.page-1.json")
    second = builder.open_file(Path("tasks.json"), "tasks/Spaces-1.page-2.json")
    task = {"Id": "ServerTasks-30097", "State": "Success", "ErrorMessage": None}

    builder.add("ServerTasks-30097", dict(task), first)
    builder.add("ServerTasks-30097", dict(task), second)  # an identical copy
    builder.add("ServerTasks-30097", dict(task, State="Failed"), second)
    tasks = builder.finish()

    assert tasks.status is SourceStatus.INCOMPLETE
    assert tasks.duplicates == 2
    assert tasks.records["ServerTasks-30097"]["State"] == "Success"
    assert tasks.warnings == [
        "tasks: record ServerTasks-30097 in tasks/Spaces-1.page-2.json differs from "
        "the first copy in tasks/Spaces-1.page-1.json (fields State); the first "
        "copy is kept"
    ]


def test_required_field_absent_from_the_raw_record_is_kept_and_graded() -> None:
    builder = ResourceBuilder(
        "octo", "scopeduserroles", required_fields=("TeamId", "UserRoleId", "SpaceId")
    )
    stats = builder.open_file(Path("scopeduserroles.json"), "scopeduserroles.json")
    raw = {"Id": "ScopedUserRoles-1", "TeamId": "teams-administrators"}
    projected: Record = {**raw, "UserRoleId": None, "SpaceId": None}  # filled in
    empty = {"Id": "ScopedUserRoles-2", "TeamId": "", "UserRoleId": "", "SpaceId": ""}

    builder.add("ScopedUserRoles-1", projected, stats, raw=raw)
    builder.add("ScopedUserRoles-2", empty, stats)
    roles = builder.finish()

    assert roles.status is SourceStatus.INCOMPLETE
    assert set(roles.records) == {"ScopedUserRoles-1", "ScopedUserRoles-2"}
    assert roles.warnings == [
        f"scopeduserroles: source 'octo', file scopeduserroles.json, record "
        f"ScopedUserRoles-1, field '{name}': the field is absent and the policies "
        "need it; the record is kept"
        for name in ("UserRoleId", "SpaceId")
    ]


def test_absent_required_fields_are_capped_like_other_warnings() -> None:
    builder = ResourceBuilder("octo", "users", required_fields=("IsActive",))
    stats = builder.open_file(Path("users.json"), "users.json")

    for number in range(1, 31):
        builder.add(f"Users-{number}", {"Id": f"Users-{number}"}, stats)
    users = builder.finish()

    assert users.status is SourceStatus.INCOMPLETE
    assert len(users.warnings) == 21
    assert users.warnings[-1] == (
        "users: ... and 10 more records without a field the policies need"
    )


def contradictory_task(record: Record) -> Iterator[FieldProblem]:
    """What the Octopus reader plugs in: a finished task must have started."""
    finished = record.get("State") == "Success" or record.get("IsCompleted") is True
    if finished and record.get("CompletedTime") and not record.get("StartTime"):
        yield FieldProblem(
            "StartTime",
            f"the task is {record.get('State')} and completed at "
            f"{record['CompletedTime']} but has no StartTime",
        )


def test_record_check_hook_flags_a_contradictory_record_and_keeps_it() -> None:
    builder = ResourceBuilder("octo", "tasks", checks=(contradictory_task,))
    stats = builder.open_file(Path("tasks.json"), "tasks.json")
    fine = {
        "Id": "ServerTasks-30096",
        "State": "Success",
        "IsCompleted": True,
        "StartTime": "2026-07-10T17:58:02.000000Z",
        "CompletedTime": "2026-07-10T18:15:22.000000Z",
    }
    broken = dict(fine, Id="ServerTasks-30097", StartTime=None)

    builder.add("ServerTasks-30096", fine, stats)
    builder.add("ServerTasks-30097", broken, stats)
    tasks = builder.finish()

    assert tasks.status is SourceStatus.INCOMPLETE
    assert set(tasks.records) == {"ServerTasks-30096", "ServerTasks-30097"}
    assert tasks.warnings == [
        "tasks: source 'octo', file tasks.json, record ServerTasks-30097, field "
        "'StartTime': the task is Success and completed at "
        "2026-07-10T18:15:22.000000Z but has no StartTime; the record is kept"
    ]


LONE_SURROGATE_PAGE = (
    '{"Items": [{"Id": "Deployments-2165", "Comments": "ok"},'
    ' {"Id": "Deployments-2166", "Comments": "x \\udc00",'
    ' "FormValues": {"\\uD800note": "y"}}], "TotalResults": 2}'
)


def test_lone_surrogate_becomes_replacement_character_with_a_note(
    tmp_path: Path,
) -> None:
    page = tmp_path / "page-0001.json"
    page.write_text(LONE_SURROGATE_PAGE, encoding="utf-8")
    builder = ResourceBuilder("octo", "deployments")

    document = read_json(page, "deployments/page-0001.json", "octo", builder)
    deployments = builder.finish()

    record = document["Items"][1]
    assert record["Comments"] == "x \ufffd"
    assert record["FormValues"] == {"\ufffdnote": "y"}
    assert document["Items"][0] == {"Id": "Deployments-2165", "Comments": "ok"}
    assert deployments.status is SourceStatus.COMPLETE
    assert deployments.warnings == [
        "deployments: file deployments/page-0001.json, record Items[1], field "
        "'Comments' held an invalid Unicode code unit, shown as U+FFFD",
        "deployments: file deployments/page-0001.json, record Items[1], field "
        "'FormValues' held an invalid Unicode code unit, shown as U+FFFD",
    ]
    assert page.read_text(encoding="utf-8") == LONE_SURROGATE_PAGE  # raw unchanged


def test_repaired_record_no_longer_crashes_the_rego_engine(tmp_path: Path) -> None:
    page = tmp_path / "page-0001.json"
    page.write_text(LONE_SURROGATE_PAGE, encoding="utf-8")
    record = read_json(page, "deployments/page-0001.json", "octo")["Items"][1]
    script = (
        "import json, sys, regorus\n"
        "regorus.Engine().set_input(json.loads(sys.stdin.read()))\n"
        "print('ok')\n"
    )

    # In a child process, so a crash fails this test instead of killing pytest.
    result = subprocess.run(  # noqa: S603  (a fixed script, the test interpreter)
        [sys.executable, "-c", script],
        input=json.dumps(record),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert (result.returncode, result.stdout.strip()) == (0, "ok"), result.stderr


def test_valid_surrogate_pair_and_plain_text_are_left_alone(tmp_path: Path) -> None:
    page = tmp_path / "page-0001.json"
    page.write_text(
        '[{"Id": "Users-2", "DisplayName": "Rafael \\ud83d\\ude00 Quenby"}]',
        encoding="utf-8",
    )
    builder = ResourceBuilder("octo", "users")

    document = read_json(page, "users.json", "octo", builder)

    assert document == [{"Id": "Users-2", "DisplayName": "Rafael \U0001f600 Quenby"}]
    assert builder.finish().warnings == []


def test_lone_surrogate_in_an_event_archive_line_is_replaced(tmp_path: Path) -> None:
    archive = tmp_path / "events-2026-09-01.jsonl"
    archive.write_text(
        '{"Id": "Events-1", "Message": "fine"}\n'
        '{"Id": "Events-2", "Message": "torn \\uDBFF"}\n',
        encoding="utf-8",
    )
    builder = ResourceBuilder("octo", "events")

    lines = list(
        iter_json_lines(archive, "events/events-2026-09-01.jsonl", "octo", builder)
    )

    assert [value["Message"] for _, value, _ in lines] == ["fine", "torn \ufffd"]
    assert builder.finish().warnings == [
        "events: file events/events-2026-09-01.jsonl, record line 2, field "
        "'Message' held an invalid Unicode code unit, shown as U+FFFD"
    ]


def test_out_of_range_timestamp_names_the_field_and_keeps_other_records(
    export: Path,
) -> None:
    path = export / "tasks.json"
    document = load(path)
    items = document["Items"] if isinstance(document, dict) else document
    items[0]["CompletedTime"] = "9999-12-31T23:59:59.9999999-05:00"
    save(path, document)

    data = OctopusExportCollector().read(export, "octo")

    tasks = data.resources["tasks"]
    assert tasks.status is SourceStatus.INCOMPLETE
    assert len(tasks.records) == len(items) - 1
    assert f"record {items[0]['Id']}, field 'CompletedTime'" in tasks.warnings[0]
    assert data.resources["deployments"].status is SourceStatus.COMPLETE
