"""A run against live APIs (local simulators) reaches the export run's findings."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from api_simulator import OCTOPUS_KEY, OctopusSimulator, ServiceNowSimulator
from evidencekit.cli import main

SAMPLE = Path(__file__).resolve().parents[1] / "examples" / "harbourline"


def live_config(tmp_path: Path, server: HTTPServer) -> Path:
    config = yaml.safe_load((SAMPLE / "evidencekit.yaml").read_text("utf-8"))
    config["store"] = str(tmp_path / "store")
    config["sources"] = [
        {
            "name": "octopus",
            "type": "octopus",
            "url": server.url_for("/").rstrip("/"),
            "api_key": {"env": "EK_TEST_OCTOPUS_KEY"},
            "page_size": 50,
            "retries": 1,
            "backoff": 0,
        },
        {
            "name": "servicenow",
            "type": "servicenow",
            "url": server.url_for("/").rstrip("/"),
            "username": "evidence.reader",
            "password": {"env": "EK_TEST_SNOW_PASSWORD"},
            "page_size": 25,
            "retries": 1,
            "backoff": 0,
        },
    ]
    path = tmp_path / "live.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


@pytest.fixture
def simulators(
    httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> tuple[OctopusSimulator, ServiceNowSimulator]:
    monkeypatch.setenv("EK_TEST_OCTOPUS_KEY", OCTOPUS_KEY)
    monkeypatch.setenv("EK_TEST_SNOW_PASSWORD", "s3cret-Passw0rd")
    octopus = OctopusSimulator(SAMPLE / "exports" / "octopus")
    servicenow = ServiceNowSimulator(
        SAMPLE / "exports" / "servicenow", "evidence.reader", "s3cret-Passw0rd"
    )
    httpserver.expect_request(re.compile("^/api/now/")).respond_with_handler(servicenow)
    httpserver.expect_request(re.compile("^/api/")).respond_with_handler(octopus)
    return octopus, servicenow


def run(config: Path, out: Path) -> tuple[int, dict[str, Any], str]:
    outcome = CliRunner().invoke(
        main, ["run", "--config", str(config), "--out", str(out)]
    )
    data = json.loads((out / "results.json").read_text("utf-8"))
    return outcome.exit_code, data, outcome.output


def test_live_run_finds_what_the_export_run_finds(
    tmp_path: Path, httpserver: HTTPServer, simulators: Any
) -> None:
    code, data, output = run(live_config(tmp_path, httpserver), tmp_path / "out")

    assert code == 1, output
    expected = json.loads((SAMPLE / "expected-findings.json").read_text("utf-8"))
    found = sorted((f["policy"], f["resource"]) for f in data["findings"])
    assert found == sorted((e["policy"], e["resource"]) for e in expected)
    modes = {s["name"]: s["mode"] for s in data["manifest"]["sources"]}
    assert modes == {"octopus": "api", "servicenow": "api"}
    window = data["manifest"]["sources"][0]["query_window"]
    assert window["to"] == "2026-09-30T23:00:00.000000Z"  # period end, London time


def test_secrets_stay_out_of_evidence_and_reports(
    tmp_path: Path, httpserver: HTTPServer, simulators: Any
) -> None:
    out = tmp_path / "out"
    run(live_config(tmp_path, httpserver), out)

    files = [*out.iterdir(), *(tmp_path / "store").rglob("*")]
    for path in files:
        if path.is_file() and path.suffix in {".json", ".jsonl", ".xlsx", ".pdf"}:
            content = path.read_bytes()
            assert OCTOPUS_KEY.encode() not in content, path
            assert b"s3cret-Passw0rd" not in content, path


def test_a_source_that_stops_answering_is_incomplete_and_the_run_exits_3(
    tmp_path: Path, httpserver: HTTPServer, simulators: Any
) -> None:
    octopus, _ = simulators

    def outage(request: Request) -> Response | None:
        if request.path.endswith("/deployments") and request.args["skip"] != "0":
            return Response("upstream timeout", 503)
        return None

    octopus.intercept = outage
    code, data, output = run(live_config(tmp_path, httpserver), tmp_path / "out")

    assert code == 3, output
    octopus_summary = next(s for s in data["sources"] if s["name"] == "octopus")
    assert octopus_summary["status"] == "incomplete"
    deployments = next(
        r for r in octopus_summary["resources"] if r["name"] == "deployments"
    )
    assert deployments["status"] == "incomplete"
    assert any("503" in w or "stopped" in w for w in deployments["warnings"])
    servicenow = next(s for s in data["sources"] if s["name"] == "servicenow")
    assert servicenow["status"] == "complete"  # the other source still completed
    change = next(p for p in data["policies"] if p["id"] == "change-approval")
    assert change["status"] != "pass"
