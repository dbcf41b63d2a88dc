"""One config with all five live sources, end to end against local servers and moto.

Octopus and ServiceNow serve the Harbourline sample (api_simulator), JSM replays the
recorded servicedeskapi pages, the Kubernetes API server is reached through a
kubeconfig on the same loopback server, and AWS IAM is moto with planted findings.
"""

from __future__ import annotations

import json
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from click.testing import CliRunner
from moto import mock_aws
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from evidencekit.cli import main
from live_all_fixtures import (
    AWS_ACCOUNT,
    CLUSTER,
    RAFAEL,
    SAMPLE,
    SECRETS,
    Servers,
    populate_iam,
    set_secrets,
    write_config,
    write_kubeconfig,
)

SOURCES = {"octopus", "servicenow", "jsm", "aws", "kubernetes"}
AWS_FAILING = {
    # policy -> user names it must name
    "aws-console-mfa": {"alice-console"},
    "aws-admin-access": {"bob-admin"},
    "aws-access-key-rotation": {"carol-ci"},
    "aws-unused-access-keys": {"carol-ci"},
}
K8S_FAILING = {
    "k8s-cluster-admin": {"system:masters", RAFAEL},
    "k8s-sensitive-permissions": {"ci/runner", RAFAEL},
}


@pytest.fixture
def live(
    tmp_path: Path, httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """The five-source config, inside moto with the IAM findings planted."""
    set_secrets(monkeypatch, tmp_path)
    with mock_aws():
        populate_iam()
        yield write_config(tmp_path, httpserver, write_kubeconfig(tmp_path, httpserver))


def run(config: Path, out: Path) -> tuple[int, dict[str, Any], str]:
    outcome = CliRunner().invoke(
        main, ["run", "--config", str(config), "--out", str(out)]
    )
    assert (out / "results.json").is_file(), outcome.output
    data = json.loads((out / "results.json").read_text("utf-8"))
    return outcome.exit_code, data, outcome.output


def by_id(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {p["id"]: p for p in data["policies"]}


def names_in(finding: dict[str, Any], names: set[str]) -> set[str]:
    text = f"{finding['resource']} {finding['message']}"
    return {name for name in names if name in text}


def test_all_five_live_sources_run_end_to_end(
    tmp_path: Path, httpserver: HTTPServer, live: Path
) -> None:
    Servers(httpserver)
    out = tmp_path / "out"

    code, data, output = run(live, out)

    # ---- every source live and complete; findings, not a gap
    assert code == 1, output
    manifest = {s["name"]: s for s in data["manifest"]["sources"]}
    assert set(manifest) == SOURCES
    assert {n: s["mode"] for n, s in manifest.items()} == dict.fromkeys(SOURCES, "api")
    assert {n: s["status"] for n, s in manifest.items()} == dict.fromkeys(
        SOURCES, "complete"
    )
    summaries = {s["name"]: s for s in data["sources"]}
    assert {n: s["status"] for n, s in summaries.items()} == dict.fromkeys(
        SOURCES, "complete"
    )
    assert data["evidence_complete"] is True

    # ---- the Harbourline findings are all there
    found = {(f["policy"], f["resource"]) for f in data["findings"]}
    expected = json.loads((SAMPLE / "expected-findings.json").read_text("utf-8"))
    assert {(e["policy"], e["resource"]) for e in expected} <= found

    # ---- the AWS and Kubernetes policies fail on what was planted
    policies = by_id(data)
    assert not [p["id"] for p in policies.values() if p["status"] == "error"]
    for policy, names in {**AWS_FAILING, **K8S_FAILING}.items():
        assert policies[policy]["status"] == "fail", policies[policy]
        named = set().union(
            *(names_in(f, names) for f in data["findings"] if f["policy"] == policy)
        )
        assert named == names, (policy, named)
    # No Harbourline deployment names a JSM key (release notes and server task
    # approvals carry CHG numbers only), so the JSM policy has nothing in scope.
    exports = SAMPLE / "exports" / "octopus"
    for name in ("releases.json", "servertaskapprovals.json"):
        assert not re.search(r"\bOPS-[0-9]+\b", (exports / name).read_text("utf-8"))
    jsm = policies["jsm-change-approval"]
    assert (jsm["status"], jsm["tested"], jsm["findings"]) == ("not_tested", 0, 0)
    assert jsm["reason"] == "nothing in scope", jsm
    assert jsm["evidence_gaps"] == [], jsm
    for finding in data["findings"]:
        refs = finding["evidence"]
        assert any(ref["file"] and ref["sha256"] for ref in refs), finding
        # Only a derived Kubernetes grant (built from several files) has no file of
        # its own (docs/data-model.md); its binding and role refs carry the files.
        unlocated = {ref["ref"] for ref in refs if not (ref["file"] and ref["sha256"])}
        assert all(ref.startswith("kubernetes/grants/") for ref in unlocated), finding

    # ---- one access review across the systems
    review = data["access_review"]
    systems = {row["system"] for row in review}
    assert {"octopus", f"aws:{AWS_ACCOUNT}", f"kubernetes:{CLUSTER}"} <= systems
    assert systems & {"servicenow", "jsm"} == {"servicenow", "jsm"}, systems
    assert any(row["person"] is None for row in review)
    rafael = {row["system"] for row in review if row["person"] == RAFAEL}
    assert {"octopus", f"aws:{AWS_ACCOUNT}", f"kubernetes:{CLUSTER}"} <= rafael

    # ---- the workbook agrees
    book = openpyxl.load_workbook(out / "report.xlsx", read_only=True)
    access_rows = [
        row
        for row in list(book["Access review"].iter_rows(values_only=True))[2:]
        if any(cell is not None for cell in row)
    ]
    assert len(access_rows) == len(review)
    assert any(row[0] == "NOT JOINED" for row in access_rows)
    findings_text = "\n".join(
        " ".join(str(cell) for cell in row if cell is not None)
        for row in book["Findings"].iter_rows(values_only=True)
    )
    for policy in {**AWS_FAILING, **K8S_FAILING}:
        assert policy in findings_text, policy
    policies_text = "\n".join(
        " ".join(str(cell) for cell in row if cell is not None)
        for row in book["Policies"].iter_rows(values_only=True)
    )
    for policy in [*AWS_FAILING, *K8S_FAILING, "jsm-change-approval"]:
        assert policy in policies_text, policy
    book.close()

    # ---- no secret anywhere in the store or the reports
    files = [*out.rglob("*"), *(tmp_path / "store").rglob("*")]
    blobs = {str(p): p.read_bytes() for p in files if p.is_file()}
    with zipfile.ZipFile(out / "report.xlsx") as workbook:  # its parts are deflated
        blobs.update({f"xlsx:{n}": workbook.read(n) for n in workbook.namelist()})
    assert any(name.endswith("manifest.json") for name in blobs)
    for name, content in blobs.items():
        for secret in SECRETS:
            assert secret.encode() not in content, (name, secret)


def test_jsm_outage_after_the_first_page_is_a_gap_and_exits_3(
    tmp_path: Path, httpserver: HTTPServer, live: Path
) -> None:
    def outage(request: Request) -> Response | None:
        first = request.path.endswith("/servicedeskapi/request") and (
            request.args.get("start", "0") == "0"
        )
        return None if first else Response("upstream unavailable", 503)

    Servers(httpserver, jsm_hook=outage)

    code, data, output = run(live, tmp_path / "out")

    assert code == 3, output
    statuses = {s["name"]: s["status"] for s in data["sources"]}
    assert statuses.pop("jsm") == "incomplete"
    assert statuses == dict.fromkeys(SOURCES - {"jsm"}, "complete")
    manifest = {s["name"]: s for s in data["manifest"]["sources"]}
    assert {n: s["mode"] for n, s in manifest.items()} == dict.fromkeys(SOURCES, "api")
    assert data["evidence_complete"] is False
    jsm = next(s for s in data["sources"] if s["name"] == "jsm")
    requests = next(r for r in jsm["resources"] if r["name"] == "requests")
    assert requests["records"] == 2  # the first page is kept
    assert any("503" in w for w in requests["warnings"]), requests
    policies = by_id(data)
    # Without the evidence the JSM policy is not tested for the gap, not for an
    # empty scope, and nothing passes or errors on it.
    jsm_policy = policies["jsm-change-approval"]
    assert jsm_policy["status"] == "not_tested", jsm_policy
    assert "jsm.requests" in jsm_policy["evidence_gaps"], jsm_policy
    assert "nothing in scope" not in (jsm_policy["reason"] or ""), jsm_policy
    assert not [p["id"] for p in policies.values() if p["status"] in {"pass", "error"}]
    # the other sources' policies still ran on complete evidence
    for policy in {**AWS_FAILING, **K8S_FAILING}:
        assert policies[policy]["status"] == "fail", policies[policy]
    expected = json.loads((SAMPLE / "expected-findings.json").read_text("utf-8"))
    found = {(f["policy"], f["resource"]) for f in data["findings"]}
    assert {(e["policy"], e["resource"]) for e in expected} <= found
