"""Read a Jira Service Management export folder: requests, approvals and changelogs.

The layout is what the live fetcher (``evidencekit.collectors.jsm_live``) writes,
each page exactly as the API sent it:

- ``requests/<serviceDeskId>[-<requestTypeId>].page-0001.json``: pages of
  ``GET /rest/servicedeskapi/request`` (``start``, ``isLastPage``, ``values``);
- ``approvals/<issueKey>.page-0001.json``: pages of ``.../request/{key}/approval``;
- ``changelog/<issueKey>.page-0001.json``: pages of ``/rest/api/3/issue/{key}/
  changelog`` (``startAt``, ``total``, ``isLast``, ``values``);
- ``fields.json``: ``{"planned_start": "customfield_10040", "planned_end": ...}``,
  the custom fields that hold each request's planned window.

Each query's pages are checked for gaps: a page that starts past the end of the one
before it, a last page not marked last, a changelog shorter than its ``total``, or a
record seen twice in one list (the list moved while it was paged, so another may
have been skipped). Any of these marks the resource incomplete. A request without an
approvals or changelog file is a gap as well: nothing shows it had no approvals.

Each request record also gets ``approval_ids`` and ``status_change_ids`` (the latter
in time order), ``approval_state`` (``approved``, ``pending``, ``declined``, ``none``,
or ``unknown`` when its approval list has a gap or an unreadable part) and
``approved`` (true only for ``approved``), so a policy needs no scan to join them.

Known shortcomings: a plain JSON list (a hand-made export) carries no paging fields,
so its completeness cannot be checked; it is read and noted. A planned window field
that is not on the request type's portal form is not in ``requestFieldValues``, so
the request reads as having no window (which fails the window check rather than
passing it).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from evidencekit.collectors._files import (
    FieldProblem,
    ResourceBuilder,
    check_export_folder,
    find_resource_files,
    list_evidence,
    page_of,
    paused_garbage_collection,
    preview,
    read_json,
    relative_name,
)
from evidencekit.collectors.base import (
    FileStats,
    Record,
    ResourceData,
    ResourceSpec,
    SourceData,
    register,
)
from evidencekit.collectors.http import ApiSource, check_api_url
from evidencekit.errors import EvidenceError
from evidencekit.secrets import SecretRef
from evidencekit.timeutil import TimestampError, parse_epoch_millis, parse_iso_offset

logger = logging.getLogger(__name__)

ISSUE_KEY = re.compile(r"^[A-Z][A-Z0-9_]+-[0-9]+$")
FIELDS_FILE = "fields.json"
_SUFFIXES: tuple[str, ...] = (".json",)
_NUMERIC_ID = r"^[0-9]+$"

# The page folders of the export layout; changelog/ is read as status_changes.
_FOLDERS = ("requests", "approvals", "changelog")

_SPECS = (
    ResourceSpec(
        name="requests",
        description="Customer requests: type, status, reporter, planned window",
        files=("requests/*.json", FIELDS_FILE),
    ),
    ResourceSpec(
        name="approvals",
        description="Approval steps of each request, with every approver's decision",
        files=("approvals/<issueKey>.page-*.json",),
    ),
    ResourceSpec(
        name="status_changes",
        description="Status transitions of each request, from the issue changelog",
        files=("changelog/<issueKey>.page-*.json",),
    ),
)


# ---------------------------------------------------------------------------- config


class JsmSource(ApiSource):
    """A Jira Service Management source: an export folder (``path``) or a live site.

    A live site (``url``) needs ``service_desks`` and either ``email`` with
    ``api_token`` (Basic auth, Jira Cloud) or ``token`` (a bearer token, such as a
    Data Center personal access token). An export folder names its planned window
    fields in its own ``fields.json``, so the evidence can be re-read without the
    configuration; the ``*_field`` settings apply to a live site, whose fetch
    writes that file.
    """

    type: Literal["jsm"]
    url: str | None = None  # type: ignore[assignment]  # optional: export or live
    path: Path | None = None
    email: str | None = None
    api_token: SecretRef | None = None
    token: SecretRef | None = None
    service_desks: list[str] = Field(default_factory=list)
    request_types: list[str] = Field(default_factory=list)
    planned_start_field: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.]+$")
    planned_end_field: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.]+$")
    page_size: int = Field(default=50, ge=1, le=1000)

    @field_validator("url")
    @classmethod
    def _https(cls, value: str | None) -> str | None:  # type: ignore[override]
        # Replaces the parent's check by name, so that an export source (no url)
        # validates; a given url is held to the same https rule.
        if value is None:
            return None
        return check_api_url(value)

    @field_validator("service_desks", "request_types")
    @classmethod
    def _numeric_ids(cls, value: list[str]) -> list[str]:
        bad = [item for item in value if not re.fullmatch(_NUMERIC_ID, item)]
        if bad:
            raise ValueError(f"ids must be numbers such as 10, not {', '.join(bad)}")
        return value

    @model_validator(mode="after")
    def _one_mode(self) -> JsmSource:
        if (self.path is None) == (self.url is None):
            raise ValueError("give either path (an export folder) or url (the site)")
        if self.path is not None:
            _export_only(self)
        else:
            _live_settings(self)
        return self

    @property
    def is_live(self) -> bool:
        """True when the source is read from the site rather than a folder."""
        return self.url is not None

    def field_map(self) -> dict[str, str | None]:
        """The ``fields.json`` content a live fetch writes."""
        return {
            "planned_start": self.planned_start_field,
            "planned_end": self.planned_end_field,
        }


def _export_only(source: JsmSource) -> None:
    live_only = {
        "email": source.email,
        "api_token": source.api_token,
        "token": source.token,
        "service_desks": source.service_desks or None,
        "request_types": source.request_types or None,
        "planned_start_field": source.planned_start_field,
        "planned_end_field": source.planned_end_field,
    }
    given = [name for name, value in live_only.items() if value is not None]
    if given:
        raise ValueError(
            f"{', '.join(given)} apply to a live site (url); an export folder holds "
            f"its requests as fetched and names its window fields in {FIELDS_FILE}"
        )


def _live_settings(source: JsmSource) -> None:
    basic = source.email is not None and source.api_token is not None
    partial = (source.email is None) != (source.api_token is None)
    if partial or basic == (source.token is not None):
        raise ValueError("give either email and api_token (Basic auth) or token")
    if not source.service_desks:
        raise ValueError("a live site needs service_desks (the desk ids to read)")


# ------------------------------------------------------------------------- collector


@register
class JsmCollector:
    """Read the files a JSM export (or the live fetcher) writes."""

    type: ClassVar[str] = "jsm"
    description: ClassVar[str] = (
        "Jira Service Management change requests, their approvals and status "
        "history from pages of the Service Desk and Jira REST APIs"
    )
    resources: ClassVar[tuple[ResourceSpec, ...]] = _SPECS
    permissions: ClassVar[tuple[str, ...]] = (
        "Service Desk agent (or Browse projects) on each configured service desk",
        "Browse projects on the desks' Jira projects, to read issue changelogs",
    )

    def evidence_files(self, folder: Path) -> list[Path]:
        """List the page files and ``fields.json`` that ``read`` will use."""
        layout = {name: _SUFFIXES for name in (*_FOLDERS, "fields")}
        return list_evidence(folder, self.type, layout)

    def read(self, folder: Path, source_name: str) -> SourceData:
        """Read and normalise the requests, approvals and changelogs of a folder."""
        started = time.monotonic()
        check_export_folder(folder, source_name)
        data = SourceData(name=source_name, type=self.type, location=str(folder))
        with paused_garbage_collection():
            data.resources = _JsmReader(folder, source_name).read()
        logger.info(
            "collected source=%s type=%s status=%s records=%d elapsed=%.2fs",
            data.name,
            data.type,
            data.overall_status().value,
            sum(len(resource.records) for resource in data.resources.values()),
            time.monotonic() - started,
        )
        return data


# ---------------------------------------------------------------------------- paging


@dataclass(frozen=True)
class _Paging:
    """How one API family marks its pages."""

    offset: str
    last: str
    total: str | None


_DESK_PAGING = _Paging("start", "isLastPage", None)
_CHANGELOG_PAGING = _Paging("startAt", "isLast", "total")


@dataclass
class _Mark:
    """The paging fields of one page file."""

    relative: str
    start: int | None
    count: int
    last: bool | None
    total: int | None


@dataclass
class _Query:
    """The pages of one list (one desk, or one request's approvals or changelog)."""

    marks: list[_Mark] = field(default_factory=list)
    ids: set[str] = field(default_factory=set)  # top-level ids seen in its pages
    repeats: int = 0


class _Skip(ValueError):
    """A record that cannot be used at all (no usable id, not an object)."""

    def __init__(self, reason: str, field_name: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.field_name = field_name


Entry = tuple[str, Record, list[FieldProblem]]
Normaliser = Callable[[dict[str, Any], str], list[Entry]]


class _PagedResource:
    """Read one folder of API pages into a resource, checking each list for gaps."""

    def __init__(
        self, folder: Path, source: str, folder_name: str, resource: str
    ) -> None:
        self.folder = folder
        self.source = source
        self.folder_name = folder_name
        self.paging = _CHANGELOG_PAGING if folder_name == "changelog" else _DESK_PAGING
        self.builder = ResourceBuilder(source, resource)
        self.queries: dict[str, _Query] = {}
        self.damaged: set[str] = set()  # lists with an unreadable file or record
        self.unattributed = False  # a file whose request could not be told

    def read(
        self, normalise: Normaliser, *, keyed: bool, expected: bool = True
    ) -> None:
        """Read every page; ``keyed`` lists are named by issue key.

        An absent folder is MISSING only when ``expected``.
        """
        for path in self._paths(expected):
            relative = relative_name(path, self.folder)
            stats = self.builder.open_file(path, relative)
            query = _query_name(path)
            if keyed and not ISSUE_KEY.fullmatch(query):
                self.unattributed = True
                self.builder.bad_file(self._error(relative, _UNNAMED))
                continue
            try:
                document = read_json(path, relative, self.source)
                values, mark = _page(document, relative, self.paging)
            except EvidenceError as err:
                self.damaged.add(query)
                self.builder.bad_file(err)
                continue
            except _Skip as skip:
                self.damaged.add(query)
                self.builder.bad_file(self._error(relative, skip.reason, skip))
                continue
            group = self.queries.setdefault(query, _Query())
            group.marks.append(mark)
            for index, raw in enumerate(values):
                self._add(
                    raw,
                    query=query,
                    group=group,
                    stats=stats,
                    index=index,
                    normalise=normalise,
                )
        for query, group in self.queries.items():
            self._check(query, group)

    def _check(self, query: str, group: _Query) -> None:
        """Grade one list by its paging; a list with a gap cannot be trusted."""
        if _unpaged(group):
            self.builder.note(
                f"list {query or '(top-level file)'} has no paging fields, so it "
                "cannot be checked"
            )
            return
        for gap in _paging_gaps(self.paging, query, group):
            self.damaged.add(query)
            self.builder.gap(gap)

    def _paths(self, expected: bool) -> list[Path]:
        name = self.folder_name
        try:
            files = find_resource_files(self.folder, name, _SUFFIXES)
        except OSError as err:
            self.builder.bad_file(
                self._error(f"{name}/", f"cannot list the folder ({err.strerror})")
            )
            return []
        for ignored in files.ignored:
            self.builder.note(f"ignored {ignored}: it is not a *.json file")
        if files.paths or not expected:
            return files.paths
        if not files.found:
            self.builder.missing(f"required folder {name}/ is not in the export")
        else:
            self.builder.missing(f"required folder {name}/ holds no *.json file")
        return files.paths

    def _add(
        self,
        raw: Any,
        *,
        query: str,
        group: _Query,
        stats: FileStats,
        index: int,
        normalise: Normaliser,
    ) -> None:
        where = f"values[{index}]"
        try:
            if not isinstance(raw, dict):
                raise _Skip(f"expected a JSON object, got {type(raw).__name__}")
            entries = normalise(raw, query)
        except _Skip as skip:
            self.damaged.add(query)
            self.builder.bad_record(self._error(stats.path, skip.reason, skip, where))
            return
        top = _top_id(raw)
        group.repeats += top in group.ids
        group.ids.add(top)
        for record_id, record, problems in entries:
            for problem in problems:
                self.damaged.add(query)
                reason = f"{problem.reason}; the field is kept as null"
                self.builder.bad_record(
                    EvidenceError(
                        reason,
                        source=self.source,
                        file=stats.path,
                        record=record_id,
                        field=problem.field_name,
                    )
                )
            self.builder.add(record_id, record, stats)

    def _error(
        self,
        relative: str,
        reason: str,
        skip: _Skip | None = None,
        record: str | None = None,
    ) -> EvidenceError:
        return EvidenceError(
            reason,
            source=self.source,
            file=relative,
            record=record,
            field=skip.field_name if skip else None,
        )


_UNNAMED = (
    "expected a file named <issueKey>.page-<n>.json, so that the request it "
    "belongs to is known; the file is not read"
)


def _query_name(path: Path) -> str:
    """Name the list a page belongs to: its file prefix, or its file name."""
    page = page_of(path.name)
    return page[0] if page is not None else path.stem


def _page(document: Any, relative: str, paging: _Paging) -> tuple[list[Any], _Mark]:
    """Take the records and paging fields out of one page (or a plain list)."""
    if isinstance(document, list):
        return document, _Mark(relative, None, len(document), None, None)
    values = document.get("values") if isinstance(document, dict) else None
    if not isinstance(document, dict) or not isinstance(values, list):
        raise _Skip("expected an API page with a 'values' list, or a JSON list")
    start = _count_field(document, paging.offset)
    total = _count_field(document, paging.total)
    last = document.get(paging.last)
    flag = last if isinstance(last, bool) else None
    return values, _Mark(relative, start, len(values), flag, total)


def _count_field(document: dict[str, Any], name: str | None) -> int | None:
    if name is None or document.get(name) is None:
        return None
    value = document[name]
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _Skip(f"expected a whole number >= 0, got {preview(value)}", name)
    return value


def _paging_gaps(paging: _Paging, query: str, group: _Query) -> list[str]:
    """Return the gaps one list's pages show (an empty list when there are none)."""
    marks = group.marks
    label = query or "(top-level file)"
    gaps = []
    reached = 0
    for mark in marks:
        start = reached if mark.start is None else mark.start
        if start > reached:
            gaps.append(
                f"{mark.relative} starts at record {start} but the pages before it "
                f"end at {reached}: the records between are missing"
            )
        reached = max(reached, start + mark.count)
    if not _reached_end(marks[-1], reached):
        gaps.append(
            f"the last page of list {label} ({marks[-1].relative}) is not marked "
            f"{paging.last}: the pages after it are missing"
        )
    if group.repeats:
        gaps.append(
            f"list {label} holds {group.repeats} record(s) twice: it changed while "
            "it was paged, so another record may have been skipped"
        )
    total = marks[-1].total
    if total is not None and len(group.ids) < total:
        gaps.append(
            f"list {label} claims {total} record(s) in {paging.total} but "
            f"{len(group.ids)} were read"
        )
    return gaps


def _reached_end(final: _Mark, reached: int) -> bool:
    if final.last is True:
        return True
    return final.last is None and final.total is not None and reached >= final.total


def _unpaged(group: _Query) -> bool:
    """True for a hand-made list without paging fields, which cannot be checked."""
    return all(mark.start is None and mark.last is None for mark in group.marks)


def _top_id(raw: dict[str, Any]) -> str:
    return str(raw.get("issueKey", raw.get("id")))


# ------------------------------------------------------------------------ the reader


@dataclass(frozen=True)
class _FieldMap:
    """Which request fields hold the planned window."""

    planned_start: str | None = None
    planned_end: str | None = None


class _JsmReader:
    """Read the three folders, then join approvals and status changes to requests."""

    def __init__(self, folder: Path, source: str) -> None:
        self.folder = folder
        self.source = source

    def read(self) -> dict[str, ResourceData]:
        """Return the three resources, each graded."""
        requests = _PagedResource(self.folder, self.source, "requests", "requests")
        fields = self._field_map(requests.builder)
        requests.read(_request_reader(fields), keyed=False)
        # With no request read, there is nothing to fetch approvals or history of,
        # so their folders may rightly be absent.
        expected = bool(requests.builder.data.records) or not requests.queries
        approvals = _PagedResource(self.folder, self.source, "approvals", "approvals")
        approvals.read(_approval_records, keyed=True, expected=expected)
        changes = _PagedResource(
            self.folder, self.source, "changelog", "status_changes"
        )
        changes.read(_status_change_records, keyed=True, expected=expected)

        _join(requests.builder, approvals, changes)
        return {
            "requests": requests.builder.finish(),
            "approvals": approvals.builder.finish(),
            "status_changes": changes.builder.finish(),
        }

    def _field_map(self, builder: ResourceBuilder) -> _FieldMap:
        path = self.folder / FIELDS_FILE
        if not path.is_file():
            builder.gap(
                f"{FIELDS_FILE} is not in the export, so the planned window fields "
                "are unknown and every request reads as having no window"
            )
            return _FieldMap()
        builder.open_file(path, FIELDS_FILE)
        try:
            return _parse_field_map(read_json(path, FIELDS_FILE, self.source))
        except EvidenceError as err:
            builder.bad_file(err)
        except _Skip as skip:
            builder.bad_file(
                EvidenceError(
                    skip.reason,
                    source=self.source,
                    file=FIELDS_FILE,
                    field=skip.field_name,
                )
            )
        return _FieldMap()


def _parse_field_map(document: Any) -> _FieldMap:
    if not isinstance(document, dict):
        raise _Skip("expected an object with planned_start and planned_end field ids")
    names: dict[str, str | None] = {}
    for key in ("planned_start", "planned_end"):
        value = document.get(key)
        if value is not None and not isinstance(value, str):
            raise _Skip(f"expected a field id or null, got {preview(value)}", key)
        names[key] = value or None
    return _FieldMap(names["planned_start"], names["planned_end"])


def _join(
    requests: ResourceBuilder, approvals: _PagedResource, changes: _PagedResource
) -> None:
    """Give each request its approvals and status changes; report absent lists."""
    steps_of = _group(approvals.builder.data.records.items())
    history = _group(changes.builder.data.records.items())
    moments = changes.builder.data.records
    for key, request in requests.data.records.items():
        ids = steps_of.get(key, [])
        request["approval_ids"] = ids
        request["status_change_ids"] = sorted(
            history.get(key, []), key=lambda i: (moments[i]["at"] or "", i)
        )
        known = key in approvals.queries and not (
            approvals.unattributed or key in approvals.damaged
        )
        steps = [approvals.builder.data.records[i] for i in ids]
        request["approval_state"] = approval_state(steps) if known else "unknown"
        request["approved"] = request["approval_state"] == "approved"
        _require_list(approvals, key, "its approvals are")
        _require_list(changes, key, "its status history is")


def _require_list(resource: _PagedResource, key: str, what: str) -> None:
    if key not in resource.queries and key not in resource.damaged:
        resource.builder.gap(
            f"request {key} has no {resource.folder_name}/{key}.page-*.json file, "
            f"so {what} unknown"
        )


def _group(items: Iterable[tuple[str, Record]]) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = {}
    for record_id, record in items:
        groups.setdefault(record["issueKey"], []).append(record_id)
    return {key: sorted(ids) for key, ids in groups.items()}


def approval_state(steps: list[Record]) -> str:
    """Summarise approval steps: approved only when there are some and all approved."""
    decisions = [step.get("finalDecision") for step in steps]
    if not decisions:
        return "none"
    if "declined" in decisions:
        return "declined"
    if all(decision == "approved" for decision in decisions):
        return "approved"
    return "pending"


# ----------------------------------------------------------------------- normalisers


class _Fields:
    """Collect field problems while one record is normalised."""

    def __init__(self) -> None:
        self.problems: list[FieldProblem] = []

    def take(
        self, name: str, convert: Callable[[str, Any], str | None], value: Any
    ) -> str | None:
        """Convert one value; on a problem keep None and remember why."""
        try:
            return convert(name, value)
        except FieldProblem as problem:
            self.problems.append(problem)
            return None

    def text(self, name: str, raw: dict[str, Any]) -> str | None:
        """Take a text field of ``raw``."""
        return self.take(name, _text, raw.get(name))

    def moment(self, name: str, raw: dict[str, Any]) -> str | None:
        """Take a date field of ``raw`` as a canonical UTC timestamp."""
        return self.take(name, _moment, raw.get(name))


def _request_reader(fields: _FieldMap) -> Normaliser:
    def normalise(raw: dict[str, Any], query: str) -> list[Entry]:
        key = _issue_key(raw.get("issueKey"))
        check = _Fields()
        values = _field_values(raw.get("requestFieldValues"), check)
        record: Record = {
            "issueKey": key,
            "issueId": check.text("issueId", raw),
            "requestTypeId": check.text("requestTypeId", raw),
            "serviceDeskId": check.text("serviceDeskId", raw),
            "summary": check.take("summary", _text, values.get("summary")),
            "currentStatus": _status(_child(raw, "currentStatus"), check),
            "reporter": _person(_child(raw, "reporter"), check, "reporter"),
            "createdDate": check.moment("createdDate", raw),
            "planned_start": _planned(fields.planned_start, values, check),
            "planned_end": _planned(fields.planned_end, values, check),
        }
        return [(key, record, check.problems)]

    return normalise


def _status(raw: dict[str, Any], check: _Fields) -> dict[str, Any]:
    return {
        "status": check.take("currentStatus.status", _text, raw.get("status")),
        "statusCategory": check.take(
            "currentStatus.statusCategory", _text, raw.get("statusCategory")
        ),
        "statusDate": check.take(
            "currentStatus.statusDate", _moment, raw.get("statusDate")
        ),
    }


def _planned(field_id: str | None, values: dict[str, Any], check: _Fields) -> Any:
    if field_id is None:
        return None
    return check.take(f"requestFieldValues.{field_id}", _moment, values.get(field_id))


def _field_values(raw: Any, check: _Fields) -> dict[str, Any]:
    """Map ``requestFieldValues`` (a list of fieldId/value pairs) by field id."""
    if raw is None:
        return {}
    if not isinstance(raw, list):
        check.problems.append(
            FieldProblem("requestFieldValues", f"expected a list, got {preview(raw)}")
        )
        return {}
    return {
        item["fieldId"]: item.get("value")
        for item in raw
        if isinstance(item, dict) and isinstance(item.get("fieldId"), str)
    }


def _child(raw: dict[str, Any], name: str) -> dict[str, Any]:
    value = raw.get(name)
    return value if isinstance(value, dict) else {}


def _person(raw: dict[str, Any], check: _Fields, name: str) -> dict[str, Any]:
    email = check.take(f"{name}.emailAddress", _text, raw.get("emailAddress"))
    return {
        "accountId": check.take(f"{name}.accountId", _text, raw.get("accountId")),
        "emailAddress": email.strip().lower() if email and email.strip() else None,
    }


def _approval_records(raw: dict[str, Any], query: str) -> list[Entry]:
    approval_id = _id(raw.get("id"))
    check = _Fields()
    decision = check.text("finalDecision", raw)
    record: Record = {
        "issueKey": query,
        "id": approval_id,
        "name": check.text("name", raw),
        "finalDecision": decision.strip().lower() if decision else None,
        "approvers": _approvers(raw.get("approvers"), check),
        "createdDate": check.moment("createdDate", raw),
        "completedDate": check.moment("completedDate", raw),
    }
    return [(f"{query}/{approval_id}", record, check.problems)]


def _approvers(raw: Any, check: _Fields) -> list[dict[str, Any]]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        check.problems.append(
            FieldProblem("approvers", f"expected a list, got {preview(raw)}")
        )
        return []
    approvers = []
    for index, entry in enumerate(raw):
        item = entry if isinstance(entry, dict) else {}
        who = _person(_child(item, "approver"), check, f"approvers[{index}].approver")
        decision = check.take(
            f"approvers[{index}].approverDecision", _text, item.get("approverDecision")
        )
        approvers.append(
            {
                "accountId": who["accountId"],
                "email": who["emailAddress"],
                "approverDecision": decision.strip().lower() if decision else None,
            }
        )
    return approvers


def _status_change_records(raw: dict[str, Any], query: str) -> list[Entry]:
    """Turn one changelog history into a record per status item it holds."""
    history_id = _id(raw.get("id"))
    items = raw.get("items")
    if not isinstance(items, list):
        raise _Skip(f"expected a list of changed items, got {preview(items)}", "items")
    shared = _Fields()  # the history's own fields, reported with its first item
    at = shared.moment("created", raw)
    author = shared.take(
        "author.accountId", _text, _child(raw, "author").get("accountId")
    )
    entries: list[Entry] = []
    for number, item in enumerate(items):
        if not _is_status(item):
            continue
        check = _Fields()
        record: Record = {
            "issueKey": query,
            "historyId": history_id,
            "from": check.text("fromString", item),
            "to": check.text("toString", item),
            "fromId": check.text("from", item),
            "toId": check.text("to", item),
            "at": at,
            "author": author,
        }
        problems = check.problems if entries else shared.problems + check.problems
        entries.append((f"{query}/{history_id}/{number}", record, problems))
    return entries


def _is_status(item: Any) -> bool:
    if not isinstance(item, dict):
        return False
    if "fieldId" in item:
        return bool(item["fieldId"] == "status")
    return bool(item.get("field") == "status" and item.get("fieldtype") == "jira")


# --------------------------------------------------------------------------- values


def _issue_key(value: Any) -> str:
    if isinstance(value, str) and ISSUE_KEY.fullmatch(value):
        return value
    raise _Skip(
        f"expected an issue key such as OPS-812, got {preview(value)}", "issueKey"
    )


def _id(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str) and re.fullmatch(r"[A-Za-z0-9_.:-]+", value):
        return value
    raise _Skip(f"expected an id, got {preview(value)}", "id")


def _text(name: str, value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise FieldProblem(name, f"expected a string, got {preview(value)}")


def _moment(name: str, value: Any) -> str | None:
    """Normalise a DateDTO, an ISO-8601 string with an offset, or epoch millis."""
    if value is None or value == "":
        return None
    if isinstance(value, dict):
        millis = value.get("epochMillis")
        value = millis if millis is not None else value.get("iso8601")
    expected = "expected a date with a UTC offset (or epochMillis)"
    try:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return parse_epoch_millis(value)
        if isinstance(value, str):
            return parse_iso_offset(value)
    except (TimestampError, OverflowError, OSError, ValueError) as err:
        raise FieldProblem(name, f"{expected}, got {preview(value)}") from err
    raise FieldProblem(name, f"{expected}, got {preview(value)}")
