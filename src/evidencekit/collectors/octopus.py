"""Read an Octopus Deploy export folder: API pages, event archives and config lists.

Pages named ``<query>.page-<n>.json`` (or ``page-<n>.json``) in a resource folder
belong to one query; any other ``.json`` file is a query of its own. Each query's
unique records are checked against the largest ``TotalResults`` its pages claim, and
a shortfall marks the resource incomplete. ``ItemsPerPage`` and ``Links`` are not
trusted, so neither is checked.

Known shortcomings, each reported rather than hidden where it can be:

- Daily event archives (``events-YYYY-MM-DD.jsonl``) carry no count, so a day that is
  absent or cut short cannot be detected; only API pages are checked for gaps.
- A plain list, or an envelope without ``TotalResults``, cannot be checked either;
  its records are read and the resource stays complete.
- Only the top-level timestamp fields listed below are normalised in the resources
  that keep every field; a timestamp nested deeper (inside ``ChangeDetails``, say)
  is kept as Octopus sent it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any, ClassVar

from evidencekit.collectors._files import (
    FieldProblem,
    Interner,
    ResourceBuilder,
    check_export_folder,
    envelope_items,
    iter_json_lines,
    list_evidence,
    page_of,
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
from evidencekit.timeutil import TimestampError, parse_iso_offset

logger = logging.getLogger(__name__)


class _Kind(Enum):
    """What a projected field must hold."""

    TEXT = "text"  # kept as sent
    KEY = "key"  # an id or name that repeats across records: one shared copy
    TIME = "time"
    FLAG = "flag"
    IDS = "ids"  # null or absent becomes []
    MAP = "map"  # null or absent becomes {}


_EXPECTED = {
    _Kind.TEXT: "a string",
    _Kind.KEY: "a string",
    _Kind.TIME: "an ISO-8601 timestamp with a UTC offset",
    _Kind.FLAG: "true or false",
    _Kind.IDS: "a list of strings",
    _Kind.MAP: "an object",
}


_T, _K, _TS, _B = _Kind.TEXT, _Kind.KEY, _Kind.TIME, _Kind.FLAG

# The fields kept for the high-volume resources (docs/data-model.md, section 1).
# A field absent from a record is kept as None ([] or {} for lists and maps), so a
# policy never meets an undefined field.
_PROJECTIONS: dict[str, tuple[tuple[str, _Kind], ...]] = {
    "events": (
        ("Id", _T), ("Category", _K), ("UserId", _K), ("Username", _K),
        ("IsService", _B), ("Occurred", _TS), ("RelatedDocumentIds", _Kind.IDS),
        ("SpaceId", _K),
    ),
    "deployments": (
        ("Id", _T), ("Name", _T), ("ProjectId", _K), ("ReleaseId", _K),
        ("EnvironmentId", _K), ("ChannelId", _K), ("TenantId", _K), ("TaskId", _T),
        ("DeployedBy", _K), ("DeployedById", _K), ("Created", _TS),
        ("QueueTime", _TS), ("Comments", _T), ("FormValues", _Kind.MAP),
        ("FailureEncountered", _B), ("SkipActions", _Kind.IDS), ("SpaceId", _K),
    ),
    "tasks": (
        ("Id", _T), ("Name", _K), ("Description", _T), ("State", _K),
        ("QueueTime", _TS), ("StartTime", _TS), ("CompletedTime", _TS),
        ("FinishedSuccessfully", _B), ("IsCompleted", _B), ("ErrorMessage", _T),
        ("SpaceId", _K),
    ),
    "releases": (
        ("Id", _T), ("Version", _T), ("ProjectId", _K), ("ChannelId", _K),
        ("Assembled", _TS), ("ReleaseNotes", _T), ("IgnoreChannelRules", _B),
        ("SpaceId", _K),
    ),
    "runbookruns": (
        ("Id", _T), ("Name", _T), ("RunbookId", _K), ("ProjectId", _K),
        ("EnvironmentId", _K), ("TaskId", _T), ("Created", _TS), ("DeployedBy", _K),
        ("DeployedById", _K), ("SpaceId", _K),
    ),
    "apikeys": (
        ("Id", _T), ("Purpose", _T), ("UserId", _K), ("Created", _TS),
        ("Expires", _TS),
    ),
}  # fmt: skip

# Top-level timestamp fields normalised in the resources that keep every field.
_TIMESTAMP_FIELDS = frozenset(
    {
        "Occurred", "Created", "QueueTime", "QueueTimeExpiry", "StartTime",
        "CompletedTime", "Assembled", "LastModifiedOn", "Expires",
    }
)  # fmt: skip

# List fields the policy index joins on; anything but a list (or null) is refused.
_LIST_FIELDS = frozenset(
    {
        "MemberUserIds", "EnvironmentIds", "ProjectIds", "ProjectGroupIds",
        "TenantIds", "GrantedSpacePermissions", "GrantedSystemPermissions",
    }
)  # fmt: skip

_OBJECT_FIELDS = frozenset({"ChangeRequest", "FormValues"})

_RESOURCES = (
    ("events", "Audit events: who did what, when, to which documents"),
    ("deployments", "Deployments: release, environment, who deployed and when"),
    ("tasks", "Server tasks: the outcome and timing of each deployment or run"),
    ("releases", "Releases: version, channel and whether channel rules were ignored"),
    ("projects", "Projects and their settings"),
    ("environments", "Environments, including their change-control settings"),
    ("runbooks", "Runbooks, such as backup and restore procedures"),
    ("runbookruns", "Runbook runs: which runbook ran where and when"),
    ("users", "User and service accounts"),
    ("teams", "Teams and their member users"),
    ("userroles", "User roles and the permissions they grant"),
    ("scopeduserroles", "Roles granted to teams, with their scope"),
    ("apikeys", "API keys of every user: purpose, creation and expiry"),
    ("servertaskapprovals", "Approvals of server tasks, with any ITSM change link"),
)
_OPTIONAL = frozenset({"servertaskapprovals"})


def _files_of(name: str) -> tuple[str, ...]:
    if name == "events":
        return ("events/*.json", "events/events-YYYY-MM-DD.jsonl", "events.json")
    return (f"{name}.json", f"{name}/*.json")


def _suffixes(name: str) -> tuple[str, ...]:
    return (".json", ".jsonl") if name == "events" else (".json",)


_SPECS = tuple(
    ResourceSpec(
        name=name,
        description=description,
        required=name not in _OPTIONAL,
        files=_files_of(name),
    )
    for name, description in _RESOURCES
)


@dataclass
class _QueryGroup:
    """The API pages of one query: the ids they held and the totals they claimed."""

    ids: set[str] = field(default_factory=set)
    totals: list[tuple[str, int]] = field(default_factory=list)


@register
class OctopusExportCollector:
    """Read the files an Octopus Deploy export (or the live collector) writes."""

    type: ClassVar[str] = "octopus"
    description: ClassVar[str] = (
        "Octopus Deploy audit events, deployments, tasks, releases, runbook runs, "
        "users, teams, roles and API keys from an export folder of API pages"
    )
    resources: ClassVar[tuple[ResourceSpec, ...]] = _SPECS
    # Read-only permissions of the exporting account. Listing another user's API keys
    # may need more than UserView on some versions [unverified]; a key list that is
    # short for that reason is not detected here.
    permissions: ClassVar[tuple[str, ...]] = (
        "EventView",
        "DeploymentView",
        "TaskView",
        "ReleaseView",
        "ProjectView",
        "EnvironmentView",
        "RunbookView",
        "TeamView",
        "UserView",
        "UserRoleView",
    )

    def evidence_files(self, folder: Path) -> list[Path]:
        """List the page, archive and list files that ``read`` will use."""
        layout = {spec.name: _suffixes(spec.name) for spec in self.resources}
        return list_evidence(folder, self.type, layout)

    def read(self, folder: Path, source_name: str) -> SourceData:
        """Read and normalise every resource of an Octopus export folder."""
        started = time.monotonic()
        check_export_folder(folder, source_name)
        data = SourceData(name=source_name, type=self.type, location=str(folder))
        with paused_garbage_collection():
            for spec in self.resources:
                reader = _ResourceReader(folder, source_name, spec)
                data.resources[spec.name] = reader.read()
        _log_summary(data, time.monotonic() - started)
        return data


def _log_summary(data: SourceData, elapsed: float) -> None:
    resources = data.resources.values()
    logger.info(
        "collected source=%s type=%s status=%s records=%d duplicates=%d elapsed=%.2fs",
        data.name,
        data.type,
        data.overall_status().value,
        sum(len(resource.records) for resource in resources),
        sum(resource.duplicates for resource in resources),
        elapsed,
    )


class _ResourceReader:
    """Read one Octopus resource from its page, list and archive files."""

    def __init__(self, folder: Path, source: str, spec: ResourceSpec) -> None:
        self.folder = folder
        self.source = source
        self.spec = spec
        self.projection = _PLANS.get(spec.name)
        self.intern = Interner()
        self.groups: dict[str, _QueryGroup] = {}
        self.builder: ResourceBuilder

    def read(self) -> ResourceData:
        """Read every file of the resource and check the pages' claimed totals."""
        self.builder, paths = start_resource(
            self.folder,
            self.source,
            self.spec.name,
            _suffixes(self.spec.name),
            required=self.spec.required,
        )
        for path in paths:
            relative = self.intern[relative_name(path, self.folder)]
            if path.suffix == ".jsonl":
                self._read_archive(path, relative)
            else:
                self._read_page(path, relative)
        self._check_totals()
        return self.builder.finish()

    def _read_page(self, path: Path, relative: str) -> None:
        stats = self.builder.open_file(path, relative)
        try:
            document = read_json(path, relative, self.source)
            page = envelope_items(
                document, relative, self.source, "Items", "TotalResults"
            )
        except EvidenceError as err:
            self.builder.bad_file(err)
            return

        group = self.groups.setdefault(_group_name(relative), _QueryGroup())
        for index, raw in enumerate(page.items):
            record_id = self._add(raw, stats, f"Items[{index}]")
            if record_id is not None:
                group.ids.add(record_id)
        if page.total is not None:
            group.totals.append((relative, page.total))

    def _read_archive(self, path: Path, relative: str) -> None:
        stats = self.builder.open_file(path, relative)
        try:
            for line, raw, problem in iter_json_lines(path, relative, self.source):
                if problem is not None:
                    self.builder.bad_record(self._problem(problem, relative, line))
                    continue
                self._add(raw, stats, f"line {line}")
        except EvidenceError as err:
            self.builder.bad_file(err)

    def _problem(self, reason: str, relative: str, line: int) -> EvidenceError:
        return EvidenceError(
            reason, source=self.source, file=relative, record=f"line {line}"
        )

    def _add(self, raw: Any, stats: FileStats, where: str) -> str | None:
        """Normalise and add one raw record; return its id, or None if it was bad."""
        try:
            record_id, record = self._normalise(raw, stats.path, where)
        except EvidenceError as err:
            self.builder.bad_record(err)
            return None
        self.builder.add(record_id, record, stats)
        return record_id

    def _normalise(self, raw: Any, relative: str, where: str) -> tuple[str, Record]:
        if not isinstance(raw, dict):
            raise EvidenceError(
                f"expected a JSON object, got {type(raw).__name__}",
                source=self.source,
                file=relative,
                record=where,
            )
        record_id = raw.get("Id")
        if not isinstance(record_id, str) or not record_id:
            raise EvidenceError(
                f"expected a non-empty string id, got {preview(record_id)}",
                source=self.source,
                file=relative,
                record=where,
                field="Id",
            )
        try:
            if self.projection is None:
                return record_id, _keep_all(raw)
            return record_id, _project(raw, self.projection, self.intern)
        except FieldProblem as err:
            raise EvidenceError(
                err.reason,
                source=self.source,
                file=relative,
                record=record_id,
                field=err.field_name,
            ) from err

    def _check_totals(self) -> None:
        """Compare each query's unique page records with its TotalResults."""
        claimed = 0
        for name, group in sorted(self.groups.items()):
            if not group.totals:
                continue
            total = max(count for _, count in group.totals)
            claimed += total
            if len({count for _, count in group.totals}) > 1:
                self.builder.note(_disagreement(name, group, total))
            if len(group.ids) != total:
                self.builder.gap(
                    f"{len(group.ids):,} unique records read from API pages but "
                    f"TotalResults says {total:,} (query {name})"
                )
        if any(group.totals for group in self.groups.values()):
            self.builder.data.expected = claimed


def _group_name(relative: str) -> str:
    """Name the query of a page file: ``<folder>/<query>``, or the file itself."""
    folder, _, file_name = relative.rpartition("/")
    page = page_of(file_name)
    if page is None:
        return relative
    return f"{folder}/{page[0]}" if page[0] else f"{folder}/page-*"


def _disagreement(name: str, group: _QueryGroup, total: int) -> str:
    counts = ", ".join(f"{relative}: {count:,}" for relative, count in group.totals)
    return (
        f"the pages of query {name} disagree on TotalResults ({counts}); "
        f"the largest, {total:,}, is used"
    )


def _project(raw: dict[str, Any], plan: _Plan, intern: Interner) -> Record:
    """Keep only the planned fields, each checked and normalised by its kind."""
    get = raw.get
    return {name: coerce(name, get(name), intern) for name, coerce in plan}


def _keep_all(raw: dict[str, Any]) -> Record:
    """Keep every field, normalising timestamps and checking the join fields' types."""
    record = dict(raw)
    for name in _TIMESTAMP_FIELDS.intersection(raw):
        record[name] = _timestamp(name, raw[name])
    for name in _LIST_FIELDS.intersection(raw):
        if raw[name] is not None and not isinstance(raw[name], list):
            raise FieldProblem(name, _wrong(_Kind.IDS, raw[name]))
    for name in _OBJECT_FIELDS.intersection(raw):
        if raw[name] is not None and not isinstance(raw[name], dict):
            raise FieldProblem(name, _wrong(_Kind.MAP, raw[name]))
    return record


def _wrong(kind: _Kind, value: Any) -> str:
    return f"expected {_EXPECTED[kind]}, got {type(value).__name__} {preview(value)}"


def _timestamp(name: str, value: Any) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise FieldProblem(name, _wrong(_Kind.TIME, value))
    try:
        return parse_iso_offset(value)
    except TimestampError as err:
        raise FieldProblem(name, _wrong(_Kind.TIME, value)) from err


def _text(name: str, value: Any, intern: Interner) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise FieldProblem(name, _wrong(_Kind.TEXT, value))


def _key(name: str, value: Any, intern: Interner) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return intern[value]
    raise FieldProblem(name, _wrong(_Kind.KEY, value))


def _flag(name: str, value: Any, intern: Interner) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    raise FieldProblem(name, _wrong(_Kind.FLAG, value))


def _ids(name: str, value: Any, intern: Interner) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return [intern[item] for item in value]
    raise FieldProblem(name, _wrong(_Kind.IDS, value))


def _map(name: str, value: Any, intern: Interner) -> dict[str, Any]:
    if value is None:
        return {}
    if isinstance(value, dict):
        return value
    raise FieldProblem(name, _wrong(_Kind.MAP, value))


def _time(name: str, value: Any, intern: Interner) -> str | None:
    return _timestamp(name, value)


_Coercer = Callable[[str, Any, Interner], Any]
_Plan = tuple[tuple[str, _Coercer], ...]

_COERCE: dict[_Kind, _Coercer] = {
    _Kind.TEXT: _text,
    _Kind.KEY: _key,
    _Kind.TIME: _time,
    _Kind.FLAG: _flag,
    _Kind.IDS: _ids,
    _Kind.MAP: _map,
}

# The projections resolved to their functions once, so reading a record does no
# enum lookups.
_PLANS: dict[str, _Plan] = {
    resource: tuple((name, _COERCE[kind]) for name, kind in fields)
    for resource, fields in _PROJECTIONS.items()
}
