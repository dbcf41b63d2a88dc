"""Write report.xlsx, the workbook the compliance team filters, annotates and files.

The workbook is streamed (openpyxl write-only mode), so a run with hundreds of
thousands of findings does not hold every cell in memory. Every table is an Excel
table with its own filter and a frozen header, every timestamp is a real Excel
date-time in UTC, and every text value passes through ``safe_text.cell_text``.

Known limit: openpyxl builds every cell in Python, so a workbook grows at roughly
8,000 findings a second on one free core (100,000 findings took 25 s, twice that on a
busy machine). The Findings sheet is kept unstyled to stay at that rate.
"""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import Cell, WriteOnlyCell
from openpyxl.formatting.rule import CellIsRule
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from openpyxl.worksheet.filters import AutoFilter
from openpyxl.worksheet.table import Table, TableColumn, TableStyleInfo

from evidencekit.errors import ReportError
from evidencekit.reports.json_report import (
    SEVERITY_ORDER,
    ManifestFile,
    atomic_output,
    control_finding_counts,
    evaluation_errors,
    evidence_gaps,
    manifest_files,
    sorted_controls,
    sorted_findings,
    summarise,
)
from evidencekit.reports.safe_text import cell_text
from evidencekit.results import (
    AccessEntry,
    ControlStatus,
    Finding,
    PolicyStatus,
    RunResult,
)
from evidencekit.timeutil import TimestampError, from_canonical, parse_iso_offset

logger = logging.getLogger(__name__)

DATETIME_FORMAT = "yyyy-mm-dd hh:mm:ss"
FRAMEWORK_NAMES = {"iso27001-2022": "ISO/IEC 27001:2022", "soc2-2017": "SOC 2 (2017)"}
ISO_FRAMEWORK = "iso27001-2022"
MANUAL_EVIDENCE = "Manual evidence required"
NOT_JOINED = "NOT JOINED"  # an account no identity or e-mail joins to a person

_GREEN = ("C6EFCE", "006100")
_AMBER = ("FFEB9C", "7F4F00")
_RED = ("FFC7CE", "9C0006")
_BLUE = ("DDEBF7", "1F4E78")
_STATUS_COLOURS = {
    "pass": _GREEN,
    "complete": _GREEN,
    "fail": _RED,
    "failed": _RED,
    "error": _RED,
    "not_tested": _AMBER,
    "incomplete": _AMBER,
    "missing": _AMBER,
    "manual": _BLUE,
}
_SEVERITY_COLOURS = {
    "critical": ("C00000", "FFFFFF"),
    "high": _RED,
    "medium": _AMBER,
    "low": _BLUE,
}

Row = Sequence[object]


@dataclass(frozen=True)
class Column:
    """One column of a table: its header and its width in characters."""

    header: str
    width: int


class _Sheet:
    """A streamed worksheet that knows which row it is on and builds its tables."""

    def __init__(self, workbook: Workbook, title: str, widths: Sequence[int]) -> None:
        self.ws: WriteOnlyWorksheet = workbook.create_sheet(title)
        for index, width in enumerate(widths, start=1):
            self.ws.column_dimensions[get_column_letter(index)].width = width
        self.row = 0

    def append(self, values: Row) -> None:
        """Write one row of already-safe values or styled cells."""
        self.ws.append(list(values))
        self.row += 1

    def cell(self, value: object, **style: Any) -> Cell:
        """Return a styled cell holding a safe value."""
        cell = WriteOnlyCell(self.ws, value=_safe(value))
        for name, setting in style.items():
            setattr(cell, name, setting)
        return cell

    def status(self, value: str) -> Cell:
        """Return a coloured cell for a status value such as ``not_tested``."""
        fill, font = _STATUS_COLOURS.get(value, ("FFFFFF", "000000"))
        return self.cell(
            status_label(value),
            fill=PatternFill("solid", fgColor=fill),
            font=Font(bold=True, color=font),
        )

    def table(self, name: str, columns: Sequence[Column], rows: Iterable[Row]) -> None:
        """Write a header row and the rows as one Excel table with a filter."""
        self.append([column.header for column in columns])
        first = self.row
        for values in rows:
            self.append(
                [
                    _safe(value) if not isinstance(value, Cell) else value
                    for value in values
                ]
            )
        if self.row == first:  # an Excel table needs a data row; say it is empty
            self.append(["(none)"])
        _add_table(self.ws, name, columns, first, self.row)


def write_xlsx(result: RunResult, path: Path) -> Path:
    """Write the workbook atomically and return its path."""
    started = time.monotonic()
    workbook = Workbook(write_only=True)
    _summary_sheet(workbook, result)
    _controls_sheet(workbook, result)
    _policies_sheet(workbook, result)
    _findings_sheet(workbook, result)
    _access_sheet(workbook, result)
    _evidence_sheet(workbook, result)
    _applicability_sheet(workbook, result)
    with atomic_output(path) as temporary:
        workbook.save(temporary)
    logger.info(
        "report written format=xlsx path=%s findings=%d elapsed=%.2fs",
        path,
        len(result.findings),
        time.monotonic() - started,
    )
    return path


def status_label(value: str) -> str:
    """Turn a status value (``not_tested``) into the label shown (``NOT TESTED``)."""
    return value.replace("_", " ").upper()


def completeness_banner(result: RunResult) -> str:
    """Say in words that cannot be misread whether the evidence is complete."""
    gaps = evidence_gaps(result)
    if not gaps:
        return "EVIDENCE COMPLETE: every configured source and resource was collected"
    return (
        f"EVIDENCE INCOMPLETE: {len(gaps)} gap(s) in the collected evidence. "
        "This is not a complete result: controls that depend on the missing "
        "evidence are NOT TESTED, not passed."
    )


def _summary_sheet(workbook: Workbook, result: RunResult) -> None:
    sheet = _Sheet(workbook, "Summary", [34, 70, 14, 14, 14, 14, 12, 12, 70])
    sheet.ws.freeze_panes = "A3"  # the two banner rows; set before the first row
    complete = not evidence_gaps(result)
    colours = _GREEN if complete else ("C00000", "FFFFFF")
    sheet.append(_band(sheet, completeness_banner(result), colours, size=14))
    errors = evaluation_errors(result)
    if errors:
        text = (
            f"{len(errors)} POLICY EVALUATION ERROR(S): the controls they cover "
            "are NOT TESTED. See the Policies sheet."
        )
        sheet.append(_band(sheet, text, _RED, size=12))
    else:
        sheet.append([])
    sheet.append([])
    sheet.table(
        "RunDetails",
        [Column("Item", 34), Column("Value", 70)],
        _run_details(sheet, result),
    )
    _counts_tables(sheet, result)
    _sources_table(sheet, result)


def _band(sheet: _Sheet, text: str, colours: tuple[str, str], size: int) -> Row:
    fill = PatternFill("solid", fgColor=colours[0])
    font = Font(bold=True, size=size, color=colours[1])
    first = sheet.cell(text, fill=fill, font=font)
    return [first, *(sheet.cell(None, fill=fill) for _ in range(8))]


def _run_details(sheet: _Sheet, result: RunResult) -> list[Row]:
    period = result.period
    manifest = result.manifest
    gaps = evidence_gaps(result)
    rows: list[Row] = [
        ("Organisation", result.organisation),
        ("Audit period", f"{period.start} to {period.end} ({period.timezone})"),
        ("Period start (UTC)", _datetime_cell(sheet, period.start_utc, "start_utc")),
        (
            "Period end (UTC, exclusive)",
            _datetime_cell(sheet, period.end_utc, "end_utc"),
        ),
        ("Frameworks", ", ".join(_framework_name(f) for f in result.frameworks)),
        ("Snapshot ID", result.snapshot_id),
        ("Manifest SHA-256", result.manifest_sha256),
        (
            "Previous manifest SHA-256",
            manifest.get("previous_manifest_sha256") or "(none: first snapshot)",
        ),
        (
            "Evidence collected (UTC)",
            _datetime_cell(sheet, manifest.get("collected_at"), "collected_at"),
        ),
        (
            "Report generated (UTC)",
            _datetime_cell(sheet, result.generated_at, "generated_at"),
        ),
        ("Tool version", result.tool_version),
        ("Policy engine", result.engine),
        ("Evidence completeness", sheet.status("incomplete" if gaps else "complete")),
    ]
    rows += [(f"Evidence gap {n}", gap) for n, gap in enumerate(gaps, start=1)]
    errors = evaluation_errors(result)
    rows += [(f"Evaluation error {n}", err) for n, err in enumerate(errors, start=1)]
    rows.append(("Findings", len(result.findings)))
    return rows


def _counts_tables(sheet: _Sheet, result: RunResult) -> None:
    summary = summarise(result)
    control_statuses = [status.value for status in ControlStatus]
    sheet.append([])
    sheet.append([sheet.cell("Controls by framework and status", font=Font(bold=True))])
    sheet.table(
        "ControlCounts",
        [Column("Framework", 34), *_count_columns(control_statuses)],
        [
            (_framework_name(framework), *counts.values())
            for framework, counts in summary["frameworks"].items()
        ],
    )
    policy_statuses = [status.value for status in PolicyStatus]
    sheet.append([])
    sheet.append([sheet.cell("Policies by status", font=Font(bold=True))])
    sheet.table(
        "PolicyCounts",
        [Column("Policies", 34), *_count_columns(policy_statuses)],
        [("All policies", *summary["policies"].values())],
    )


def _count_columns(statuses: list[str]) -> list[Column]:
    return [
        *(Column(status_label(s).capitalize(), 14) for s in statuses),
        Column("Total", 12),
    ]


def _sources_table(sheet: _Sheet, result: RunResult) -> None:
    columns = [
        Column("Source", 34),
        Column("Type", 70),
        Column("Source status", 14),
        Column("Resource", 14),
        Column("Resource status", 14),
        Column("Records", 14),
        Column("Duplicates", 12),
        Column("Location", 12),
        Column("Warnings", 70),
    ]
    rows: list[Row] = []
    for source in result.sources:
        source_status = sheet.status(source.status.value)
        if not source.resources:
            rows.append(
                (
                    source.name,
                    source.type,
                    source_status,
                    "(none read)",
                    sheet.status(source.status.value),
                    0,
                    0,
                    source.location,
                    source.error or "",
                )
            )
        for resource in source.resources:
            rows.append(
                (
                    source.name,
                    source.type,
                    sheet.status(source.status.value),
                    resource.name,
                    sheet.status(resource.status.value),
                    resource.records,
                    resource.duplicates,
                    source.location,
                    "\n".join(resource.warnings),
                )
            )
    sheet.append([])
    sheet.append([sheet.cell("Sources and resources", font=Font(bold=True))])
    sheet.table("Sources", columns, rows)


def _controls_sheet(workbook: Workbook, result: RunResult) -> None:
    columns = [
        Column("Framework", 20),
        Column("Control", 10),
        Column("Title", 50),
        Column("Theme", 24),
        Column("Status", 14),
        Column("Policies", 44),
        Column("Findings", 10),
    ]
    sheet = _Sheet(workbook, "Controls", [column.width for column in columns])
    sheet.ws.freeze_panes = "A2"
    counts = control_finding_counts(result)
    sheet.table(
        "Controls",
        columns,
        (
            (
                _framework_name(control.framework),
                control.id,
                control.title,
                control.theme,
                sheet.status(control.status.value),
                "\n".join(control.policies),
                counts[(control.framework, control.id)],
            )
            for control in sorted_controls(result)
        ),
    )


def _policies_sheet(workbook: Workbook, result: RunResult) -> None:
    columns = [
        Column("Policy", 28),
        Column("Title", 50),
        Column("Severity", 10),
        Column("Status", 14),
        Column("Tested", 10),
        Column("Findings", 10),
        Column("Controls", 24),
        Column("Reason", 60),
        Column("Evidence gaps", 34),
    ]
    sheet = _Sheet(workbook, "Policies", [column.width for column in columns])
    sheet.ws.freeze_panes = "A2"
    sheet.table(
        "Policies",
        columns,
        (
            (
                policy.id,
                policy.title,
                policy.severity,
                sheet.status(policy.status.value),
                policy.tested,
                policy.findings,
                "\n".join(policy.controls),
                policy.reason or "",
                "\n".join(policy.evidence_gaps),
            )
            for policy in result.policies
        ),
    )


def _findings_sheet(workbook: Workbook, result: RunResult) -> None:
    columns = [
        Column("Policy", 26),
        Column("Severity", 10),
        Column("Resource", 28),
        Column("Message", 90),
        Column("Controls", 18),
        Column("Evidence refs", 56),
        Column("Evidence file", 40),
        Column("SHA-256", 66),
    ]
    sheet = _Sheet(workbook, "Findings", [column.width for column in columns])
    sheet.ws.freeze_panes = "A2"
    # Plain values only: styling 200,000 rows cell by cell is what makes large
    # workbooks slow. Severity is coloured with conditional formatting instead.
    sheet.table(
        "Findings", columns, map(_finding_row, sorted_findings(result.findings))
    )
    _colour_severity(sheet.ws, f"B2:B{max(sheet.row, 2)}")


def _finding_row(finding: Finding) -> Row:
    refs = finding.evidence
    return (
        finding.policy,
        finding.severity,
        finding.resource,
        finding.message,
        "\n".join(finding.controls),
        "\n".join(ref.ref for ref in refs) or "(no evidence reference)",
        "\n".join(ref.file or "(file not recorded)" for ref in refs),
        "\n".join(ref.sha256 or "(hash not recorded)" for ref in refs),
    )


def _colour_severity(ws: WriteOnlyWorksheet, cells: str) -> None:
    for severity in SEVERITY_ORDER:
        if severity not in _SEVERITY_COLOURS:
            continue
        fill, font = _SEVERITY_COLOURS[severity]
        ws.conditional_formatting.add(
            cells,
            CellIsRule(
                operator="equal",
                formula=[f'"{severity}"'],
                fill=PatternFill("solid", bgColor=fill),
                font=Font(bold=True, color=font),
            ),
        )


def _access_sheet(workbook: Workbook, result: RunResult) -> None:
    columns = [
        Column("Person", 34),
        Column("System", 22),
        Column("Account", 44),
        Column("Entitlement", 24),
        Column("Scope", 44),
        Column("Granted via", 70),
        Column("Evidence refs", 60),
    ]
    sheet = _Sheet(workbook, "Access review", [column.width for column in columns])
    sheet.ws.freeze_panes = "A3"  # the banner row and the header row
    complete = not evidence_gaps(result)
    colours = _GREEN if complete else ("C00000", "FFFFFF")
    fill = PatternFill("solid", fgColor=colours[0])
    banner = sheet.cell(
        access_banner(result), fill=fill, font=Font(bold=True, color=colours[1])
    )
    sheet.append([banner, *(sheet.cell(None, fill=fill) for _ in columns[1:])])
    rows = [_access_row(entry) for entry in result.access_review]
    if not rows:
        rows = [("(no entitlement found in this run's evidence)",)]
    sheet.table("AccessReview", columns, rows)


def access_banner(result: RunResult) -> str:
    """Say how far the access review can be trusted, and how many rows are unjoined."""
    entries = result.access_review
    unjoined = sum(1 for entry in entries if entry.person is None)
    counts = (
        f"{len(entries)} row(s); {unjoined} account row(s) {NOT_JOINED} to a person"
    )
    gaps = evidence_gaps(result)
    if gaps:
        return (
            f"ACCESS REVIEW FROM INCOMPLETE EVIDENCE: {len(gaps)} gap(s) (see "
            f"Summary), so accounts or entitlements may be missing. {counts}."
        )
    return f"Access review from complete evidence: {counts}."


def _access_row(entry: AccessEntry) -> Row:
    return (
        entry.person or NOT_JOINED,
        entry.system,
        entry.account,
        entry.entitlement,
        entry.scope,
        entry.via,
        "\n".join(entry.evidence) or "(no evidence reference)",
    )


def _evidence_sheet(workbook: Workbook, result: RunResult) -> None:
    columns = [
        Column("Source", 16),
        Column("Resource", 22),
        Column("File", 40),
        Column("Records", 10),
        Column("SHA-256", 66),
        Column("Size (bytes)", 14),
        Column("Status", 14),
        Column("Warnings", 60),
    ]
    sheet = _Sheet(workbook, "Evidence", [column.width for column in columns])
    sheet.ws.freeze_panes = "A2"
    sheet.table(
        "ManifestFiles",
        columns,
        (_manifest_row(sheet, item) for item in manifest_files(result.manifest)),
    )
    sheet.append([])
    sheet.append(
        [sheet.cell("Evidence records referenced by findings", font=Font(bold=True))]
    )
    sheet.table(
        "ReferencedRecords",
        [
            Column("Reference", 16),
            Column("Source", 22),
            Column("Resource", 40),
            Column("Record ID", 10),
            Column("File", 66),
            Column("File SHA-256", 14),
            Column("Findings", 14),
        ],
        _referenced_rows(result.findings),
    )


def _manifest_row(sheet: _Sheet, item: ManifestFile) -> Row:
    return (
        item.source,
        item.resource,
        item.path or "(no file collected)",
        item.records,
        item.sha256 or "(hash not recorded)",
        item.size,
        sheet.status(item.status),
        "\n".join(item.warnings),
    )


def _referenced_rows(findings: Iterable[Finding]) -> list[Row]:
    rows: dict[str, list[Any]] = {}
    for finding in findings:
        for ref in finding.evidence:
            if ref.ref in rows:
                rows[ref.ref][-1] += 1
                continue
            rows[ref.ref] = [
                ref.ref,
                ref.source,
                ref.resource,
                ref.record_id,
                ref.file or "(file not recorded)",
                ref.sha256 or "(hash not recorded)",
                1,
            ]
    return [tuple(row) for row in rows.values()]


def _applicability_sheet(workbook: Workbook, result: RunResult) -> None:
    columns = [
        Column("Control", 10),
        Column("Title", 50),
        Column("Theme", 18),
        Column("Applicable", 12),
        Column("Status", 14),
        Column("How evidenced", 60),
        Column("Justification (to be completed by the organisation)", 50),
    ]
    sheet = _Sheet(
        workbook, "Statement of Applicability", [column.width for column in columns]
    )
    sheet.ws.freeze_panes = "A2"
    titles = {policy.id: policy.title for policy in result.policies}
    sheet.table(
        "StatementOfApplicability",
        columns,
        (
            (
                control.id,
                control.title,
                control.theme,
                "Yes",
                sheet.status(control.status.value),
                _how_evidenced(control.policies, titles),
                None,
            )
            for control in sorted_controls(result)
            if control.framework == ISO_FRAMEWORK
        ),
    )


def _how_evidenced(policies: list[str], titles: dict[str, str]) -> str:
    if not policies:
        return MANUAL_EVIDENCE
    return "\n".join(
        f"Policy {policy_id}: {titles.get(policy_id, '(not in this run)')}"
        for policy_id in policies
    )


def _add_table(
    ws: WriteOnlyWorksheet,
    name: str,
    columns: Sequence[Column],
    header_row: int,
    last_row: int,
) -> None:
    ref = f"A{header_row}:{get_column_letter(len(columns))}{last_row}"
    table = Table(
        displayName=name,
        ref=ref,
        autoFilter=AutoFilter(ref=ref),
        tableColumns=[
            TableColumn(id=index, name=column.header)
            for index, column in enumerate(columns, start=1)
        ],
        tableStyleInfo=TableStyleInfo(name="TableStyleLight9", showRowStripes=True),
    )
    # openpyxl warns that write-only tables need their columns set by hand: they are.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="In write-only mode")
        ws.add_table(table)


def _datetime_cell(sheet: _Sheet, text: object, field: str) -> Cell | str:
    if text is None:
        return "(not recorded)"
    try:
        moment = from_canonical(parse_iso_offset(str(text)))
    except TimestampError as err:
        raise ReportError(
            f"report.xlsx: field {field!r} is {text!r}, expected a UTC timestamp"
        ) from err
    cell = WriteOnlyCell(sheet.ws, value=moment.replace(tzinfo=None))
    cell.number_format = DATETIME_FORMAT
    cell.alignment = Alignment(horizontal="left")
    return cell


def _safe(value: object) -> object:
    if value is None or isinstance(value, bool):
        return None if value is None else ("Yes" if value else "No")
    if isinstance(value, int | float | datetime):
        return value
    return cell_text(value)


def _framework_name(framework: str) -> str:
    return FRAMEWORK_NAMES.get(framework, framework)
