"""Read a ServiceNow export folder: Table API responses or CSV exports of three tables.

A value may be a plain string or a ``{"value", "display_value", "link"}`` object; the
stored ``value`` is always used, because display values are in the exporting user's
time zone and locale. A field whose value cannot be coerced to its kind (a state that
is not a number, a date that is not a glide date-time) is kept as ``None`` with a
warning, and the resource is marked incomplete: the record itself, and the evidence
reference a finding may point to, stay in the data. A record without a ``sys_id``
cannot be referenced, so it is skipped (and the resource is incomplete too). A record
without a field the policies need (``REQUIRED_FIELDS``) is kept, and the table is
incomplete. A CSV export is parsed strictly: text the csv module cannot parse (a
quote opened and never closed) fails the table from that line on, keeping the rows
before it.

Known shortcomings: the Table API sends its record count in the ``X-Total-Count``
header, which no export file holds, so this reader cannot tell a short table from a
complete one (the live fetcher checks the count while it pages). An export taken
with ``sysparm_display_value=true`` has the same shape as a stored-value export and
is not recognised as such: its labelled states and localised dates fail coercion,
which marks the table incomplete, but its reference fields (display names, not
sys_ids) are kept as if they were ids. A stray quote in a CSV cell that a later
quote happens to close joins the rows between them into one cell; it is caught only
when that leaves a row with the wrong number of cells.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

from evidencekit.collectors._files import (
    FieldProblem,
    Interner,
    Page,
    ResourceBuilder,
    check_export_folder,
    envelope_items,
    iter_csv_rows,
    list_evidence,
    note_stray_files,
    parse_bool_text,
    parse_int_text,
    paused_garbage_collection,
    preview,
    read_json,
    relative_name,
    start_resource,
)
from evidencekit.collectors.base import (
    FileStats,
    Record,
    ResourceData,
    ResourceSpec,
    SourceData,
    register,
)
from evidencekit.errors import EvidenceError
from evidencekit.timeutil import TimestampError, parse_servicenow

logger = logging.getLogger(__name__)

_SUFFIXES: tuple[str, ...] = (".json", ".csv")

# The fields the policies read from each table. A record without one of them (the
# key absent, as when an export's column list left it out) is kept, and the table
# is incomplete: a policy would otherwise read the gap as "not approved" or "not
# an emergency". An empty value is a value and passes.
REQUIRED_FIELDS: dict[str, tuple[str, ...]] = {
    "change_request": ("number", "state", "approval", "type"),
    "sysapproval_approver": ("sysapproval", "approver", "state"),
    "sys_user": ("user_name",),
}

_INTEGER_FIELDS = frozenset({"risk", "impact", "priority", "urgency"})
_BOOLEAN_FIELDS = frozenset({"active", "cab_required", "on_hold", "locked_out"})
_TIMESTAMP_FIELDS = frozenset(
    {
        "start_date", "end_date", "work_start", "work_end", "closed_at", "opened_at",
        "sys_created_on", "sys_updated_on", "cab_date", "last_login_time",
    }
)  # fmt: skip
_REFERENCE_FIELDS = frozenset(
    {
        "requested_by", "assigned_to", "opened_by", "closed_by", "assignment_group",
        "sysapproval", "document_id", "approver", "cmdb_ci", "business_service",
        "manager", "department", "company", "location",
    }
)  # fmt: skip

_TABLES = (
    ("change_request", "Change requests: type, state, planned window, approval"),
    ("sysapproval_approver", "Individual approvals of change requests"),
    ("sys_user", "ServiceNow users, to match approvers and requesters to people"),
)

_SPECS = tuple(
    ResourceSpec(
        name=table,
        description=description,
        required=True,
        files=(f"{table}.json", f"{table}.csv"),
    )
    for table, description in _TABLES
)

Coercer = Callable[[str, Any, Interner], Any]


@register
class ServiceNowExportCollector:
    """Read Table API JSON or CSV exports of change requests, approvals and users."""

    type: ClassVar[str] = "servicenow"
    description: ClassVar[str] = (
        "ServiceNow change requests, their approvals and users from Table API "
        "responses or CSV exports"
    )
    resources: ClassVar[tuple[ResourceSpec, ...]] = _SPECS
    permissions: ClassVar[tuple[str, ...]] = (
        "read ACL on table change_request",
        "read ACL on table sysapproval_approver",
        "read ACL on table sys_user",
    )

    def evidence_files(self, folder: Path) -> list[Path]:
        """List the table exports, and every other file ``read`` reports on."""
        return list_evidence(folder, self.type, self._layout(), strays=True)

    def read(self, folder: Path, source_name: str) -> SourceData:
        """Read and normalise every table export of a ServiceNow folder."""
        started = time.monotonic()
        check_export_folder(folder, source_name)
        data = SourceData(name=source_name, type=self.type, location=str(folder))
        with paused_garbage_collection():
            for spec in self.resources:
                reader = _TableReader(folder, source_name, spec)
                data.resources[spec.name] = reader.read()
        first = data.resources[self.resources[0].name]
        note_stray_files(first, folder, self._layout())
        logger.info(
            "collected source=%s type=%s status=%s records=%d elapsed=%.2fs",
            data.name,
            data.type,
            data.overall_status().value,
            sum(len(resource.records) for resource in data.resources.values()),
            time.monotonic() - started,
        )
        return data

    def _layout(self) -> dict[str, tuple[str, ...]]:
        return {spec.name: _SUFFIXES for spec in self.resources}


class _TableReader:
    """Read one ServiceNow table from its JSON and CSV exports."""

    def __init__(self, folder: Path, source: str, spec: ResourceSpec) -> None:
        self.folder = folder
        self.source = source
        self.spec = spec
        self.coercers = _coercers_for(spec.name)
        self.intern = Interner()
        self.builder: ResourceBuilder

    def read(self) -> ResourceData:
        """Read every export file of the table."""
        self.builder, paths = start_resource(
            self.folder,
            self.source,
            self.spec.name,
            _SUFFIXES,
            required=self.spec.required,
            required_fields=REQUIRED_FIELDS.get(self.spec.name, ()),
        )
        for path in paths:
            relative = self.intern[relative_name(path, self.folder)]
            stats = self.builder.open_file(path, relative)
            try:
                if path.suffix.lower() == ".csv":
                    self._read_csv(path, stats)
                else:
                    self._read_json(path, stats)
            except EvidenceError as err:
                self.builder.bad_file(err)
        return self.builder.finish()

    def _read_json(self, path: Path, stats: FileStats) -> None:
        document = read_json(path, stats.path, self.source, self.builder)
        page = _table_items(document, stats.path, self.source)
        for index, raw in enumerate(page.items):
            self._add(raw, stats, f"result[{index}]")

    def _read_csv(self, path: Path, stats: FileStats) -> None:
        for line, row, problem in iter_csv_rows(path, stats.path, self.source):
            if problem is not None:
                self.builder.bad_record(
                    EvidenceError(
                        problem,
                        source=self.source,
                        file=stats.path,
                        record=f"line {line}",
                    )
                )
                continue
            self._add(row, stats, f"line {line}")

    def _add(self, raw: Any, stats: FileStats, where: str) -> None:
        """Normalise and add one raw record; report it if it cannot be used."""
        try:
            sys_id, record, problems = self._normalise(raw, stats.path, where)
        except EvidenceError as err:
            self.builder.bad_record(err)
            return
        for problem in problems:
            self.builder.bad_record(
                EvidenceError(
                    f"{problem.reason}; the field is kept as null",
                    source=self.source,
                    file=stats.path,
                    record=sys_id,
                    field=problem.field_name,
                )
            )
        self.builder.add(sys_id, record, stats)

    def _normalise(
        self, raw: Any, relative: str, where: str
    ) -> tuple[str, Record, list[FieldProblem]]:
        if not isinstance(raw, dict):
            raise EvidenceError(
                f"expected a JSON object, got {type(raw).__name__}",
                source=self.source,
                file=relative,
                record=where,
            )
        record: Record = {}
        problems: list[FieldProblem] = []
        for name, value in raw.items():
            key = self.intern[name]
            coerce: Coercer = self.coercers.get(key, _text)
            try:
                record[key] = coerce(key, _stored_value(key, value), self.intern)
            except FieldProblem as problem:
                record[key] = None
                problems.append(problem)
        return self._record_id(record, relative, where), record, problems

    def _record_id(self, record: Record, relative: str, where: str) -> str:
        sys_id = record.get("sys_id")
        if isinstance(sys_id, str) and sys_id:
            return sys_id
        raise EvidenceError(
            f"expected a non-empty sys_id string, got {preview(sys_id)}",
            source=self.source,
            file=relative,
            record=where,
            field="sys_id",
        )


def _table_items(document: Any, relative: str, source: str) -> Page:
    """Take the records out of a Table API response, a single record or a list."""
    if isinstance(document, dict) and "error" in document and "result" not in document:
        error = document["error"]
        message = error.get("message") if isinstance(error, dict) else error
        raise EvidenceError(
            f"the export holds a Table API error, not records: {preview(message)}",
            source=source,
            file=relative,
        )
    if isinstance(document, dict) and isinstance(document.get("result"), dict):
        return Page(items=[document["result"]])
    return envelope_items(document, relative, source, "result", None)


def _stored_value(name: str, value: Any) -> Any:
    """Unwrap ``{"value", ...}`` objects; every reference shape becomes its sys_id."""
    if isinstance(value, dict):
        if "value" not in value:
            raise FieldProblem(
                name,
                f"expected a string or an object with 'value', got {preview(value)}",
            )
        value = value["value"]
    if isinstance(value, dict | list):
        raise FieldProblem(name, f"expected a plain value, got {preview(value)}")
    return None if value == "" else value


def _coercers_for(table: str) -> dict[str, Coercer]:
    """Map each typed field of a table to the function that converts it."""
    coercers: dict[str, Coercer] = {}
    coercers.update(dict.fromkeys(_INTEGER_FIELDS, _integer))
    coercers.update(dict.fromkeys(_BOOLEAN_FIELDS, _boolean))
    coercers.update(dict.fromkeys(_TIMESTAMP_FIELDS, _timestamp))
    coercers.update(dict.fromkeys(_REFERENCE_FIELDS, _reference))
    if table == "change_request":  # sysapproval_approver.state is a word, not a number
        coercers["state"] = _integer
    return coercers


def _text(name: str, value: Any, intern: Interner) -> str | None:
    """Keep a string; numbers and booleans from hand-made JSON become their text."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    raise FieldProblem(name, f"expected a string, got {preview(value)}")


def _integer(name: str, value: Any, intern: Interner) -> int | None:
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        try:
            return parse_int_text(value)
        except ValueError as err:
            raise FieldProblem(
                name, f"expected a whole number, got {preview(value)}"
            ) from err
    raise FieldProblem(name, f"expected a whole number, got {preview(value)}")


def _boolean(name: str, value: Any, intern: Interner) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        try:
            return parse_bool_text(value)
        except ValueError as err:
            raise FieldProblem(
                name, f"expected 'true' or 'false', got {preview(value)}"
            ) from err
    raise FieldProblem(name, f"expected 'true' or 'false', got {preview(value)}")


def _timestamp(name: str, value: Any, intern: Interner) -> str | None:
    if value is None:
        return None
    expected = "expected a UTC date-time YYYY-MM-DD HH:MM:SS"
    if not isinstance(value, str):
        raise FieldProblem(name, f"{expected}, got {preview(value)}")
    try:
        return parse_servicenow(value)
    except TimestampError as err:
        raise FieldProblem(name, f"{expected}, got {preview(value)}") from err


def _reference(name: str, value: Any, intern: Interner) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return intern[value]
    raise FieldProblem(name, f"expected a sys_id string, got {preview(value)}")
