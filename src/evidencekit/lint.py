"""Format the findings of the octolint-style policies as one line each, for a terminal.

A policy takes part when its METADATA names the octolint check it corresponds to
(``custom.lint``). Every finding becomes ``[<policy id>] <resource>: <message>
(<octolint id>)``. A policy that could not judge its evidence (not tested, or an
evaluation error) gets a line that says so, and the closing summary says the run is
not clean, so a lint run on incomplete evidence never looks like a clean one.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from evidencekit.errors import PolicyError
from evidencekit.exitcodes import ExitCode
from evidencekit.policies.loader import Policy, metadata_block
from evidencekit.reports.safe_text import visible_controls
from evidencekit.results import Finding, PolicyResult, PolicyStatus, RunResult

logger = logging.getLogger(__name__)

LINT_KEY = "lint"  # the METADATA custom key naming the octolint check


@dataclass(frozen=True)
class LintCheck:
    """A policy that corresponds to an octolint check, with its verdict in a run."""

    policy: Policy
    lint_id: str
    result: PolicyResult | None  # None: the run did not evaluate this policy


def lint_id(policy: Policy) -> str | None:
    """Return the octolint check id a policy declares, or None when it has none."""
    declared = getattr(policy, "lint", None)  # if the loader ever exposes it
    if isinstance(declared, str) and declared.strip():
        return declared.strip()
    custom = metadata_block(policy.source, policy.path).get("custom")
    value = custom.get(LINT_KEY) if isinstance(custom, dict) else None
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise PolicyError(
            f"policy file {policy.path}: METADATA field 'custom.{LINT_KEY}' must be "
            "the non-empty id of an octolint check, such as OctoLintEmptyProject"
        )
    return value.strip()


def lint_checks(result: RunResult, policies: Iterable[Policy]) -> list[LintCheck]:
    """Pair every policy that has a lint id with its result in the run."""
    results = {item.id: item for item in result.policies}
    checks = []
    for policy in policies:
        check_id = lint_id(policy)
        if check_id is not None:
            checks.append(LintCheck(policy, check_id, results.get(policy.id)))
    return sorted(checks, key=lambda check: check.policy.id)


def lint_lines(result: RunResult, policies: list[Policy]) -> list[str]:
    """Return one line per lint finding, sorted, then verdict gaps and a summary."""
    checks = lint_checks(result, policies)
    by_policy = {check.policy.id: check for check in checks}
    findings = sorted(
        finding_line(finding, by_policy[finding.policy].lint_id)
        for finding in result.findings
        if finding.policy in by_policy
    )
    gaps = sorted(line for check in checks if (line := gap_line(check)) is not None)
    summary = summary_line(checks, len(findings), result.evidence_complete)
    logger.info(
        "lint checks=%d findings=%d gaps=%d", len(checks), len(findings), len(gaps)
    )
    return [*findings, *gaps, summary]


def lint_exit_code(result: RunResult, policies: list[Policy]) -> ExitCode:
    """Map the lint checks alone to an exit code; an unjudged check wins over findings.

    Findings of policies without a lint id do not count here, but a lint check that
    was not tested, errored or saw partial evidence gives ``INCOMPLETE``.
    """
    checks = lint_checks(result, policies)
    if any(gap_line(check) is not None for check in checks) or not checks:
        return ExitCode.INCOMPLETE
    lint_ids = {check.policy.id for check in checks}
    if any(finding.policy in lint_ids for finding in result.findings):
        return ExitCode.FINDINGS
    return ExitCode.OK


def finding_line(finding: Finding, check_id: str) -> str:
    """Render one finding; evidence text is untrusted, so controls are made visible."""
    resource = visible_controls(finding.resource, keep_layout=False)
    message = visible_controls(finding.message, keep_layout=False)
    return f"[{finding.policy}] {resource}: {message} ({check_id})"


def gap_line(check: LintCheck) -> str | None:
    """Say why a check's verdict is not a clean one; None when it is."""
    prefix = f"[{check.policy.id}]"
    result = check.result
    if result is None:
        return f"{prefix} NOT TESTED: the run did not evaluate it ({check.lint_id})"
    reason = visible_controls(result.reason or "no reason given", keep_layout=False)
    if result.status is PolicyStatus.ERROR:
        return f"{prefix} ERROR: could not be evaluated: {reason} ({check.lint_id})"
    if result.status is PolicyStatus.NOT_TESTED:
        return f"{prefix} NOT TESTED: {reason} ({check.lint_id})"
    if result.evidence_gaps:
        gaps = ", ".join(result.evidence_gaps)
        return (
            f"{prefix} INCOMPLETE: findings above come from partial evidence "
            f"({gaps}); more may exist ({check.lint_id})"
        )
    return None


def summary_line(checks: list[LintCheck], findings: int, complete: bool) -> str:
    """Count the verdicts; say plainly when the run cannot be read as clean."""
    statuses = [check.result.status if check.result else None for check in checks]
    failed = statuses.count(PolicyStatus.FAIL)
    passed = statuses.count(PolicyStatus.PASS)
    unjudged = len(checks) - failed - passed
    partial = sum(1 for c in checks if c.result is not None and c.result.evidence_gaps)
    text = (
        f"lint: {findings} finding(s) from {failed} of {len(checks)} check(s); "
        f"{passed} passed, {unjudged} not tested or in error"
    )
    if not checks:
        return text + "; no policy declares a lint check, so nothing was checked"
    if unjudged or partial:
        return text + "; the evidence is incomplete, so this is NOT a clean result"
    if not complete:
        return text + (
            "; other evidence of this run is incomplete (see results.json), "
            "though every lint check had all it needs"
        )
    return text
