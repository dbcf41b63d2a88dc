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
- The optional configuration resources (targets, feeds, accounts, ...) keep only
  the fields listed in ``_CONFIG_PROJECTIONS``; secrets never reach a record, but
  the raw export file in the snapshot holds whatever the exporting tool wrote.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlsplit, urlunsplit

from evidencekit.collectors._files import (
    FieldProblem,
    Interner,
    RecordCheck,
    ResourceBuilder,
    check_export_folder,
    envelope_items,
    iter_json_lines,
    list_evidence,
    note_stray_files,
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
from evidencekit.timeutil import TimestampError, TimestampRangeError, parse_iso_offset

logger = logging.getLogger(__name__)

REDACTED = "REDACTED"  # what replaces a credential cut out of a URL


class _Kind(Enum):
    """What a projected field must hold."""

    TEXT = "text"  # kept as sent
    KEY = "key"  # an id or name that repeats across records: one shared copy
    TIME = "time"
    FLAG = "flag"
    IDS = "ids"  # null or absent becomes []
    MAP = "map"  # null or absent becomes {}
    URI = "uri"  # a URL, kept without its user info or query string
    SECRET = "secret"  # noqa: S105  (a kind of field, not a password)
    PRESENT = "present"  # true when the field holds a value; the value is dropped
    SWITCH = "switch"  # true or false, also accepted as the text "True"/"False"
    COUNT = "count"  # the number of items of a list
    NAMES = "names"  # the Name of each object of a list


_EXPECTED = {
    _Kind.TEXT: "a string",
    _Kind.KEY: "a string",
    _Kind.TIME: "an ISO-8601 timestamp with a UTC offset",
    _Kind.FLAG: "true or false",
    _Kind.IDS: "a list of strings",
    _Kind.MAP: "an object",
    _Kind.URI: "a URL",
    _Kind.SECRET: "a sensitive value",
    _Kind.PRESENT: "any value",
    _Kind.SWITCH: "true or false",
    _Kind.COUNT: "a list",
    _Kind.NAMES: "a list of objects with a Name",
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
        ("FailureEncountered", _B), ("SkipActions", _Kind.IDS),
        ("DeployedToMachineIds", _Kind.IDS), ("SpaceId", _K),
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

# The fields kept for the optional configuration resources the lint policies read
# (docs/data-model.md, section 1): (kept as, kind, read from). A dotted name is a
# field of a nested object, and its parent object is always present. Secrets are
# never kept: a sensitive value becomes {"HasValue": bool}, and any field not
# named here (WebhookHeaderValue, AccessKey, CertificateData, ...) is dropped.
# Field names marked [unverified] come from the Go client, not a live server.
_F = tuple[str, _Kind, str]
_SECRETS = ("Password", "SecretKey", "Token", "CertificateBytes", "JsonKey")
_TARGET: tuple[_F, ...] = (
    ("Id", _T, "Id"),
    ("Name", _T, "Name"),
    ("IsDisabled", _B, "IsDisabled"),
    ("HealthStatus", _K, "HealthStatus"),
    ("Status", _K, "Status"),
    ("Thumbprint", _T, "Thumbprint"),
    ("Uri", _Kind.URI, "Uri"),
    ("MachinePolicyId", _K, "MachinePolicyId"),
    ("SpaceId", _K, "SpaceId"),
    ("Endpoint.CommunicationStyle", _K, "Endpoint.CommunicationStyle"),
    ("Endpoint.ClusterUrl", _Kind.URI, "Endpoint.ClusterUrl"),
    ("Endpoint.SkipTlsVerification", _Kind.SWITCH, "Endpoint.SkipTlsVerification"),
    ("Endpoint.Uri", _Kind.URI, "Endpoint.Uri"),
    ("Endpoint.Thumbprint", _T, "Endpoint.Thumbprint"),
    # [unverified] on the wire: the Go client's tentacle endpoints carry it.
    (
        "Endpoint.CertificateSignatureAlgorithm",
        _K,
        "Endpoint.CertificateSignatureAlgorithm",
    ),
)
_CONFIG_PROJECTIONS: dict[str, tuple[_F, ...]] = {
    "machines": (
        *_TARGET, ("EnvironmentIds", _Kind.IDS, "EnvironmentIds"),
        ("Roles", _Kind.IDS, "Roles"), ("TenantIds", _Kind.IDS, "TenantIds"),
    ),
    "workers": (*_TARGET, ("WorkerPoolIds", _Kind.IDS, "WorkerPoolIds")),
    "feeds": (
        ("Id", _T, "Id"), ("Name", _T, "Name"), ("FeedType", _K, "FeedType"),
        ("FeedUri", _Kind.URI, "FeedUri"), ("SpaceId", _K, "SpaceId"),
        ("HasUsername", _Kind.PRESENT, "Username"),
        *((name, _Kind.SECRET, name) for name in _SECRETS),
    ),
    "accounts": (
        ("Id", _T, "Id"), ("Name", _T, "Name"), ("AccountType", _K, "AccountType"),
        ("Username", _T, "Username"), ("LastModifiedOn", _TS, "LastModifiedOn"),
        ("LastModifiedBy", _K, "LastModifiedBy"), ("SpaceId", _K, "SpaceId"),
        ("EnvironmentIds", _Kind.IDS, "EnvironmentIds"),
        *((name, _Kind.SECRET, name) for name in _SECRETS),
        ("PrivateKeyFile", _Kind.SECRET, "PrivateKeyFile"),
        ("PrivateKeyPassphrase", _Kind.SECRET, "PrivateKeyPassphrase"),
    ),
    "subscriptions": (
        ("Id", _T, "Id"), ("Name", _T, "Name"), ("Type", _K, "Type"),
        ("IsDisabled", _B, "IsDisabled"), ("SpaceId", _K, "SpaceId"),
        ("EventNotificationSubscription.WebhookURI", _Kind.URI,
         "EventNotificationSubscription.WebhookURI"),
    ),
    "gitcredentials": (  # /api/{space}/git-credentials
        ("Id", _T, "Id"), ("Name", _T, "Name"), ("SpaceId", _K, "SpaceId"),
        ("LastModifiedOn", _TS, "LastModifiedOn"),
        ("Details.Type", _K, "Details.Type"),
        ("Details.Username", _T, "Details.Username"),
        ("Details.Password", _Kind.SECRET, "Details.Password"),
    ),
    "deploymentprocesses": (
        ("Id", _T, "Id"), ("ProjectId", _K, "ProjectId"), ("SpaceId", _K, "SpaceId"),
        ("StepCount", _Kind.COUNT, "Steps"), ("StepNames", _Kind.NAMES, "Steps"),
    ),
    "certificates": (
        ("Id", _T, "Id"), ("Name", _T, "Name"),
        ("SignatureAlgorithmName", _K, "SignatureAlgorithmName"),
        ("NotBefore", _TS, "NotBefore"), ("NotAfter", _TS, "NotAfter"),
        ("Archived", _TS, "Archived"),  # [unverified] null, or when it was archived
        ("IsExpired", _B, "IsExpired"), ("Thumbprint", _T, "Thumbprint"),
        ("SubjectCommonName", _T, "SubjectCommonName"),
        ("EnvironmentIds", _Kind.IDS, "EnvironmentIds"), ("SpaceId", _K, "SpaceId"),
        ("Password", _Kind.SECRET, "Password"),
    ),
}  # fmt: skip

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
    ("machines", "Deployment targets: endpoint, health, roles and environments"),
    ("workers", "Workers: endpoint, health and worker pools"),
    ("feeds", "Package feeds: type and URL (credentials only as present or not)"),
    ("accounts", "Cloud and other accounts: type and last change (no secrets)"),
    ("subscriptions", "Event subscriptions and their webhook URLs"),
    ("gitcredentials", "Git credentials: name and username (no passwords)"),
    ("deploymentprocesses", "Deployment processes: project and step names"),
    ("certificates", "Certificates: signature algorithm, validity and archiving"),
)
# Resources an export may lack without being incomplete; the policies that need
# one are reported not tested when it is absent.
_OPTIONAL = frozenset({"servertaskapprovals", *_CONFIG_PROJECTIONS})

# The fields the policies read. A record without one of them (the key absent, not
# null) is kept and the resource is incomplete: a policy would read the gap as a
# value (no environment, no deployer, an inactive user).
_REQUIRED_FIELDS: dict[str, tuple[str, ...]] = {
    "events": ("Category", "UserId", "Occurred"),
    "deployments": (
        "EnvironmentId", "TaskId", "ReleaseId", "ProjectId", "DeployedById",
    ),
    "tasks": ("State", "StartTime", "CompletedTime"),
    "releases": ("Version", "ProjectId"),
    "environments": ("Name",),
    "runbooks": ("Name",),
    "runbookruns": ("RunbookId", "TaskId"),
    "users": ("Username", "IsActive", "EmailAddress"),
    "teams": ("MemberUserIds",),
    "userroles": ("GrantedSystemPermissions",),
    "scopeduserroles": ("TeamId", "UserRoleId", "SpaceId"),
    "apikeys": ("UserId", "Created"),
}  # fmt: skip


def _finished_without_start(task: Record) -> list[FieldProblem]:
    """Flag a task that says it finished, with a completion time, but never started."""
    finished = task.get("State") == "Success" or task.get("IsCompleted") is True
    if finished and task.get("CompletedTime") and not task.get("StartTime"):
        reason = (
            f"the task is {task.get('State')} and completed at "
            f"{task['CompletedTime']} but has no StartTime"
        )
        return [FieldProblem("StartTime", reason)]
    return []


# Checks of whole records: fields that contradict each other.
_CHECKS: dict[str, tuple[RecordCheck, ...]] = {"tasks": (_finished_without_start,)}


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
        "users, teams, roles and API keys from an export folder of API pages, and "
        "optionally targets, workers, feeds, accounts, subscriptions, Git "
        "credentials, deployment processes and certificates"
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
        # For the optional configuration resources. [unverified] names, taken from
        # the permission list of the Go client rather than a live server.
        "MachineView",
        "WorkerView",
        "FeedView",
        "AccountView",
        "SubscriptionView",
        "GitCredentialView",
        "ProcessView",
        "CertificateView",
    )

    def evidence_files(self, folder: Path) -> list[Path]:
        """List the page, archive and list files that ``read`` will use."""
        layout = {spec.name: _suffixes(spec.name) for spec in self.resources}
        return list_evidence(folder, self.type, layout, strays=True)

    def read(self, folder: Path, source_name: str) -> SourceData:
        """Read and normalise every resource of an Octopus export folder."""
        started = time.monotonic()
        check_export_folder(folder, source_name)
        data = SourceData(name=source_name, type=self.type, location=str(folder))
        with paused_garbage_collection():
            for spec in self.resources:
                reader = _ResourceReader(folder, source_name, spec)
                data.resources[spec.name] = reader.read()
        layout = {spec.name: _suffixes(spec.name) for spec in self.resources}
        note_stray_files(data.resources[self.resources[0].name], folder, layout)
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
        self.config_plan = _CONFIG_PLANS.get(spec.name)
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
            required_fields=_REQUIRED_FIELDS.get(self.spec.name, ()),
            checks=_CHECKS.get(self.spec.name, ()),
        )
        for path in paths:
            relative = self.intern[relative_name(path, self.folder)]
            if path.suffix.lower() == ".jsonl":
                self._read_archive(path, relative)
            else:
                self._read_page(path, relative)
        self._check_totals()
        return self.builder.finish()

    def _read_page(self, path: Path, relative: str) -> None:
        stats = self.builder.open_file(path, relative)
        try:
            document = read_json(path, relative, self.source, self.builder)
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
            lines = iter_json_lines(path, relative, self.source, self.builder)
            for line, raw, problem in lines:
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
        self.builder.add(record_id, record, stats, raw=raw)
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
            if self.config_plan is not None:
                return record_id, _project_config(raw, self.config_plan, self.intern)
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
    except TimestampRangeError as err:
        raise FieldProblem(name, str(err)) from err
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


def _uri(name: str, value: Any, intern: Interner) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise FieldProblem(name, _wrong(_Kind.URI, value))
    return without_credentials(name, value)


def without_credentials(name: str, url: str) -> str:
    """Return a URL without user info, query or fragment, which may hold secrets.

    What was cut is marked ``REDACTED`` so a reader sees that something was there.
    Known shortcoming: a token carried in the path (some webhook services do this)
    is kept; only the raw export file in the snapshot holds more than this.
    """
    try:
        parts = urlsplit(url.strip())
        netloc = parts.netloc
    except ValueError as err:  # e.g. an unbalanced IPv6 bracket; value not shown
        raise FieldProblem(name, "expected a URL, got text that is not one") from err
    if "@" in netloc:
        netloc = f"{REDACTED}@{netloc.rpartition('@')[2]}"
    query = REDACTED if parts.query else ""
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def _secret(name: str, value: Any, intern: Interner) -> dict[str, bool]:
    """Keep only whether a sensitive field holds a value; never the value itself."""
    if isinstance(value, dict):
        flag = value.get("HasValue")
        if isinstance(flag, bool):
            return {"HasValue": flag or value.get("NewValue") not in (None, "")}
        return {"HasValue": bool(value)}
    return {"HasValue": value is not None and value != ""}


def _present(name: str, value: Any, intern: Interner) -> bool:
    return value is not None and value != ""


def _switch(name: str, value: Any, intern: Interner) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false", ""):
        return {"true": True, "false": False}.get(value.strip().lower())
    raise FieldProblem(name, _wrong(_Kind.SWITCH, value))


def _count(name: str, value: Any, intern: Interner) -> int | None:
    if value is None:
        return None
    if isinstance(value, list):
        return len(value)
    raise FieldProblem(name, _wrong(_Kind.COUNT, value))


def _names(name: str, value: Any, intern: Interner) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list) and all(isinstance(item, dict) for item in value):
        return [item["Name"] for item in value if isinstance(item.get("Name"), str)]
    raise FieldProblem(name, f"expected {_EXPECTED[_Kind.NAMES]}")


def _project_config(raw: dict[str, Any], plan: _ConfigPlan, intern: Interner) -> Record:
    """Keep the planned fields of a configuration record, nested objects included."""
    record: Record = {}
    for target, source, coerce in plan:
        value = _nested(raw, source)
        _place(record, target, coerce(".".join(source), value, intern))
    return record


def _nested(raw: dict[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = raw
    for depth, key in enumerate(path):
        if value is None:
            return None
        if not isinstance(value, dict):
            # Only the type is named: the value may be a credential.
            parent = ".".join(path[:depth])
            raise FieldProblem(
                parent, f"expected an object, got {type(value).__name__}"
            )
        value = value.get(key)
    return value


def _place(record: Record, path: tuple[str, ...], value: Any) -> None:
    for key in path[:-1]:
        record = record.setdefault(key, {})
    record[path[-1]] = value


_Coercer = Callable[[str, Any, Interner], Any]
_Plan = tuple[tuple[str, _Coercer], ...]

_ConfigPlan = tuple[tuple[tuple[str, ...], tuple[str, ...], _Coercer], ...]

_COERCE: dict[_Kind, _Coercer] = {
    _Kind.TEXT: _text,
    _Kind.KEY: _key,
    _Kind.TIME: _time,
    _Kind.FLAG: _flag,
    _Kind.IDS: _ids,
    _Kind.MAP: _map,
    _Kind.URI: _uri,
    _Kind.SECRET: _secret,
    _Kind.PRESENT: _present,
    _Kind.SWITCH: _switch,
    _Kind.COUNT: _count,
    _Kind.NAMES: _names,
}

# The projections resolved to their functions once, so reading a record does no
# enum lookups.
_PLANS: dict[str, _Plan] = {
    resource: tuple((name, _COERCE[kind]) for name, kind in fields)
    for resource, fields in _PROJECTIONS.items()
}

_CONFIG_PLANS: dict[str, _ConfigPlan] = {
    resource: tuple(
        (tuple(target.split(".")), tuple(source.split(".")), _COERCE[kind])
        for target, kind, source in fields
    )
    for resource, fields in _CONFIG_PROJECTIONS.items()
}
