"""The ServiceNow export collector: value shapes, coercion, CSV and bad input."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from evidencekit.collectors.base import SourceData
from evidencekit.collectors.servicenow import ServiceNowExportCollector
from evidencekit.errors import CollectionError
from evidencekit.results import SourceStatus

DATA = Path(__file__).parent / "data" / "servicenow"
CHANGE = "a1b2c3d4e5f60718293a4b5c6d7e8f90"
EMERGENCY = "c3d4e5f60718293a4b5c6d7e8f90a1b2"
STANDARD = "e5f60718293a4b5c6d7e8f90a1b2c3d4"
REQUESTER = "5f0e2b1a9c3d4e5f60718293a4b5c601"
APPROVER = "9a8b7c6d5e4f30211203f4e5d6c7b803"
OPS_FOUR = "1b2c3d4e5f60718293a4b5c6d7e8f904"


@pytest.fixture
def export(tmp_path: Path) -> Path:
    """A private copy of the recorded JSON export that a test may change."""
    folder = tmp_path / "servicenow"
    shutil.copytree(DATA / "export", folder)
    return folder


def read(folder: Path) -> SourceData:
    return ServiceNowExportCollector().read(folder, "snow")


def edit_change(folder: Path, index: int, **fields: Any) -> None:
    path = folder / "change_request.json"
    document = json.loads(path.read_text(encoding="utf-8"))
    document["result"][index].update(fields)
    path.write_text(json.dumps(document), encoding="utf-8")


def test_recorded_export_is_complete() -> None:
    data = read(DATA / "export")

    counts = {name: len(resource.records) for name, resource in data.resources.items()}
    assert counts == {"change_request": 3, "sysapproval_approver": 3, "sys_user": 4}
    assert data.overall_status() is SourceStatus.COMPLETE
    assert all(not resource.warnings for resource in data.resources.values())
    change = data.resources["change_request"].records[CHANGE]
    assert change["_ref"] == f"snow/change_request/{CHANGE}"
    assert change["_file"] == "change_request.json"


def test_display_value_objects_use_the_stored_utc_value() -> None:
    change = read(DATA / "export").resources["change_request"].records[CHANGE]

    # The display values are a CET user's: 19/11/2026 00:00:00 for this end date.
    assert change["end_date"] == "2026-11-18T23:00:00.000000Z"
    assert change["start_date"] == "2026-11-18T20:30:00.000000Z"
    assert change["number"] == "CHG0031337"
    assert change["type"] == "normal"  # not the display value "Normal"
    assert change["cab_date"] == "2026-11-17T00:00:00.000000Z"


def test_all_three_reference_shapes_become_the_sys_id() -> None:
    data = read(DATA / "export")

    change = data.resources["change_request"].records[CHANGE]
    approval = data.resources["sysapproval_approver"].records[
        "f1e2d3c4b5a69788796a5b4c3d2e1f01"
    ]
    user = data.resources["sys_user"].records[REQUESTER]
    assert change["requested_by"] == REQUESTER  # {"value", "display_value", "link"}
    assert approval["approver"] == APPROVER  # {"link", "value"}
    assert approval["sysapproval"] == CHANGE
    assert user["manager"] == OPS_FOUR  # plain sys_id string
    assert change["business_service"] is None  # reference with an empty value


def test_fields_are_coerced_by_kind_and_empty_strings_become_none() -> None:
    data = read(DATA / "export")

    change = data.resources["change_request"].records[EMERGENCY]
    assert (change["state"], change["risk"], change["priority"]) == (-1, 2, 3)
    assert change["cab_required"] is False
    assert change["active"] is True
    assert change["closed_at"] is None
    assert change["closed_by"] is None
    assert change["description"] is None
    assert change["approval"] == "requested"
    approvals = data.resources["sysapproval_approver"].records
    states = sorted(approval["state"] for approval in approvals.values())
    assert states == ["approved", "not requested", "requested"]  # stays a string
    assert approvals["f1e2d3c4b5a69788796a5b4c3d2e1f01"]["comments"] is None
    user = data.resources["sys_user"].records[OPS_FOUR]
    assert (user["active"], user["locked_out"], user["email"]) == (False, True, None)


def test_csv_export_matches_the_json_export() -> None:
    from_json = read(DATA / "export").resources["change_request"].records
    from_csv = read(DATA / "csv-export")

    assert from_csv.overall_status() is SourceStatus.COMPLETE
    records = from_csv.resources["change_request"].records
    assert set(records) == set(from_json)
    for sys_id, record in records.items():
        shared = set(record) - {"_file", "close_notes"}
        assert {k: record[k] for k in shared} == {
            k: from_json[sys_id][k] for k in shared
        }
    assert records[CHANGE]["_file"] == "change_request.csv"
    assert records[CHANGE]["close_notes"] == (
        "Deployed via Octopus ServerTasks-66120\nline two, with a comma"
    )


def test_csv_byte_order_mark_is_not_part_of_the_first_column() -> None:
    raw = (DATA / "csv-export" / "sys_user.csv").read_bytes()
    users = read(DATA / "csv-export").resources["sys_user"].records

    assert raw.startswith(b"\xef\xbb\xbfsys_id,")
    assert all(set(user) >= {"sys_id", "user_name"} for user in users.values())
    assert users[APPROVER]["name"] == 'Approver, Three "CAB"'


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("state", {"value": "Closed", "display_value": "Closed"}, "a whole number"),
        ("risk", "high", "a whole number"),
        ("cab_required", {"value": "yes", "display_value": "Yes"}, "'true' or 'false'"),
        ("start_date", {"value": "18/11/2026 21:30:00"}, "a UTC date-time"),
        ("requested_by", {"display_value": "Requester One"}, "a string or an"),
        ("short_description", ["a", "list"], "a plain value"),
    ],
)
def test_a_bad_field_is_blanked_the_record_kept_and_the_table_incomplete(
    export: Path, field: str, value: Any, expected: str
) -> None:
    edit_change(export, 0, **{field: value})

    changes = read(export).resources["change_request"]

    assert changes.status is SourceStatus.INCOMPLETE
    assert changes.records[CHANGE][field] is None
    assert changes.records[CHANGE]["number"] == "CHG0031337"
    assert len(changes.warnings) == 1
    assert changes.warnings[0].startswith(
        f"change_request: source 'snow', file change_request.json, record {CHANGE}, "
        f"field '{field}': expected {expected}"
    )
    assert changes.warnings[0].endswith("; the field is kept as null")


def test_record_without_sys_id_is_skipped_and_named_by_index(export: Path) -> None:
    edit_change(export, 1, sys_id={"value": "", "display_value": ""})

    changes = read(export).resources["change_request"]

    assert changes.status is SourceStatus.INCOMPLETE
    assert set(changes.records) == {CHANGE, STANDARD}
    assert changes.warnings == [
        "change_request: source 'snow', file change_request.json, record result[1], "
        "field 'sys_id': expected a non-empty sys_id string, got None"
    ]


def test_csv_row_with_the_wrong_cell_count_is_skipped(tmp_path: Path) -> None:
    folder = tmp_path / "csv"
    shutil.copytree(DATA / "csv-export", folder)
    path = folder / "sys_user.csv"
    with path.open("a", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerow(["deadbeef", "short.row"])
        csv.writer(handle).writerow(["f" * 32] + ["x"] * 13)

    users = read(folder).resources["sys_user"]

    assert users.status is SourceStatus.INCOMPLETE
    assert len(users.records) == 4
    assert users.warnings == [
        "sys_user: source 'snow', file sys_user.csv, record line 6: "
        "the row has fewer cells than the 13 columns",
        "sys_user: source 'snow', file sys_user.csv, record line 7: "
        "the row has more cells than the 13 columns",
    ]


def test_missing_table_is_missing_and_the_others_are_read(export: Path) -> None:
    (export / "sys_user.csv").unlink()

    data = read(export)

    assert data.resources["sys_user"].status is SourceStatus.MISSING
    assert data.resources["sys_user"].warnings == [
        "sys_user: required file sys_user.json or sys_user.csv "
        "(or folder sys_user/) is not in the export"
    ]
    assert data.resources["change_request"].status is SourceStatus.COMPLETE
    assert data.overall_status() is SourceStatus.INCOMPLETE


def test_malformed_json_fails_the_table_naming_the_file(export: Path) -> None:
    (export / "change_request.json").write_text('{"result": [', encoding="utf-8")

    changes = read(export).resources["change_request"]

    assert changes.status is SourceStatus.FAILED
    assert changes.warnings[0].startswith(
        "change_request: source 'snow', file change_request.json: "
        "the file is not valid JSON"
    )


def test_saved_table_api_error_fails_the_table(export: Path) -> None:
    error = {
        "error": {
            "message": "User Not Authenticated",
            "detail": "Required to provide Auth information",
        },
        "status": "failure",
    }
    (export / "sysapproval_approver.json").write_text(
        json.dumps(error), encoding="utf-8"
    )

    approvals = read(export).resources["sysapproval_approver"]

    assert approvals.status is SourceStatus.FAILED
    assert (
        "Table API error, not records: 'User Not Authenticated'"
        in (approvals.warnings[0])
    )


def test_empty_csv_file_fails_the_table(export: Path) -> None:
    (export / "sys_user.csv").write_bytes(b"")

    users = read(export).resources["sys_user"]

    assert users.status is SourceStatus.FAILED
    assert "file sys_user.csv: expected a header row" in users.warnings[0]


def test_single_record_response_is_read(export: Path) -> None:
    path = export / "change_request.json"
    document = json.loads(path.read_text(encoding="utf-8"))
    path.write_text(json.dumps({"result": document["result"][2]}), encoding="utf-8")

    changes = read(export).resources["change_request"]

    assert list(changes.records) == [STANDARD]
    assert changes.status is SourceStatus.COMPLETE


def test_json_and_csv_of_one_table_are_merged_and_deduplicated(export: Path) -> None:
    shutil.copy(DATA / "csv-export" / "sysapproval_approver.csv", export)
    path = export / "sysapproval_approver.csv"
    text = path.read_text(encoding="utf-8-sig").replace("not requested", "rejected")
    path.write_text(text, encoding="utf-8-sig")

    approvals = read(export).resources["sysapproval_approver"]

    assert len(approvals.records) == 3
    assert approvals.duplicates == 3
    # Two copies of one approval that disagree: which one is true is unknown.
    assert approvals.status is SourceStatus.INCOMPLETE
    assert approvals.records["f1e2d3c4b5a69788796a5b4c3d2e1f02"]["state"] == (
        "not requested"
    )
    assert approvals.warnings[1] == (
        "sysapproval_approver: record f1e2d3c4b5a69788796a5b4c3d2e1f02 in "
        "sysapproval_approver.csv differs from the first copy in "
        "sysapproval_approver.json (fields comments, document_id, due_date, "
        "expected_start, group, source_table, state, sys_created_by); the first "
        "copy is kept"
    )


def test_identical_copy_in_a_second_file_is_only_counted(export: Path) -> None:
    document = json.loads((export / "change_request.json").read_text("utf-8"))
    pages = export / "change_request"
    pages.mkdir()
    (pages / "all.page-0001.json").write_text(
        json.dumps({"result": document["result"][:1]}), encoding="utf-8"
    )

    changes = read(export).resources["change_request"]

    assert changes.duplicates == 1
    assert changes.status is SourceStatus.COMPLETE
    assert changes.warnings == []


def test_stray_quote_in_csv_fails_the_table_and_keeps_earlier_rows(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "csv"
    shutil.copytree(DATA / "csv-export", folder)
    shutil.copy(DATA / "stray-quote" / "sysapproval_approver.csv", folder)

    approvals = read(folder).resources["sysapproval_approver"]

    # The fifth row opens a quote that never closes; the csv module's lenient mode
    # would read it as one row holding the seven rows after it, and say nothing.
    assert approvals.status is SourceStatus.FAILED
    assert sorted(approvals.records) == [
        f"f1e2d3c4b5a69788796a5b4c3d2e1f1{n}" for n in range(4)
    ]
    assert approvals.warnings == [
        "sysapproval_approver: source 'snow', file sysapproval_approver.csv: the "
        "file is not valid UTF-8 CSV from line 6 (unexpected end of data); the "
        "rows before it are kept, none after it is read"
    ]


def test_absent_required_fields_keep_records_but_make_tables_incomplete(
    export: Path,
) -> None:
    for table, name in (("sysapproval_approver", "state"), ("change_request", "type")):
        path = export / f"{table}.json"
        document = json.loads(path.read_text(encoding="utf-8"))
        for record in document["result"]:
            del record[name]
        path.write_text(json.dumps(document), encoding="utf-8")

    data = read(export)

    approvals = data.resources["sysapproval_approver"]
    changes = data.resources["change_request"]
    assert approvals.status is SourceStatus.INCOMPLETE
    assert len(approvals.records) == 3
    assert approvals.warnings[0] == (
        "sysapproval_approver: source 'snow', file sysapproval_approver.json, "
        "record f1e2d3c4b5a69788796a5b4c3d2e1f01, field 'state': the field is "
        "absent and the policies need it; the record is kept"
    )
    assert changes.status is SourceStatus.INCOMPLETE
    assert len(changes.warnings) == 3
    assert all("field 'type': the field is absent" in w for w in changes.warnings)
    assert data.resources["sys_user"].status is SourceStatus.COMPLETE


def test_empty_required_field_is_a_value(export: Path) -> None:
    edit_change(export, 0, type={"value": "", "display_value": ""})

    changes = read(export).resources["change_request"]

    assert changes.status is SourceStatus.COMPLETE
    assert changes.records[CHANGE]["type"] is None


def test_csv_without_a_required_column_names_each_record(tmp_path: Path) -> None:
    folder = tmp_path / "csv"
    shutil.copytree(DATA / "csv-export", folder)
    path = folder / "sysapproval_approver.csv"
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = [row[:3] + row[4:] for row in csv.reader(handle)]  # drop "state"
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(rows)

    approvals = read(folder).resources["sysapproval_approver"]

    assert approvals.status is SourceStatus.INCOMPLETE
    assert len(approvals.records) == 3
    assert [w.split(", record ")[1][:32] for w in approvals.warnings] == [
        f"f1e2d3c4b5a69788796a5b4c3d2e1f0{n}" for n in (1, 2, 3)
    ]


def test_lone_surrogate_in_a_table_export_is_replaced_and_noted(
    export: Path,
) -> None:
    path = export / "sysapproval_approver.json"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace('"comments": ""', '"comments": "ok \\udc00"', 1))

    approvals = read(export).resources["sysapproval_approver"]

    record = approvals.records["f1e2d3c4b5a69788796a5b4c3d2e1f01"]
    assert record["comments"] == "ok \ufffd"
    assert approvals.status is SourceStatus.COMPLETE
    assert approvals.warnings == [
        "sysapproval_approver: file sysapproval_approver.json, record result[0], "
        "field 'comments' held an invalid Unicode code unit, shown as U+FFFD"
    ]


def test_other_files_are_staged_and_reported(export: Path) -> None:
    (export / "README.md").write_text("Exported by the CAB team", encoding="utf-8")
    (export / "sys_user.csv").rename(export / "sys_user.CSV")
    pages = export / "change_request"
    (pages / "old").mkdir(parents=True)
    (pages / "old" / "all.page-0001.json").write_text('{"result": []}', "utf-8")
    collector = ServiceNowExportCollector()

    listed = sorted(
        p.relative_to(export).as_posix() for p in collector.evidence_files(export)
    )
    data = collector.read(export, "snow")

    assert listed == [
        "README.md",
        "change_request.json",
        "change_request/old/all.page-0001.json",
        "sys_user.CSV",
        "sysapproval_approver.json",
    ]
    assert data.resources["sys_user"].status is SourceStatus.COMPLETE
    assert len(data.resources["sys_user"].records) == 4
    changes = data.resources["change_request"]
    assert changes.status is SourceStatus.INCOMPLETE
    assert changes.warnings == [
        "change_request: change_request/old/all.page-0001.json is not a *.json or "
        "*.csv page file at the top of change_request/, so it was not read",
        "change_request: the export folder also holds README.md, which is not a "
        "file of any resource; it is kept in the snapshot but not read",
    ]


def test_hostile_and_huge_text_is_kept_exactly(tmp_path: Path) -> None:
    folder = tmp_path / "csv"
    shutil.copytree(DATA / "csv-export", folder)
    huge = "\x01\x1b[31m\u202e" + "\u00e9\U0001f510" * 100_000
    path = folder / "change_request.csv"
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    rows[1][rows[0].index("short_description")] = huge
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        csv.writer(handle).writerows(rows)

    data = read(folder)
    from_json = read(DATA / "export").resources["change_request"].records

    assert data.resources["change_request"].records[CHANGE]["short_description"] == huge
    assert from_json[STANDARD]["description"].startswith("ctrl:\x01\x1b[31mred")
    assert data.overall_status() is SourceStatus.COMPLETE


def test_evidence_files_are_exactly_the_files_read() -> None:
    collector = ServiceNowExportCollector()
    folder = DATA / "export"

    listed = [
        p.relative_to(folder).as_posix() for p in collector.evidence_files(folder)
    ]
    data = collector.read(folder, "snow")

    assert listed == [f.path for r in data.resources.values() for f in r.files]
    assert listed == [
        "change_request.json",
        "sysapproval_approver.json",
        "sys_user.csv",
    ]


def test_missing_folder_raises_collection_error(tmp_path: Path) -> None:
    with pytest.raises(CollectionError, match="cannot open the export folder"):
        read(tmp_path / "nowhere")


def test_csv_header_that_repeats_a_column_fails_the_table(export: Path) -> None:
    (export / "sys_user.csv").write_text(
        "sys_id,active,active\r\n" + "1b2c3d4e5f60718293a4b5c6d7e8f904,true,false\r\n",
        encoding="utf-8",
    )

    users = read(export).resources["sys_user"]

    assert users.status is SourceStatus.FAILED
    assert users.records == {}
    assert "the header repeats the column(s) ['active']" in users.warnings[0]


def test_folder_of_table_api_pages_is_read_in_page_order(export: Path) -> None:
    document = json.loads((export / "change_request.json").read_text(encoding="utf-8"))
    (export / "change_request.json").unlink()
    pages = export / "change_request"
    pages.mkdir()
    for number, records in ((2, document["result"][2:]), (1, document["result"][:2])):
        page = pages / f"all.page-{number:04}.json"
        page.write_text(json.dumps({"result": records}), encoding="utf-8")

    changes = read(export).resources["change_request"]

    assert changes.status is SourceStatus.COMPLETE
    assert list(changes.records) == [CHANGE, EMERGENCY, STANDARD]
    assert changes.records[STANDARD]["_file"] == "change_request/all.page-0002.json"
    assert [f.records for f in changes.files] == [2, 1]
