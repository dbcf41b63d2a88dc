"""results.json: content, schema keys, Unicode safety, atomic writing, reading back."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

import report_fixtures as fx
from evidencekit.errors import ReportError
from evidencekit.reports.json_report import SCHEMA, sorted_findings, write_json
from evidencekit.results import AccessEntry, RunResult, run_result_from_dict

TOP_LEVEL_KEYS = [
    "schema", "organisation", "period", "frameworks", "snapshot_id",
    "manifest_sha256", "collected_at", "previous_manifest_sha256", "generated_at",
    "tool_version", "engine", "evidence_complete", "evidence_gaps",
    "evaluation_errors", "summary", "sources", "policies", "controls", "findings",
    "access_review", "manifest",
]  # fmt: skip
ACCESS_REVIEW = [
    AccessEntry(
        person="tomasz.brennan@harbourline.example",
        system="octopus",
        account="Users-5",
        entitlement="deploy-production",
        scope="Production (Environments-3) in Spaces-1",
        via="team prod-deployers (Teams-4) -> role Deployment creator "
        "(ScopedUserRoles-4) [DeploymentCreate]",
        evidence=["octopus/scopeduserroles/ScopedUserRoles-4", "octopus/teams/Teams-4"],
    ),
    AccessEntry(
        person=None,
        system="aws:210987654321",
        account="arn:aws:iam::210987654321:role/octopus-lambda-deployer",
        entitlement="deploy-production",
        scope="arn:aws:lambda:eu-west-2:210987654321:function:settlement-*",
        via="managed policy lambda-release [lambda:UpdateFunctionCode] [IAM role]",
        evidence=["aws/roles/210987654321:octopus-lambda-deployer"],
    ),
]


def _write(result: RunResult, folder: Path) -> dict[str, Any]:
    path = write_json(result, folder / "results.json")
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def test_document_has_the_documented_keys_in_a_fixed_order(tmp_path: Path) -> None:
    data = _write(fx.run_result(), tmp_path)

    assert list(data) == TOP_LEVEL_KEYS
    assert data["schema"] == SCHEMA == "evidencekit.results/1"
    assert data["snapshot_id"] == fx.SNAPSHOT_ID
    assert data["manifest_sha256"] == fx.MANIFEST_SHA256
    assert data["previous_manifest_sha256"] == fx.PREVIOUS_MANIFEST_SHA256
    assert data["collected_at"] == fx.COLLECTED_AT
    assert data["generated_at"] == fx.GENERATED_AT
    assert data["period"]["timezone"] == "Europe/London"
    assert data["period"]["end_utc"] == "2026-09-30T23:00:00.000000Z"


def test_incomplete_resource_makes_the_whole_run_incomplete(tmp_path: Path) -> None:
    data = _write(fx.run_result(), tmp_path)

    assert data["evidence_complete"] is False
    assert data["evidence_gaps"] == [
        f"servicenow/sys_user is incomplete: {fx.INCOMPLETE_WARNING}"
    ]
    servicenow = next(s for s in data["sources"] if s["name"] == "servicenow")
    assert servicenow["status"] == "incomplete"
    assert servicenow["records"] == 318 + 655 + 1000
    sys_user = next(r for r in servicenow["resources"] if r["name"] == "sys_user")
    assert sys_user == {
        "name": "sys_user", "status": "incomplete", "records": 1000,
        "duplicates": 0, "warnings": [fx.INCOMPLETE_WARNING],
    }  # fmt: skip


def test_complete_and_failed_runs(tmp_path: Path) -> None:
    complete = _write(fx.complete_run_result(), tmp_path)
    failed = _write(fx.failed_source_run_result(), tmp_path)

    assert complete["evidence_complete"] is True
    assert complete["evidence_gaps"] == []
    assert failed["evidence_complete"] is False
    assert failed["evidence_gaps"][0].startswith(
        "source servicenow (servicenow) failed: HTTP 401"
    )


def test_summary_counts_every_status_per_framework(tmp_path: Path) -> None:
    summary = _write(fx.run_result(), tmp_path)["summary"]

    assert summary["frameworks"] == {
        "iso27001-2022": {
            "pass": 1, "fail": 4, "not_tested": 2, "manual": 3, "total": 10,
        },
        "soc2-2017": {"pass": 1, "fail": 2, "not_tested": 2, "manual": 1, "total": 6},
    }  # fmt: skip
    assert summary["policies"] == {
        "pass": 2, "fail": 4, "not_tested": 1, "error": 1, "total": 8,
    }  # fmt: skip
    assert summary["findings"] == {
        "total": 10,
        "by_severity": {"critical": 2, "high": 4, "medium": 4, "low": 0, "info": 0},
    }


def test_policies_and_controls_carry_status_and_links(tmp_path: Path) -> None:
    data = _write(fx.run_result(), tmp_path)

    policies = {policy["id"]: policy for policy in data["policies"]}
    assert {policy["status"] for policy in policies.values()} == {
        "pass", "fail", "not_tested", "error",
    }  # fmt: skip
    dormant = policies["dormant-accounts"]
    assert dormant["tested"] == 0
    assert dormant["reason"] == "required evidence servicenow.sys_user is incomplete"
    assert dormant["evidence_gaps"] == ["servicenow.sys_user"]
    assert set(policies["change-approval"]) >= {
        "id", "title", "severity", "controls", "status", "tested", "findings", "reason",
    }  # fmt: skip

    controls = {(c["framework"], c["id"]): c for c in data["controls"]}
    change = controls[("iso27001-2022", "A.8.32")]
    assert change["status"] == "fail"
    assert change["findings"] == 4 + 2 + 0
    assert controls[("iso27001-2022", "A.5.1")]["policies"] == []
    assert controls[("iso27001-2022", "A.5.1")]["status"] == "manual"


def test_findings_point_to_evidence_and_are_ordered_by_severity(
    tmp_path: Path,
) -> None:
    findings = _write(fx.run_result(), tmp_path)["findings"]

    assert [f["severity"] for f in findings] == (
        ["critical"] * 2 + ["high"] * 4 + ["medium"] * 4
    )
    not_approved = next(f for f in findings if f["resource"] == "Deployments-1187")
    assert list(not_approved) == [
        "policy", "resource", "controls", "severity", "message", "evidence",
    ]  # fmt: skip
    assert not_approved["controls"] == [
        "iso27001-2022:A.8.32", "iso27001-2022:A.8.19", "soc2-2017:CC8.1",
    ]  # fmt: skip
    assert not_approved["evidence"][1] == {
        "ref": "servicenow/change_request/a3f9c2d41b8e5010b2c4a7d2e34bcb11",
        "source": "servicenow",
        "resource": "change_request",
        "record_id": "a3f9c2d41b8e5010b2c4a7d2e34bcb11",
        "file": "change_request.json",
        "sha256": fx.sha("servicenow/change_request.json"),
    }


def test_results_file_reads_back_into_the_same_run(tmp_path: Path) -> None:
    result = fx.run_result()
    data = _write(result, tmp_path)

    expected = replace(result, findings=sorted_findings(result.findings))
    assert run_result_from_dict(data) == expected


def test_hostile_text_is_kept_whole_and_readable(tmp_path: Path) -> None:
    path = write_json(fx.hostile_run_result(), tmp_path / "results.json")
    raw = path.read_bytes()
    data = json.loads(raw.decode("utf-8"))

    messages = {finding["message"] for finding in data["findings"]}
    assert set(fx.HOSTILE_STRINGS) <= messages  # nothing escaped away or dropped
    assert fx.LONG_MESSAGE in messages  # no truncation in the complete record
    assert "مرحلة الإنتاج".encode() in raw  # ensure_ascii=False: readable UTF-8
    assert b"\\ud800" in raw  # a lone surrogate is written as its JSON escape
    assert b"\\u0007" in raw  # json escapes control characters itself


def test_writing_twice_gives_identical_bytes_and_leaves_no_temporary_files(
    tmp_path: Path,
) -> None:
    first = write_json(fx.run_result(), tmp_path / "results.json").read_bytes()
    second = write_json(fx.run_result(), tmp_path / "results.json").read_bytes()

    assert first == second
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"]


def test_failed_write_keeps_the_previous_file(tmp_path: Path) -> None:
    path = write_json(fx.run_result(), tmp_path / "results.json")
    before = path.read_bytes()
    broken = replace(fx.run_result(), manifest={"collected_at": object()})

    with pytest.raises(ReportError, match="not JSON-serialisable"):
        write_json(broken, path)

    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"]


def test_access_review_is_written_in_order_and_reads_back(tmp_path: Path) -> None:
    result = replace(fx.run_result(), access_review=ACCESS_REVIEW)
    data = _write(result, tmp_path)

    assert data["access_review"][1] == {
        "person": None,
        "system": "aws:210987654321",
        "account": "arn:aws:iam::210987654321:role/octopus-lambda-deployer",
        "entitlement": "deploy-production",
        "scope": "arn:aws:lambda:eu-west-2:210987654321:function:settlement-*",
        "via": "managed policy lambda-release [lambda:UpdateFunctionCode] [IAM role]",
        "evidence": ["aws/roles/210987654321:octopus-lambda-deployer"],
    }
    assert [row["person"] for row in data["access_review"]] == [
        "tomasz.brennan@harbourline.example",
        None,
    ]
    expected = replace(result, findings=sorted_findings(result.findings))
    assert run_result_from_dict(data) == expected
    assert _write(fx.complete_run_result(), tmp_path)["access_review"] == []
