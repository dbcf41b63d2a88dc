"""Lint lines: one per finding of an octolint-style policy, never a false clean run."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from evidencekit.config import load_config
from evidencekit.errors import PolicyError
from evidencekit.exitcodes import ExitCode
from evidencekit.lint import lint_checks, lint_exit_code, lint_id, lint_lines
from evidencekit.policies.loader import Policy, load_policies
from evidencekit.results import (
    EvidenceRef,
    Finding,
    Period,
    PolicyResult,
    PolicyStatus,
    RunResult,
    SourceStatus,
    SourceSummary,
)
from evidencekit.runner import collect, evaluate

ROOT = Path(__file__).resolve().parents[1]
POLICIES = ROOT / "policies"
DATA = Path(__file__).parent / "data"
LIBRARIES = ("access", "changelink", "deployments", "util", "octopus_lint", "jsmlink")
LINT_POLICIES = (
    "octopus_lint_unrotated_accounts",
    "octopus_lint_shared_git_usernames",
    "octopus_lint_insecure_feeds",
    "octopus_lint_insecure_k8s_targets",
    "octopus_lint_insecure_webhooks",
    "octopus_lint_sha1_certificates",
    "octopus_lint_unused_targets",
    "octopus_lint_unhealthy_targets",
    "octopus_lint_empty_projects",
    "octopus_lint_too_many_steps",
    "api_key_expiry",
    "admin_deployments",
)


def policy(policy_id: str, lint: Any) -> Policy:
    """A policy whose METADATA names (or lacks) an octolint check."""
    custom: dict[str, Any] = {"id": policy_id, "severity": "low"}
    if lint is not None:
        custom["lint"] = lint
    block = yaml.safe_dump({"title": policy_id, "custom": custom}, sort_keys=False)
    comments = "".join(f"# {line}\n" for line in block.splitlines())
    package = f"evidencekit.policies.{policy_id.replace('-', '_')}"
    return Policy(
        id=policy_id,
        title=policy_id,
        description="",
        severity="low",
        controls=[],
        requires=[],
        package=package,
        path=Path(f"{policy_id}.rego"),
        source=f"# METADATA\n{comments}package {package}\n",
    )


def verdict(
    policy_id: str,
    status: PolicyStatus,
    reason: str | None = None,
    gaps: list[str] | None = None,
) -> PolicyResult:
    return PolicyResult(
        id=policy_id,
        title=policy_id,
        description="",
        severity="low",
        controls=[],
        status=status,
        tested=1,
        findings=0,
        reason=reason,
        evidence_gaps=gaps or [],
    )


def finding(policy_id: str, resource: str, message: str) -> Finding:
    ref = EvidenceRef(f"octopus/machines/{resource}", "octopus", "machines", resource)
    return Finding(policy_id, resource, [], "low", message, [ref])


def run_result(
    findings: list[Finding],
    verdicts: list[PolicyResult],
    status: SourceStatus = SourceStatus.COMPLETE,
) -> RunResult:
    source = SourceSummary("octopus", "octopus", status, "exports/octopus", [])
    period = Period("2026-07-01", "2026-09-30", "UTC", "", "")
    return RunResult(
        organisation="Example Ltd",
        period=period,
        frameworks=["iso27001-2022"],
        snapshot_id="snap",
        manifest_sha256="0" * 64,
        generated_at="2026-10-06T06:15:00.000000Z",
        tool_version="test",
        engine="regorus",
        sources=[source],
        findings=findings,
        policies=verdicts,
        controls=[],
        manifest={},
    )


UNHEALTHY = policy("octopus-unhealthy-targets", "OctoLintUnhealthyTargets")
FEEDS = policy("octopus-insecure-feeds", "OctoLintInsecureFeedsTargets")
CHANGES = policy("change-approval", None)


def test_findings_become_sorted_lines_with_their_octolint_id() -> None:
    result = run_result(
        [
            finding("octopus-unhealthy-targets", "Machines-9", "is Unavailable"),
            finding("octopus-insecure-feeds", "Feeds-2", "is plain HTTP"),
            finding("octopus-unhealthy-targets", "Machines-10", "is Unhealthy"),
            finding("change-approval", "Deployments-1", "has no change"),
        ],
        [
            verdict("octopus-unhealthy-targets", PolicyStatus.FAIL),
            verdict("octopus-insecure-feeds", PolicyStatus.FAIL),
            verdict("change-approval", PolicyStatus.FAIL),
        ],
    )

    lines = lint_lines(result, [UNHEALTHY, FEEDS, CHANGES])

    assert lines == [
        "[octopus-insecure-feeds] Feeds-2: is plain HTTP "
        "(OctoLintInsecureFeedsTargets)",
        "[octopus-unhealthy-targets] Machines-10: is Unhealthy "
        "(OctoLintUnhealthyTargets)",
        "[octopus-unhealthy-targets] Machines-9: is Unavailable "
        "(OctoLintUnhealthyTargets)",
        "lint: 3 finding(s) from 2 of 2 check(s); 0 passed, 0 not tested or in error",
    ]


def test_a_clean_run_says_so_only_when_every_check_passed() -> None:
    result = run_result(
        [],
        [
            verdict("octopus-unhealthy-targets", PolicyStatus.PASS),
            verdict("octopus-insecure-feeds", PolicyStatus.PASS),
        ],
    )

    assert lint_lines(result, [UNHEALTHY, FEEDS]) == [
        "lint: 0 finding(s) from 0 of 2 check(s); 2 passed, 0 not tested or in error"
    ]


def test_checks_without_a_verdict_are_listed_and_the_run_is_not_clean() -> None:
    result = run_result(
        [],
        [
            verdict(
                "octopus-unhealthy-targets",
                PolicyStatus.NOT_TESTED,
                "octopus.machines is missing",
                ["octopus.machines"],
            ),
            verdict("octopus-insecure-feeds", PolicyStatus.ERROR, "engine said no"),
        ],
    )
    too_many = policy("octopus-too-many-steps", "OctoLintTooManySteps")

    lines = lint_lines(result, [UNHEALTHY, FEEDS, too_many])

    assert lines == [
        "[octopus-insecure-feeds] ERROR: could not be evaluated: engine said no "
        "(OctoLintInsecureFeedsTargets)",
        "[octopus-too-many-steps] NOT TESTED: the run did not evaluate it "
        "(OctoLintTooManySteps)",
        "[octopus-unhealthy-targets] NOT TESTED: octopus.machines is missing "
        "(OctoLintUnhealthyTargets)",
        "lint: 0 finding(s) from 0 of 3 check(s); 0 passed, 3 not tested or in "
        "error; the evidence is incomplete, so this is NOT a clean result",
    ]


def test_findings_from_partial_evidence_are_flagged_as_partial() -> None:
    result = run_result(
        [finding("octopus-unhealthy-targets", "Machines-9", "is Unavailable")],
        [
            verdict(
                "octopus-unhealthy-targets",
                PolicyStatus.FAIL,
                "octopus.machines is incomplete",
                ["octopus.machines"],
            )
        ],
        SourceStatus.INCOMPLETE,
    )

    lines = lint_lines(result, [UNHEALTHY])

    assert lines[1] == (
        "[octopus-unhealthy-targets] INCOMPLETE: findings above come from partial "
        "evidence (octopus.machines); more may exist (OctoLintUnhealthyTargets)"
    )
    assert lines[-1].endswith("so this is NOT a clean result")


def test_other_incomplete_evidence_is_mentioned_without_blaming_the_checks() -> None:
    result = run_result(
        [], [verdict("octopus-insecure-feeds", PolicyStatus.PASS)], SourceStatus.FAILED
    )

    summary = lint_lines(result, [FEEDS])[-1]

    assert "other evidence of this run is incomplete" in summary


def test_untrusted_text_cannot_forge_a_line() -> None:
    message = "ok\n[octopus-insecure-feeds] Feeds-1: fine\x1b[2K"
    result = run_result(
        [finding("octopus-insecure-feeds", "Feeds-2", message)],
        [verdict("octopus-insecure-feeds", PolicyStatus.FAIL)],
    )

    line = lint_lines(result, [FEEDS])[0]

    assert "\n" not in line and "\x1b" not in line
    assert "⟨U+000A⟩" in line and "⟨U+001B⟩" in line


def test_no_lint_policies_is_not_a_clean_result() -> None:
    result = run_result([], [verdict("change-approval", PolicyStatus.PASS)])

    assert lint_lines(result, [CHANGES]) == [
        "lint: 0 finding(s) from 0 of 0 check(s); 0 passed, 0 not tested or in "
        "error; no policy declares a lint check, so nothing was checked"
    ]


def test_exit_code_counts_only_lint_checks_and_gaps_win() -> None:
    clean = run_result(
        [finding("change-approval", "Deployments-1", "has no change")],
        [
            verdict("octopus-insecure-feeds", PolicyStatus.PASS),
            verdict("change-approval", PolicyStatus.FAIL),
        ],
    )
    failing = run_result(
        [finding("octopus-insecure-feeds", "Feeds-2", "is plain HTTP")],
        [verdict("octopus-insecure-feeds", PolicyStatus.FAIL)],
    )
    unjudged = run_result(
        [finding("octopus-insecure-feeds", "Feeds-2", "is plain HTTP")],
        [
            verdict("octopus-insecure-feeds", PolicyStatus.FAIL),
            verdict("octopus-unhealthy-targets", PolicyStatus.NOT_TESTED, "missing"),
        ],
    )

    assert lint_exit_code(clean, [FEEDS, CHANGES]) is ExitCode.OK
    assert lint_exit_code(failing, [FEEDS]) is ExitCode.FINDINGS
    assert lint_exit_code(unjudged, [FEEDS, UNHEALTHY]) is ExitCode.INCOMPLETE
    assert lint_exit_code(clean, [CHANGES]) is ExitCode.INCOMPLETE  # nothing checked


@pytest.mark.parametrize("value", ["", "  ", 7, ["OctoLintX"]])
def test_a_malformed_lint_id_is_refused(value: Any) -> None:
    with pytest.raises(PolicyError, match=r"custom\.lint"):
        lint_id(policy("octopus-odd", value))


# --- on the shipped policies ------------------------------------------------------


def shipped_policies(tmp_path: Path) -> Path:
    """Copy the lint policies and what they import into a folder of their own."""
    folder = tmp_path / "policies"
    (folder / "lib").mkdir(parents=True)
    for name in LIBRARIES:
        shutil.copy(POLICIES / "lib" / f"{name}.rego", folder / "lib")
    for name in LINT_POLICIES:
        shutil.copy(POLICIES / f"{name}.rego", folder)
    return folder


def test_every_octopus_lint_policy_declares_its_octolint_id(tmp_path: Path) -> None:
    policies = load_policies(shipped_policies(tmp_path))

    declared = {p.id: lint_id(p) for p in policies}
    assert declared == {
        "octopus-unrotated-accounts": "OctoLintUnrotatedAccounts",
        "octopus-shared-git-usernames": "OctoLintSharedGitUsername",
        "octopus-insecure-feeds": "OctoLintInsecureFeedsTargets",
        "octopus-insecure-k8s-targets": "OctoLintInsecureK8sTargets",
        "octopus-insecure-webhooks": "OctoLintInsecureWebhookUrls",
        "octopus-sha1-certificates": "OctoLintSha1Certificates",
        "octopus-unused-targets": "OctoLintUnusedTargets",
        "octopus-unhealthy-targets": "OctoLintUnhealthyTargets",
        "octopus-empty-projects": "OctoLintEmptyProject",
        "octopus-too-many-steps": "OctoLintTooManySteps",
        "api-key-expiry": "OctoLintPerpetualApiKeys",
        "admin-deployments": "OctoLintDeploymentQueuedByAdmin",
    }


def write_config(tmp_path: Path, policy_dir: Path) -> Path:
    """A run over the recorded Octopus export plus the configuration resources."""
    octopus = tmp_path / "exports" / "octopus"
    shutil.copytree(DATA / "octopus" / "export", octopus)
    for path in (DATA / "octopus_lint" / "config").glob("*.json"):
        shutil.copy(path, octopus / path.name)
    shutil.copytree(DATA / "servicenow" / "export", tmp_path / "exports" / "servicenow")
    config = {
        "organisation": "Lint Example Ltd",
        "period": {"start": "2026-11-01", "end": "2026-11-30", "timezone": "UTC"},
        "production_environments": ["Production"],
        "sources": [
            {"name": "octopus", "type": "octopus", "path": "exports/octopus"},
            {"name": "servicenow", "type": "servicenow", "path": "exports/servicenow"},
        ],
        "store": "store",
        "policy_dir": str(policy_dir),
    }
    path = tmp_path / "evidencekit.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def test_a_lint_run_on_the_recorded_export(tmp_path: Path) -> None:
    policy_dir = shipped_policies(tmp_path)
    config = load_config(write_config(tmp_path, policy_dir))

    result = evaluate(config, collect(config))
    lines = lint_lines(result, load_policies(policy_dir))

    found = {line.split("]")[0][1:] + " " + line.split()[1][:-1] for line in lines[:-1]}
    assert {
        "octopus-unrotated-accounts Accounts-1",
        "octopus-unrotated-accounts Accounts-4",
        "octopus-shared-git-usernames octo-bot",
        "octopus-insecure-feeds Feeds-1002",
        "octopus-insecure-k8s-targets Machines-6",
        "octopus-insecure-webhooks Subscriptions-2",
        "octopus-sha1-certificates Machines-5",
        "octopus-sha1-certificates Certificates-2",
        "octopus-unused-targets Machines-5",
        "octopus-unused-targets Machines-6",
        "octopus-unhealthy-targets Machines-5",
    } <= found
    verdicts = {p.id: p.status for p in result.policies}
    assert verdicts["octopus-empty-projects"] is PolicyStatus.PASS
    assert verdicts["octopus-too-many-steps"] is PolicyStatus.PASS
    assert not any("Machines-4" in line for line in lines)
    assert lines[:-1] == sorted(lines[:-1])
    assert lines[-1].startswith("lint: ")
    checks = lint_checks(result, load_policies(policy_dir))
    assert len(checks) == 12
