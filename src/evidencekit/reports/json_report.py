"""Write results.json, the complete machine-readable record of one evaluated run.

It is also where the views every report shares are computed (the evidence gaps, the
counts by status, the order of findings), so the three reports cannot disagree. The
layout is documented field by field in ``docs/results-schema.md``; the field names of
``RunResult`` are kept, so ``results.run_result_from_dict`` can read the file back.
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evidencekit.errors import ReportError
from evidencekit.results import (
    AccessEntry,
    ControlResult,
    ControlStatus,
    Finding,
    PolicyResult,
    PolicyStatus,
    RunResult,
    SourceStatus,
    SourceSummary,
)

logger = logging.getLogger(__name__)

SCHEMA = "evidencekit.results/1"
SEVERITY_ORDER = ("critical", "high", "medium", "low", "info")
_DIGITS = re.compile(r"(\d+)")


def write_json(result: RunResult, path: Path) -> Path:
    """Write results.json atomically as UTF-8 and return its path."""
    document = build_document(result)
    try:
        text = json.dumps(document, ensure_ascii=False, indent=2, allow_nan=False)
    except (TypeError, ValueError) as err:
        raise ReportError(
            f"results for {path} are not JSON-serialisable: {err}"
        ) from err
    # A lone surrogate (from a hostile "\ud800" escape in the evidence) cannot be
    # encoded as UTF-8; backslashreplace writes it back as the same JSON escape.
    data = text.encode("utf-8", errors="backslashreplace") + b"\n"
    with atomic_output(path) as temporary:
        temporary.write_bytes(data)
    logger.info("report written format=json path=%s bytes=%d", path, len(data))
    return path


def build_document(result: RunResult) -> dict[str, Any]:
    """Return the results.json content as plain data, keys in a fixed order."""
    gaps = evidence_gaps(result)
    return {
        "schema": SCHEMA,
        "organisation": result.organisation,
        "period": _period(result),
        "frameworks": list(result.frameworks),
        "snapshot_id": result.snapshot_id,
        "manifest_sha256": result.manifest_sha256,
        "collected_at": result.manifest.get("collected_at"),
        "previous_manifest_sha256": result.manifest.get("previous_manifest_sha256"),
        "generated_at": result.generated_at,
        "tool_version": result.tool_version,
        "engine": result.engine,
        "evidence_complete": not gaps,
        "evidence_gaps": gaps,
        "evaluation_errors": evaluation_errors(result),
        "summary": summarise(result),
        "sources": [_source(source) for source in result.sources],
        "policies": [_policy(policy) for policy in result.policies],
        "controls": _controls(result),
        "findings": [_finding(finding) for finding in sorted_findings(result.findings)],
        "access_review": [_access_entry(entry) for entry in result.access_review],
        "manifest": result.manifest,
    }


def evidence_gaps(result: RunResult) -> list[str]:
    """Describe every source or resource that was not collected completely."""
    gaps: list[str] = []
    for source in result.sources:
        gaps.extend(_source_gaps(source))
    return gaps


def evaluation_errors(result: RunResult) -> list[str]:
    """Describe every policy that could not be evaluated."""
    return [
        f"policy {policy.id} could not be evaluated: {policy.reason or 'no reason'}"
        for policy in result.policies
        if policy.status is PolicyStatus.ERROR
    ]


def summarise(result: RunResult) -> dict[str, Any]:
    """Count controls per framework and status, policies per status, findings."""
    frameworks: dict[str, dict[str, int]] = {}
    for framework in _frameworks(result):
        statuses = [c.status for c in result.controls if c.framework == framework]
        frameworks[framework] = _status_counts(statuses, ControlStatus)
    return {
        "frameworks": frameworks,
        "policies": _status_counts([p.status for p in result.policies], PolicyStatus),
        "findings": {
            "total": len(result.findings),
            "by_severity": severity_counts(result.findings),
        },
    }


def severity_counts(findings: Iterable[Finding]) -> dict[str, int]:
    """Count findings by severity, known severities first and always present."""
    counts = Counter(finding.severity for finding in findings)
    ordered = {severity: counts.pop(severity, 0) for severity in SEVERITY_ORDER}
    ordered.update(sorted(counts.items()))
    return ordered


def sorted_findings(findings: Iterable[Finding]) -> list[Finding]:
    """Order findings by severity (critical first), then policy and resource."""
    return sorted(findings, key=_finding_key)


def control_finding_counts(result: RunResult) -> dict[tuple[str, str], int]:
    """Count, for each (framework, control id), the findings of its mapped policies."""
    per_policy = {policy.id: policy.findings for policy in result.policies}
    return {
        (control.framework, control.id): sum(
            per_policy.get(policy_id, 0) for policy_id in control.policies
        )
        for control in result.controls
    }


@dataclass(frozen=True)
class ManifestFile:
    """One evidence file of the snapshot manifest, with its resource's status."""

    source: str
    resource: str
    status: str
    path: str | None  # None when the resource has no file (missing or failed)
    sha256: str | None
    size: int | None
    records: int | None
    warnings: list[str]


def manifest_files(manifest: dict[str, Any]) -> list[ManifestFile]:
    """List every file of the manifest; a resource without files gets one empty row."""
    try:
        return [
            item
            for source in manifest["sources"]
            for resource in source["resources"]
            for item in _resource_files(source["name"], resource)
        ]
    except (KeyError, TypeError) as err:
        raise ReportError(
            f"snapshot manifest {manifest.get('snapshot_id')!r}: missing or malformed "
            f"field {err}; expected sources[].resources[].files[] as in "
            "docs/data-model.md"
        ) from err


def sorted_controls(result: RunResult) -> list[ControlResult]:
    """Order controls by framework (as configured), then by control number."""
    order = {framework: index for index, framework in enumerate(_frameworks(result))}
    return sorted(
        result.controls,
        key=lambda control: (order[control.framework], _natural_key(control.id)),
    )


@contextmanager
def atomic_output(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` and move it into place on success."""
    # Not tempfile.mkstemp: its files are private (0600); a report should get the
    # same permissions as any file the user creates.
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary.open("xb").close()
    except OSError as err:
        raise ReportError(f"cannot write {path}: {err.strerror or err}") from err
    try:
        yield temporary
        os.replace(temporary, path)
    except OSError as err:
        raise ReportError(f"cannot write {path}: {err.strerror or err}") from err
    finally:
        temporary.unlink(missing_ok=True)


def _source_gaps(source: SourceSummary) -> list[str]:
    if source.status is SourceStatus.FAILED:
        reason = source.error or "no error message recorded"
        return [f"source {source.name} ({source.type}) failed: {reason}"]
    gaps = []
    for resource in source.resources:
        if resource.status is not SourceStatus.COMPLETE:
            detail = "; ".join(resource.warnings) or "no detail recorded"
            gaps.append(
                f"{source.name}/{resource.name} is {resource.status.value}: {detail}"
            )
    if not gaps and source.status is not SourceStatus.COMPLETE:
        reason = source.error or "no detail recorded"
        gaps.append(f"source {source.name} is {source.status.value}: {reason}")
    return gaps


def _resource_files(source: str, resource: dict[str, Any]) -> list[ManifestFile]:
    warnings = [str(warning) for warning in resource.get("warnings") or []]
    files = resource.get("files") or [{}]
    return [
        ManifestFile(
            source=source,
            resource=resource["name"],
            status=str(resource.get("status", "unknown")),
            path=item.get("path"),
            sha256=item.get("sha256"),
            size=item.get("size"),
            records=item.get("records"),
            warnings=warnings,
        )
        for item in files
    ]


def _natural_key(control_id: str) -> list[Any]:
    return [int(part) if part.isdigit() else part for part in _DIGITS.split(control_id)]


def _frameworks(result: RunResult) -> list[str]:
    extra = {control.framework for control in result.controls} - set(result.frameworks)
    return [*result.frameworks, *sorted(extra)]


def _status_counts(statuses: list[Any], enum: Any) -> dict[str, int]:
    counts = Counter(str(status) for status in statuses)
    ordered = {member.value: counts.get(member.value, 0) for member in enum}
    ordered["total"] = len(statuses)
    return ordered


def _finding_key(finding: Finding) -> tuple[int, str, str, str]:
    severity = finding.severity.lower()
    rank = (
        SEVERITY_ORDER.index(severity)
        if severity in SEVERITY_ORDER
        else len(SEVERITY_ORDER)
    )
    return rank, finding.policy, finding.resource, finding.message


def _period(result: RunResult) -> dict[str, str]:
    period = result.period
    return {
        "start": period.start,
        "end": period.end,
        "timezone": period.timezone,
        "start_utc": period.start_utc,
        "end_utc": period.end_utc,
    }


def _source(source: SourceSummary) -> dict[str, Any]:
    return {
        "name": source.name,
        "type": source.type,
        "status": source.status.value,
        "location": source.location,
        "records": source.records,
        "error": source.error,
        "resources": [
            {
                "name": resource.name,
                "status": resource.status.value,
                "records": resource.records,
                "duplicates": resource.duplicates,
                "warnings": list(resource.warnings),
            }
            for resource in source.resources
        ],
    }


def _policy(policy: PolicyResult) -> dict[str, Any]:
    return {
        "id": policy.id,
        "title": policy.title,
        "description": policy.description,
        "severity": policy.severity,
        "controls": list(policy.controls),
        "status": policy.status.value,
        "tested": policy.tested,
        "findings": policy.findings,
        "reason": policy.reason,
        "evidence_gaps": list(policy.evidence_gaps),
    }


def _controls(result: RunResult) -> list[dict[str, Any]]:
    counts = control_finding_counts(result)
    return [
        {
            "framework": control.framework,
            "id": control.id,
            "title": control.title,
            "theme": control.theme,
            "status": control.status.value,
            "policies": list(control.policies),
            "findings": counts[(control.framework, control.id)],
        }
        for control in result.controls
    ]


def _finding(finding: Finding) -> dict[str, Any]:
    return {
        "policy": finding.policy,
        "resource": finding.resource,
        "controls": list(finding.controls),
        "severity": finding.severity,
        "message": finding.message,
        "evidence": [
            {
                "ref": ref.ref,
                "source": ref.source,
                "resource": ref.resource,
                "record_id": ref.record_id,
                "file": ref.file,
                "sha256": ref.sha256,
            }
            for ref in finding.evidence
        ],
    }


def _access_entry(entry: AccessEntry) -> dict[str, Any]:
    return {
        "person": entry.person,
        "system": entry.system,
        "account": entry.account,
        "entitlement": entry.entitlement,
        "scope": entry.scope,
        "via": entry.via,
        "evidence": list(entry.evidence),
    }
