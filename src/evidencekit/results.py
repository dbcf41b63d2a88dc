"""The outcome of one run: what every report is written from."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from enum import StrEnum
from typing import Any


class SourceStatus(StrEnum):
    """How completely a source (or one of its resources) was collected."""

    COMPLETE = "complete"
    INCOMPLETE = "incomplete"  # read, but something is known to be missing
    MISSING = "missing"  # a resource the source should have was not there
    FAILED = "failed"  # the source could not be read at all


class PolicyStatus(StrEnum):
    """The verdict of one policy."""

    PASS = "pass"  # noqa: S105  (a verdict, not a password)
    FAIL = "fail"
    NOT_TESTED = "not_tested"  # evidence absent or incomplete, or nothing in scope
    ERROR = "error"  # the policy could not be evaluated; never a pass


class ControlStatus(StrEnum):
    """The verdict on one framework control."""

    PASS = "pass"  # noqa: S105  (a verdict, not a password)
    FAIL = "fail"
    NOT_TESTED = "not_tested"
    MANUAL = "manual"  # no policy covers it; it needs evidence gathered by hand


@dataclass(frozen=True)
class EvidenceRef:
    """A pointer from a finding to the record behind it.

    ``ref`` is ``<source>/<resource>/<record id>``; ``file`` and ``sha256`` locate the
    snapshot file that holds the record, so an auditor can open it and check it.
    """

    ref: str
    source: str
    resource: str
    record_id: str
    file: str | None = None
    sha256: str | None = None


@dataclass(frozen=True)
class Finding:
    """One failed condition on one resource."""

    policy: str
    resource: str
    controls: list[str]
    severity: str
    message: str
    evidence: list[EvidenceRef]


@dataclass(frozen=True)
class PolicyResult:
    """What one policy tested and found."""

    id: str
    title: str
    description: str
    severity: str
    controls: list[str]
    status: PolicyStatus
    tested: int
    findings: int
    reason: str | None = None  # why it is not_tested or error
    # required `<type>.<resource>` evidence that was missing, incomplete or failed
    evidence_gaps: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ControlResult:
    """The status of one control, from the policies mapped to it."""

    framework: str
    id: str
    title: str
    theme: str
    status: ControlStatus
    policies: list[str]


@dataclass(frozen=True)
class ResourceSummary:
    """Counts and completeness of one resource of one source."""

    name: str
    status: SourceStatus
    records: int
    duplicates: int = 0
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class SourceSummary:
    """What one configured source delivered."""

    name: str
    type: str
    status: SourceStatus
    location: str
    resources: list[ResourceSummary]
    error: str | None = None

    @property
    def records(self) -> int:
        """Total records read across the source's resources."""
        return sum(resource.records for resource in self.resources)


@dataclass(frozen=True)
class Period:
    """The audit period as configured and as the UTC interval tested."""

    start: str  # inclusive date, YYYY-MM-DD
    end: str  # inclusive date
    timezone: str
    start_utc: str  # canonical UTC, inclusive
    end_utc: str  # canonical UTC, exclusive


@dataclass(frozen=True)
class AccessEntry:
    """One row of the access review: who holds which entitlement, through what."""

    person: str | None  # the joined identity (lower-case e-mail); None = not joined
    system: str  # "octopus", "aws:<account id>", "kubernetes:<cluster>", ...
    account: str  # the account in that system (Users-N, an ARN, a subject)
    entitlement: str  # see evidencekit.access.ENTITLEMENTS
    scope: str  # where it applies ("all", environments, a namespace)
    via: str  # how it is granted (team -> role, group -> policy, binding -> role)
    evidence: list[str]  # _refs of the records it rests on


@dataclass(frozen=True)
class RunResult:
    """Everything a report needs about one evaluated snapshot."""

    organisation: str
    period: Period
    frameworks: list[str]
    snapshot_id: str
    manifest_sha256: str
    generated_at: str
    tool_version: str
    engine: str
    sources: list[SourceSummary]
    findings: list[Finding]
    policies: list[PolicyResult]
    controls: list[ControlResult]
    manifest: dict[str, Any]
    access_review: list[AccessEntry] = field(default_factory=list)

    @property
    def evidence_complete(self) -> bool:
        """True only when every source and resource was collected completely."""
        return all(source.status is SourceStatus.COMPLETE for source in self.sources)

    def to_dict(self) -> dict[str, Any]:
        """Return plain JSON-ready data (enums become their string values)."""
        return asdict(self)


def run_result_from_dict(data: dict[str, Any]) -> RunResult:
    """Rebuild a RunResult from results.json data; keys it does not know are ignored."""
    known = _known(RunResult, data)
    return RunResult(
        **{
            **known,
            "period": Period(**_known(Period, data["period"])),
            "sources": [_source_from_dict(source) for source in data["sources"]],
            "findings": [_finding_from_dict(finding) for finding in data["findings"]],
            "policies": [
                PolicyResult(
                    **{
                        **_known(PolicyResult, policy),
                        "status": PolicyStatus(policy["status"]),
                    }
                )
                for policy in data["policies"]
            ],
            "access_review": [
                AccessEntry(**_known(AccessEntry, entry))
                for entry in data.get("access_review", [])
            ],
            "controls": [
                ControlResult(
                    **{
                        **_known(ControlResult, control),
                        "status": ControlStatus(control["status"]),
                    }
                )
                for control in data["controls"]
            ],
        }
    )


def _known(cls: type, data: dict[str, Any]) -> dict[str, Any]:
    names = {item.name for item in fields(cls)}
    return {key: value for key, value in data.items() if key in names}


def _source_from_dict(data: dict[str, Any]) -> SourceSummary:
    resources = [
        ResourceSummary(
            **{**_known(ResourceSummary, item), "status": SourceStatus(item["status"])}
        )
        for item in data["resources"]
    ]
    return SourceSummary(
        **{
            **_known(SourceSummary, data),
            "status": SourceStatus(data["status"]),
            "resources": resources,
        }
    )


def _finding_from_dict(data: dict[str, Any]) -> Finding:
    evidence = [EvidenceRef(**_known(EvidenceRef, ref)) for ref in data["evidence"]]
    return Finding(**{**_known(Finding, data), "evidence": evidence})
