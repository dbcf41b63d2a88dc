"""Evaluate the policies and turn each engine output into a verdict.

A policy is never passed on evidence it could not see: missing or incomplete required
resources make it ``not_tested`` (or ``fail`` when the partial evidence already shows
findings), an engine error or a malformed finding makes it ``error``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from evidencekit.policies.engine import Engine, PackageOutput
from evidencekit.policies.loader import Policy
from evidencekit.results import PolicyResult, PolicyStatus, SourceStatus

log = logging.getLogger(__name__)

_GAP_WORDS = {
    SourceStatus.MISSING: "is missing",
    SourceStatus.INCOMPLETE: "is incomplete",
    SourceStatus.FAILED: "is from a source that failed",
}


@dataclass(frozen=True)
class RawFinding:
    """One finding as a policy returned it; ``evidence`` holds record ``_ref``s."""

    policy: str
    resource: str
    message: str
    evidence: list[str]


@dataclass(frozen=True)
class _Verdict:
    status: PolicyStatus
    reason: str | None
    findings: list[RawFinding]


def evaluate_policies(
    engine: Engine,
    policies: list[Policy],
    input_doc: dict[str, Any],
    availability: dict[str, SourceStatus],
    not_collected: frozenset[str] = frozenset(),
) -> tuple[list[PolicyResult], list[RawFinding]]:
    """Evaluate every policy against one input and judge each result.

    ``availability`` maps ``<type>.<resource>`` to the worst status of that resource
    across the sources; a resource that is not in it counts as missing.
    ``not_collected`` names resources that are out of this run's scope: of a source
    type no source is configured for, or optional and absent. A policy that needs
    one is not tested and its findings are withheld, but that is not an evidence
    gap (the run did not fail to collect something it was asked to).
    """
    outputs = engine.evaluate(input_doc, [policy.package for policy in policies])
    results, findings = [], []
    for policy in policies:
        out_of_scope = [r for r in policy.requires if r in not_collected]
        if out_of_scope:
            results.append(_not_applicable(policy, out_of_scope))
            continue
        output = outputs.get(policy.package)
        if output is None:
            error = f"the engine returned nothing for package {policy.package}"
            output = PackageOutput(None, None, error)
        gaps = evidence_gaps(policy, availability)
        absent = any(
            availability.get(resource, SourceStatus.MISSING)
            in (SourceStatus.MISSING, SourceStatus.FAILED)
            for resource in policy.requires
        )
        verdict = judge(policy, output, list(gaps.values()), absent=absent)
        results.append(_result(policy, output, verdict, list(gaps)))
        findings.extend(verdict.findings)
        _log_result(policy, output, verdict)
    findings.sort(key=lambda item: (item.policy, item.resource, item.message))
    return results, findings


def evidence_gaps(
    policy: Policy, availability: dict[str, SourceStatus]
) -> dict[str, str]:
    """Describe each required resource that was not collected completely."""
    gaps = {}
    for resource in policy.requires:
        status = availability.get(resource, SourceStatus.MISSING)
        if status is not SourceStatus.COMPLETE:
            gaps[resource] = f"{resource} {_GAP_WORDS[status]}"
    return gaps


def judge(
    policy: Policy, output: PackageOutput, gaps: list[str], *, absent: bool = False
) -> _Verdict:
    """Decide a policy's status from its engine output and its evidence gaps.

    ``absent`` means a required resource is missing or its source failed. Findings
    are then withheld: "CHG0001234 is not in the ServiceNow evidence" would only
    restate that ServiceNow could not be read, and would read as a violation.
    """
    gap_text = "; ".join(gaps) or None
    findings, problem = parse_findings(policy.id, output.findings or [])
    error = output.error or problem
    if error is not None:
        reason = error + (f"; also {gap_text}" if gap_text else "")
        return _Verdict(PolicyStatus.ERROR, reason, [])
    if gap_text and absent:
        return _Verdict(PolicyStatus.NOT_TESTED, gap_text, [])
    if gap_text:
        # Findings from partial evidence are real; only a clean result is in doubt.
        status = PolicyStatus.FAIL if findings else PolicyStatus.NOT_TESTED
        return _Verdict(status, gap_text, findings)
    if findings:
        note = None if output.tested else "findings reported with nothing counted"
        return _Verdict(PolicyStatus.FAIL, note, findings)
    if not output.tested:
        return _Verdict(PolicyStatus.NOT_TESTED, "nothing in scope", [])
    return _Verdict(PolicyStatus.PASS, None, [])


def parse_findings(
    policy_id: str, items: list[dict[str, Any]]
) -> tuple[list[RawFinding], str | None]:
    """Check the shape of every finding; return them, or the first malformed one."""
    findings = []
    for number, item in enumerate(items, start=1):
        problem = _shape_problem(item)
        if problem is not None:
            shown = repr(item)[:200]
            return (
                [],
                f"finding {number} of {len(items)} is malformed ({problem}): {shown}",
            )
        findings.append(
            RawFinding(
                policy_id, item["resource"], item["message"], list(item["evidence"])
            )
        )
    return findings, None


def _shape_problem(item: Any) -> str | None:
    if not isinstance(item, dict):
        return "not an object"
    for key in ("resource", "message"):
        if not isinstance(item.get(key), str):
            return f"{key!r} is not text"
    evidence = item.get("evidence")
    if not isinstance(evidence, list) or not all(isinstance(r, str) for r in evidence):
        return "'evidence' is not a list of _ref strings"
    return None


def _not_applicable(policy: Policy, resources: list[str]) -> PolicyResult:
    reason = "not collected in this run: " + ", ".join(resources)
    log.info("policy=%s status=not_tested reason=%s", policy.id, reason)
    return PolicyResult(
        id=policy.id,
        title=policy.title,
        description=policy.description,
        severity=policy.severity,
        controls=list(policy.controls),
        status=PolicyStatus.NOT_TESTED,
        tested=0,
        findings=0,
        reason=reason,
    )


def _result(
    policy: Policy, output: PackageOutput, verdict: _Verdict, gaps: list[str]
) -> PolicyResult:
    return PolicyResult(
        id=policy.id,
        title=policy.title,
        description=policy.description,
        severity=policy.severity,
        controls=list(policy.controls),
        status=verdict.status,
        tested=output.tested or 0,
        findings=len(verdict.findings),
        reason=verdict.reason,
        evidence_gaps=gaps,
    )


def _log_result(policy: Policy, output: PackageOutput, verdict: _Verdict) -> None:
    log.info(
        "policy=%s status=%s tested=%d findings=%d elapsed=%.2fs",
        policy.id,
        verdict.status.value,
        output.tested or 0,
        len(verdict.findings),
        output.elapsed,
    )
    if verdict.status is PolicyStatus.ERROR:
        log.warning("policy=%s error=%s", policy.id, verdict.reason)
