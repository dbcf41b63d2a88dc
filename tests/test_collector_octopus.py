"""The Octopus export collector: paging, de-duplication, completeness and bad input."""

from __future__ import annotations

import gc
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from evidencekit.collectors.base import SourceData
from evidencekit.collectors.octopus import OctopusExportCollector
from evidencekit.errors import CollectionError
from evidencekit.results import SourceStatus

FIXTURE = Path(__file__).parent / "data" / "octopus" / "export"

EVENT_FIELDS = {
    "Id",
    "Category",
    "UserId",
    "Username",
    "IsService",
    "Occurred",
    "RelatedDocumentIds",
    "SpaceId",
    "_ref",
    "_file",
}


@pytest.fixture
def export(tmp_path: Path) -> Path:
    """A private copy of the recorded export that a test may change."""
    folder = tmp_path / "octopus"
    shutil.copytree(FIXTURE, folder)
    return folder


def read(folder: Path) -> SourceData:
    return OctopusExportCollector().read(folder, "octo")


def load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def save(path: Path, document: Any) -> None:
    path.write_text(json.dumps(document), encoding="utf-8")


def edit_items(path: Path, index: int, **fields: Any) -> None:
    document = load(path)
    items = document["Items"] if isinstance(document, dict) else document
    items[index].update(fields)
    save(path, document)


def test_recorded_export_is_complete_with_every_resource() -> None:
    data = read(FIXTURE)

    counts = {name: len(resource.records) for name, resource in data.resources.items()}
    assert counts == {
        "events": 9,
        "deployments": 3,
        "tasks": 4,
        "releases": 3,
        "projects": 1,
        "environments": 3,
        "runbooks": 1,
        "runbookruns": 1,
        "users": 4,
        "teams": 2,
        "userroles": 1,
        "scopeduserroles": 1,
        "apikeys": 2,
        "servertaskapprovals": 1,
        "machines": 0,
        "workers": 0,
        "feeds": 0,
        "accounts": 0,
        "subscriptions": 0,
        "gitcredentials": 0,
        "deploymentprocesses": 0,
        "certificates": 0,
    }
    required = [r for r in data.resources.values() if r.required]
    assert all(r.status is SourceStatus.COMPLETE and not r.warnings for r in required)
    assert data.overall_status() is SourceStatus.COMPLETE


def test_events_keep_only_the_projected_fields_with_ref_and_file() -> None:
    event = read(FIXTURE).resources["events"].records["Events-90409"]

    assert set(event) == EVENT_FIELDS
    assert event["_ref"] == "octo/events/Events-90409"
    assert event["_file"] == "events/Spaces-1.page-0002.json"
    assert event["RelatedDocumentIds"] == ["Projects-41"]


@pytest.mark.parametrize(
    ("event_id", "occurred"),
    [
        ("Events-90412", "2026-11-18T19:04:11.512000Z"),  # +02:00, seven digits
        ("Events-90409", "2026-11-18T14:30:00.000000Z"),  # -05:00
        ("Events-90408", "2026-11-17T16:00:00.123456Z"),  # +00:00, seven digits
        ("Events-70020", "2026-11-15T08:45:30.999999Z"),  # .9999999 is cut, not rounded
    ],
)
def test_event_times_with_any_offset_become_canonical_utc(
    event_id: str, occurred: str
) -> None:
    assert read(FIXTURE).resources["events"].records[event_id]["Occurred"] == occurred


def test_fixture_pages_really_disagree_with_items_per_page_and_lack_next() -> None:
    last_page = load(FIXTURE / "events" / "Spaces-1.page-0002.json")

    assert last_page["ItemsPerPage"] != len(last_page["Items"])
    assert "Page.Next" not in last_page["Links"]
    assert read(FIXTURE).resources["events"].status is SourceStatus.COMPLETE


def test_overlapping_pages_and_archive_count_duplicates_and_keep_first_copy() -> None:
    events = read(FIXTURE).resources["events"]

    assert events.duplicates == 2  # Events-90410 on both pages, Events-90408 archived
    assert events.records["Events-90410"]["_file"] == "events/Spaces-1.page-0001.json"
    assert events.records["Events-90408"]["_file"] == "events/Spaces-1.page-0002.json"
    assert events.records["Events-50001"]["_file"] == "events/events-2026-11-17.jsonl"
    assert [(f.path, f.records) for f in events.files] == [
        ("events/Spaces-1.page-0001.json", 3),
        ("events/Spaces-1.page-0002.json", 3),
        ("events/Spaces-2.page-0001.json", 2),
        ("events/events-2026-11-17.jsonl", 3),
    ]
    assert all(f.size > 0 and f.sha256 is None for f in events.files)


def test_page_groups_are_checked_against_their_own_total_results() -> None:
    events = read(FIXTURE).resources["events"]

    # Spaces-1 claims 5 and Spaces-2 claims 2; pooled, 7 ids would match neither.
    assert events.expected == 7
    assert events.status is SourceStatus.COMPLETE


def test_a_lost_page_marks_events_incomplete_for_that_query_only(
    export: Path,
) -> None:
    (export / "events" / "Spaces-1.page-0002.json").unlink()

    events = read(export).resources["events"]

    assert events.status is SourceStatus.INCOMPLETE
    assert events.warnings == [
        "events: 3 unique records read from API pages but TotalResults says 5 "
        "(query events/Spaces-1)"
    ]
    # The archived copy of Events-90408 is kept, but it is not an API page record.
    assert "Events-90408" in events.records


def test_second_query_group_with_a_gap_is_reported_by_name(export: Path) -> None:
    page = export / "events" / "Spaces-2.page-0001.json"
    document = load(page)
    document["TotalResults"] = 3
    save(page, document)

    events = read(export).resources["events"]

    assert events.status is SourceStatus.INCOMPLETE
    assert events.warnings == [
        "events: 2 unique records read from API pages but TotalResults says 3 "
        "(query events/Spaces-2)"
    ]


def test_pages_that_disagree_on_total_results_use_the_largest(export: Path) -> None:
    page = export / "events" / "Spaces-1.page-0002.json"
    document = load(page)
    document["TotalResults"] = 6
    save(page, document)

    events = read(export).resources["events"]

    assert events.status is SourceStatus.INCOMPLETE
    assert events.expected == 8
    assert any("disagree on TotalResults" in w and "6" in w for w in events.warnings)
    assert any("5 unique records" in w and "says 6" in w for w in events.warnings)


def test_archive_only_events_do_not_count_against_total_results(
    export: Path,
) -> None:
    archive = export / "events" / "events-2026-07-03.jsonl"
    lines = [
        json.dumps(
            {
                "Id": f"Events-4000{n}",
                "Category": "Modified",
                "UserId": "Users-305",
                "Username": "user-b",
                "IsService": False,
                "Occurred": "2026-07-03T10:00:00.0000000+00:00",
                "RelatedDocumentIds": ["Projects-41"],
                "SpaceId": "Spaces-1",
            }
        )
        for n in range(5)
    ]
    archive.write_text("\n".join(lines), encoding="utf-8")

    events = read(export).resources["events"]

    assert len(events.records) == 14
    assert events.status is SourceStatus.COMPLETE


def test_plain_list_and_envelope_files_are_both_read() -> None:
    data = read(FIXTURE)

    assert data.resources["releases"].expected is None  # releases.json is a list
    assert data.resources["tasks"].expected == 4  # tasks.json is an envelope
    assert data.resources["releases"].records["Releases-3301"]["Version"] == "4.1.9"
    assert data.resources["tasks"].records["ServerTasks-66090"]["State"] == "Failed"


def test_folder_of_pages_is_read_as_one_query() -> None:
    deployments = read(FIXTURE).resources["deployments"]

    assert [f.path for f in deployments.files] == [
        "deployments/page-0001.json",
        "deployments/page-0002.json",
    ]
    assert deployments.expected == 3
    record = deployments.records["Deployments-7781"]
    assert record["FormValues"] == {
        "Octopus.ServiceNow.ChangeRequest.Number": "CHG0031337"
    }
    assert record["Created"] == "2026-11-18T18:58:02.101000Z"
    assert deployments.records["Deployments-7780"]["FormValues"] == {}  # was null
    assert deployments.records["Deployments-7779"]["QueueTime"] == (
        "2026-11-10T15:30:00.000000Z"
    )
    assert record["DeployedToMachineIds"] == ["Machines-4"]


def test_pages_are_read_in_page_number_order_and_differing_copies_warn(
    export: Path,
) -> None:
    folder = export / "deployments"
    first = load(folder / "page-0001.json")
    for path in folder.iterdir():
        path.unlink()
    first["TotalResults"] = 2
    changed = json.loads(json.dumps(first))
    changed["Items"][0]["Comments"] = "edited after the first page was read"
    # Read as text, page-10 sorts before page-9; by number it comes after.
    save(folder / "Spaces-1.page-9.json", first)
    save(folder / "Spaces-1.page-10.json", changed)

    deployments = read(export).resources["deployments"]

    assert deployments.status is SourceStatus.INCOMPLETE
    assert deployments.duplicates == 2
    assert deployments.records["Deployments-7781"]["Comments"] is None
    assert deployments.warnings == [
        "deployments: record Deployments-7781 in deployments/Spaces-1.page-10.json "
        "differs from the first copy in deployments/Spaces-1.page-9.json "
        "(fields Comments); the first copy is kept"
    ]


def test_missing_required_file_is_missing_and_the_rest_is_read(export: Path) -> None:
    (export / "tasks.json").unlink()

    data = read(export)

    tasks = data.resources["tasks"]
    assert tasks.status is SourceStatus.MISSING
    assert tasks.records == {}
    assert tasks.warnings == [
        "tasks: required file tasks.json (or folder tasks/) is not in the export"
    ]
    assert data.resources["deployments"].status is SourceStatus.COMPLETE
    assert data.overall_status() is SourceStatus.INCOMPLETE


def test_missing_optional_file_is_missing_not_an_empty_pass(export: Path) -> None:
    (export / "servertaskapprovals.json").unlink()

    approvals = read(export).resources["servertaskapprovals"]

    assert approvals.status is SourceStatus.MISSING
    assert "optional file servertaskapprovals.json" in approvals.warnings[0]


def test_empty_resource_folder_is_missing(export: Path) -> None:
    for path in (export / "deployments").iterdir():
        path.unlink()

    deployments = read(export).resources["deployments"]

    assert deployments.status is SourceStatus.MISSING
    assert deployments.warnings == [
        "deployments: required folder deployments/ holds no *.json file"
    ]


def test_malformed_json_fails_the_resource_naming_the_file(export: Path) -> None:
    (export / "tasks.json").write_text('{"Items": [{"Id": "Ser', encoding="utf-8")

    data = read(export)

    tasks = data.resources["tasks"]
    assert tasks.status is SourceStatus.FAILED
    assert len(tasks.warnings) == 1
    assert tasks.warnings[0].startswith(
        "tasks: source 'octo', file tasks.json: the file is not valid JSON"
    )
    assert data.resources["releases"].status is SourceStatus.COMPLETE


def test_one_malformed_page_fails_the_resource_but_keeps_other_pages(
    export: Path,
) -> None:
    (export / "deployments" / "page-0002.json").write_bytes(b"\xff\xfe not json")

    deployments = read(export).resources["deployments"]

    assert deployments.status is SourceStatus.FAILED
    assert set(deployments.records) == {"Deployments-7781", "Deployments-7780"}
    assert "file deployments/page-0002.json" in deployments.warnings[0]


def test_envelope_of_the_wrong_shape_fails_the_resource(export: Path) -> None:
    save(export / "users.json", {"Users": []})

    users = read(export).resources["users"]

    assert users.status is SourceStatus.FAILED
    assert (
        "expected a JSON list of records or an object with 'Items'"
        in (users.warnings[0])
    )


def test_bad_timestamp_skips_that_record_and_names_record_and_field(
    export: Path,
) -> None:
    edit_items(export / "deployments" / "page-0001.json", 1, Created="yesterday")

    deployments = read(export).resources["deployments"]

    assert deployments.status is SourceStatus.INCOMPLETE
    assert set(deployments.records) == {"Deployments-7781", "Deployments-7779"}
    assert deployments.warnings[0] == (
        "deployments: source 'octo', file deployments/page-0001.json, "
        "record Deployments-7780, field 'Created': expected an ISO-8601 timestamp "
        "with a UTC offset, got str 'yesterday'"
    )
    # The skipped record also leaves the page count short of TotalResults.
    assert (
        "2 unique records read from API pages but TotalResults says 3"
        in (deployments.warnings[1])
    )


def test_timestamp_without_offset_is_rejected(export: Path) -> None:
    edit_items(export / "tasks.json", 0, StartTime="2026-11-18T21:01:40")

    tasks = read(export).resources["tasks"]

    assert tasks.status is SourceStatus.INCOMPLETE
    assert "ServerTasks-66120" not in tasks.records
    assert "record ServerTasks-66120, field 'StartTime'" in tasks.warnings[0]


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("RelatedDocumentIds", "Projects-41", "a list of strings"),
        ("RelatedDocumentIds", ["Projects-41", 7], "a list of strings"),
        ("IsService", "false", "true or false"),
        ("UserId", 212, "a string"),
    ],
)
def test_wrong_field_type_skips_the_event(
    export: Path, field: str, value: Any, expected: str
) -> None:
    edit_items(export / "events" / "Spaces-2.page-0001.json", 0, **{field: value})

    events = read(export).resources["events"]

    assert events.status is SourceStatus.INCOMPLETE
    assert "Events-70021" not in events.records
    assert "Events-70020" in events.records
    assert (
        f"record Events-70021, field '{field}': expected {expected}"
        in (events.warnings[0])
    )


def test_non_object_records_and_records_without_id_are_named_by_index(
    export: Path,
) -> None:
    document = load(export / "users.json")
    document["Items"][1:1] = [42, {"Username": "no-id"}, {"Id": ""}]
    save(export / "users.json", document)

    users = read(export).resources["users"]

    assert users.status is SourceStatus.INCOMPLETE
    assert len(users.records) == 4
    assert users.warnings[:3] == [
        "users: source 'octo', file users.json, record Items[1]: "
        "expected a JSON object, got int",
        "users: source 'octo', file users.json, record Items[2], field 'Id': "
        "expected a non-empty string id, got None",
        "users: source 'octo', file users.json, record Items[3], field 'Id': "
        "expected a non-empty string id, got ''",
    ]


def test_torn_archive_line_is_named_by_line_and_the_rest_kept(export: Path) -> None:
    archive = export / "events" / "events-2026-11-17.jsonl"
    lines = archive.read_text(encoding="utf-8").splitlines()
    lines.insert(1, '{"Id": "Events-50003", "Category": "Crea')
    archive.write_text("\n".join(lines), encoding="utf-8")

    events = read(export).resources["events"]

    assert events.status is SourceStatus.INCOMPLETE
    assert {"Events-50001", "Events-50002"} <= set(events.records)
    assert events.warnings[0].startswith(
        "events: source 'octo', file events/events-2026-11-17.jsonl, record line 2: "
        "the line is not valid JSON"
    )


def test_many_bad_records_are_capped_in_the_warnings(export: Path) -> None:
    document = load(export / "tasks.json")
    document["Items"].extend(
        {"Id": f"ServerTasks-9{n:03}", "QueueTime": 5} for n in range(50)
    )
    document["TotalResults"] = len(document["Items"])
    save(export / "tasks.json", document)

    tasks = read(export).resources["tasks"]

    assert tasks.status is SourceStatus.INCOMPLETE
    assert len(tasks.records) == 4
    problems = [w for w in tasks.warnings if "field 'QueueTime'" in w]
    assert len(problems) == 20
    assert "tasks: ... and 30 more problems with files or records" in tasks.warnings


def test_hostile_text_is_kept_exactly(export: Path) -> None:
    hostile = "\x00\x1b[2J\u202eevil\u2028" + "\U0001f4a5" * 10 + "x" * 1_000_000
    edit_items(export / "events" / "Spaces-2.page-0001.json", 1, Username=hostile)
    edit_items(export / "releases.json", 0, ReleaseNotes=hostile)

    data = read(export)

    assert data.resources["events"].records["Events-70020"]["Username"] == hostile
    assert data.resources["releases"].records["Releases-3302"]["ReleaseNotes"] == (
        hostile
    )
    assert data.overall_status() is SourceStatus.COMPLETE


def test_huge_bad_value_is_cut_short_in_the_warning(export: Path) -> None:
    edit_items(export / "tasks.json", 1, CompletedTime="9" * 100_000)

    warning = read(export).resources["tasks"].warnings[0]

    assert len(warning) < 400
    assert "100,002 characters" in warning


def test_configuration_resources_keep_every_field_with_utc_times() -> None:
    data = read(FIXTURE)

    release = data.resources["releases"].records["Releases-3300"]
    assert release["Assembled"] == "2026-11-10T14:00:00.000000Z"
    assert release["ReleaseNotes"] == ""
    assert "SelectedPackages" not in release  # releases are projected
    project = data.resources["projects"].records["Projects-41"]
    assert project["LastModifiedOn"] == "2026-03-01T10:00:00.000000Z"
    assert project["Links"] == {"Self": "/api/Spaces-1/projects/Projects-41"}
    assert project["ExtensionSettings"][0]["Values"]["ServiceNowChangeControlled"]
    team = data.resources["teams"].records["Teams-12"]
    assert team["MemberUserIds"] == ["Users-212", "Users-377"]
    approval = data.resources["servertaskapprovals"].records["ServerTaskApprovals-55"]
    assert approval["ChangeRequest"]["Number"] == "CHG0031337"


def test_api_keys_drop_the_masked_key_and_keep_expiry() -> None:
    keys = read(FIXTURE).resources["apikeys"].records

    assert keys["APIKeys-501"]["Expires"] is None
    assert keys["APIKeys-502"]["Expires"] == "2026-07-15T10:20:00.000000Z"
    assert all("ApiKey" not in key for key in keys.values())


def test_team_members_that_are_not_a_list_skip_the_team(export: Path) -> None:
    edit_items(export / "teams.json", 0, MemberUserIds="Users-212")

    teams = read(export).resources["teams"]

    assert teams.status is SourceStatus.INCOMPLETE
    assert set(teams.records) == {"teams-administrators"}
    assert "record Teams-12, field 'MemberUserIds'" in teams.warnings[0]


def test_evidence_files_are_exactly_the_files_read(export: Path) -> None:
    (export / "events" / "README.txt").write_text("notes", encoding="utf-8")
    (export / "events" / ".DS_Store").write_bytes(b"\x00")
    collector = OctopusExportCollector()

    listed = {
        path.relative_to(export).as_posix() for path in collector.evidence_files(export)
    }
    data = collector.read(export, "octo")

    read_paths = {f.path for r in data.resources.values() for f in r.files}
    assert listed == read_paths | {"events/README.txt"}  # staged, so kept
    assert len(listed) == 19
    assert data.resources["events"].warnings == [
        "events: events/README.txt is not a *.json or *.jsonl page file at the top "
        "of events/, so it was not read"
    ]
    assert data.resources["events"].status is SourceStatus.INCOMPLETE


def test_missing_folder_raises_collection_error(tmp_path: Path) -> None:
    collector = OctopusExportCollector()

    with pytest.raises(CollectionError, match="cannot open the export folder"):
        collector.read(tmp_path / "absent", "octo")
    with pytest.raises(CollectionError, match="cannot open the export folder"):
        collector.evidence_files(tmp_path / "absent")


def test_a_file_instead_of_a_folder_raises_collection_error(tmp_path: Path) -> None:
    not_a_folder = tmp_path / "export.zip"
    not_a_folder.write_bytes(b"PK")

    with pytest.raises(CollectionError, match="expected an export folder"):
        OctopusExportCollector().read(not_a_folder, "octo")


def test_total_results_that_is_not_a_count_fails_the_resource(export: Path) -> None:
    document = load(export / "tasks.json")
    document["TotalResults"] = "4"
    save(export / "tasks.json", document)

    tasks = read(export).resources["tasks"]

    assert tasks.status is SourceStatus.FAILED
    assert "field 'TotalResults': expected a record count" in tasks.warnings[0]


@pytest.mark.parametrize("enabled", [True, False])
def test_reading_restores_the_garbage_collector_state(enabled: bool) -> None:
    was = gc.isenabled()
    set_gc = {True: gc.enable, False: gc.disable}
    try:
        set_gc[enabled]()
        read(FIXTURE)
        assert gc.isenabled() is enabled
    finally:
        set_gc[was]()


def test_absent_optional_resource_keeps_the_source_complete(tmp_path: Path) -> None:
    """No servertaskapprovals.json: the resource is MISSING but not a gap."""
    folder = tmp_path / "octopus"
    shutil.copytree(Path(__file__).parent / "data" / "octopus" / "export", folder)
    (folder / "servertaskapprovals.json").unlink(missing_ok=True)
    data = OctopusExportCollector().read(folder, "octopus")
    assert data.resources["servertaskapprovals"].status is SourceStatus.MISSING
    assert data.overall_status() is SourceStatus.COMPLETE
    (folder / "teams.json").unlink()
    data = OctopusExportCollector().read(folder, "octopus")
    assert data.overall_status() is SourceStatus.INCOMPLETE
