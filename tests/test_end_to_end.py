"""The whole job through the CLI: the sample's known findings, exit codes, verify."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result
from openpyxl import load_workbook

from clean_org import write_clean_org
from evidencekit.cli import main

SAMPLE = Path(__file__).resolve().parents[1] / "examples" / "harbourline"


def invoke(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.fixture
def sample_config(tmp_path: Path) -> Path:
    """The bundled sample, copied so the test has its own store."""
    shutil.copytree(SAMPLE / "exports", tmp_path / "exports")
    config = yaml.safe_load((SAMPLE / "evidencekit.yaml").read_text())
    config["store"] = "store"
    path = tmp_path / "evidencekit.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def results(out: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((out / "results.json").read_text("utf-8"))
    return data


def test_sample_run_reports_exactly_the_known_findings(
    sample_config: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    outcome = invoke("run", "--config", str(sample_config), "--out", str(out))

    assert outcome.exit_code == 1, outcome.output
    data = results(out)
    found = sorted((f["policy"], f["resource"]) for f in data["findings"])
    expected = json.loads((SAMPLE / "expected-findings.json").read_text("utf-8"))
    assert found == sorted((e["policy"], e["resource"]) for e in expected)
    assert data["evidence_complete"] is True
    in_scope = {
        p["id"]: p["status"]
        for p in data["policies"]
        if not (p["reason"] or "").startswith("not collected in this run")
    }
    assert in_scope == dict.fromkeys({e["policy"] for e in expected}, "fail")
    out_of_scope = {p["id"] for p in data["policies"]} - set(in_scope)
    assert {policy.split("-")[0] for policy in out_of_scope} == {"aws", "k8s", "jsm"}
    assert {"report.pdf", "report.xlsx", "results.json"} <= {
        p.name for p in out.iterdir()
    }


def test_sample_findings_point_to_hashed_evidence(
    sample_config: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    invoke("run", "--config", str(sample_config), "--out", str(out))
    data = results(out)
    store = tmp_path / "store" / "snapshots" / data["snapshot_id"]

    for finding in data["findings"]:
        assert finding["evidence"], finding
        assert finding["controls"], finding
        for ref in finding["evidence"]:
            assert ref["file"] and ref["sha256"], ref
            path = store / "evidence" / ref["source"] / ref["file"]
            assert path.is_file(), ref
            assert ref["record_id"] in path.read_text("utf-8")


def test_sample_controls_follow_the_policies(
    sample_config: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    invoke("run", "--config", str(sample_config), "--out", str(out))
    controls = {(c["framework"], c["id"]): c for c in results(out)["controls"]}

    assert controls[("iso27001-2022", "A.8.32")]["status"] == "fail"
    assert "change-approval" in controls[("iso27001-2022", "A.8.32")]["policies"]
    assert controls[("iso27001-2022", "A.7.1")]["status"] == "manual"
    assert controls[("soc2-2017", "CC8.1")]["status"] == "fail"
    assert len([c for c in controls if c[0] == "iso27001-2022"]) == 93


def test_clean_organisation_exits_zero(tmp_path: Path) -> None:
    config = write_clean_org(tmp_path)
    out = tmp_path / "out"
    outcome = invoke("run", "--config", str(config), "--out", str(out))

    data = results(out)
    assert outcome.exit_code == 0, (outcome.output, data["findings"])
    statuses = {
        p["id"]: p["status"]
        for p in data["policies"]
        if not (p["reason"] or "").startswith("not collected in this run")
    }
    assert statuses.pop("emergency-change-review") == "not_tested"  # none in scope
    assert set(statuses.values()) == {"pass"}
    assert "change-approval" in statuses and "octopus-insecure-feeds" in statuses
    a832 = next(c for c in data["controls"] if c["id"] == "A.8.32")
    assert a832["status"] == "not_tested"  # one of its policies had nothing to test


def test_missing_source_folder_fails_the_source_and_exits_3(tmp_path: Path) -> None:
    config = write_clean_org(tmp_path)
    shutil.rmtree(tmp_path / "exports" / "servicenow")
    out = tmp_path / "out"
    outcome = invoke("run", "--config", str(config), "--out", str(out))

    assert outcome.exit_code == 3, outcome.output
    data = results(out)
    servicenow = next(s for s in data["sources"] if s["name"] == "servicenow")
    assert servicenow["status"] == "failed"
    assert "servicenow" in servicenow["error"]
    policies = {p["id"]: p for p in data["policies"]}
    assert policies["change-approval"]["status"] == "not_tested"
    assert "servicenow.change_request" in policies["change-approval"]["evidence_gaps"]
    assert policies["privileged-access"]["status"] == "pass"  # Octopus was complete
    statuses = {c["status"] for c in data["controls"] if c["id"] in ("A.8.32", "CC8.1")}
    assert statuses == {"not_tested"}


def test_incomplete_paging_exits_3_even_with_findings(
    sample_config: Path, tmp_path: Path
) -> None:
    page = sorted((tmp_path / "exports" / "octopus" / "events").glob("*.json"))[0]
    body = json.loads(page.read_text("utf-8"))
    body["Items"] = body["Items"][1:]  # one event lost in transit
    page.write_text(json.dumps(body), encoding="utf-8")
    out = tmp_path / "out"
    outcome = invoke("run", "--config", str(sample_config), "--out", str(out))

    assert outcome.exit_code == 3, outcome.output
    data = results(out)
    assert data["evidence_complete"] is False
    assert data["findings"]  # findings from partial evidence are still reported
    inactive = next(p for p in data["policies"] if p["id"] == "inactive-users")
    assert inactive["evidence_gaps"] == ["octopus.events"]
    summary = load_workbook(out / "report.xlsx", read_only=True)["Summary"]
    text = " ".join(str(c) for row in summary.iter_rows(values_only=True) for c in row)
    assert "INCOMPLETE" in text


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"colour": "blue"}, "colour: unknown key"),
        ({"policies": {"inactivity_days": "ninety"}}, "policies.inactivity_days"),
        ({"period": {"start": "2026-03-01"}}, "period.end"),
    ],
)
def test_bad_config_exits_2_naming_the_key(
    tmp_path: Path, change: dict[str, Any], message: str
) -> None:
    config = write_clean_org(tmp_path, **change)
    outcome = invoke("run", "--config", str(config), "--out", str(tmp_path / "o"))
    assert outcome.exit_code == 2
    assert message in outcome.output


def test_verify_finds_a_tampered_snapshot(tmp_path: Path) -> None:
    config = write_clean_org(tmp_path)
    invoke("collect", "--config", str(config))
    invoke("collect", "--config", str(config))
    assert invoke("verify", "--config", str(config)).exit_code == 0

    snapshot = sorted((tmp_path / "store" / "snapshots").iterdir())[0]
    target = snapshot / "evidence" / "octopus" / "users.json"
    os.chmod(target, 0o644)
    target.write_text(target.read_text("utf-8").replace("Ada", "Eve"), "utf-8")
    outcome = invoke("verify", "--config", str(config))

    assert outcome.exit_code == 3
    assert "altered" in outcome.output and "users.json" in outcome.output


def test_evaluate_then_report_reproduces_the_run(
    sample_config: Path, tmp_path: Path
) -> None:
    assert invoke("collect", "--config", str(sample_config)).exit_code == 0
    evaluated = tmp_path / "evaluated"
    config = str(sample_config)
    outcome = invoke("evaluate", "--config", config, "--out", str(evaluated))
    assert outcome.exit_code == 1

    rendered = tmp_path / "rendered"
    again = invoke(
        "report", "--results", str(evaluated / "results.json"), "--out", str(rendered)
    )
    assert again.exit_code == 1
    first, second = results(evaluated), results(rendered)
    assert first["findings"] == second["findings"]
    assert first["snapshot_id"] == second["snapshot_id"]
    assert (rendered / "report.pdf").stat().st_size > 0


def test_controls_lists_coverage() -> None:
    outcome = invoke("controls", "--framework", "soc2-2017", "--json")
    rows = json.loads(outcome.output)
    by_id = {row["id"]: row for row in rows}
    assert "change-approval" in by_id["CC8.1"]["policies"]
    assert by_id["P8.1"]["policies"] == []


def test_impossible_date_and_non_utf8_config_exit_2(tmp_path: Path) -> None:
    config = write_clean_org(tmp_path)
    text = config.read_text("utf-8").replace("'2026-03-31'", "2026-13-01")
    assert "end: 2026-13-01" in text  # unquoted, so PyYAML itself builds the date
    config.write_text(text, "utf-8")
    outcome = invoke("run", "--config", str(config))
    assert outcome.exit_code == 2
    assert "impossible value" in outcome.output

    config.write_bytes(b"organisation: \xff\xfe\n")
    outcome = invoke("run", "--config", str(config))
    assert outcome.exit_code == 2
    assert "not UTF-8" in outcome.output


def test_string_where_a_number_belongs_is_refused(tmp_path: Path) -> None:
    config = write_clean_org(tmp_path, policies={"api_key_max_days": "365"})
    outcome = invoke("run", "--config", str(config))
    assert outcome.exit_code == 2
    assert "policies.api_key_max_days" in outcome.output


def test_evaluate_refuses_an_altered_snapshot(tmp_path: Path) -> None:
    config = write_clean_org(tmp_path)
    assert invoke("collect", "--config", str(config)).exit_code == 0
    snapshot = next((tmp_path / "store" / "snapshots").iterdir())
    target = snapshot / "evidence" / "octopus" / "tasks.json"
    os.chmod(target, 0o644)
    target.write_text(target.read_text("utf-8").replace("Success", "Failed"), "utf-8")

    outcome = invoke("evaluate", "--config", str(config), "--out", str(tmp_path / "o"))
    assert outcome.exit_code == 3
    assert "does not match its manifest" in outcome.output
    assert not (tmp_path / "o" / "results.json").exists()


def test_evaluate_refuses_another_period_and_unknown_snapshots(tmp_path: Path) -> None:
    config = write_clean_org(tmp_path)
    invoke("collect", "--config", str(config))
    other = write_clean_org(
        tmp_path, period={"start": "2026-04-01", "end": "2026-06-30"}
    )
    outcome = invoke("evaluate", "--config", str(other), "--out", str(tmp_path / "o"))
    assert outcome.exit_code == 2
    assert "was collected for 2026-03-01..2026-03-31" in outcome.output

    outcome = invoke("evaluate", "--config", str(config), "--snapshot", "nope")
    assert outcome.exit_code == 2
    assert "no snapshot 'nope'" in outcome.output


def test_sources_report_where_evidence_came_from(tmp_path: Path) -> None:
    config = write_clean_org(tmp_path)
    out = tmp_path / "out"
    invoke("run", "--config", str(config), "--out", str(out))
    locations = {s["name"]: s["location"] for s in results(out)["sources"]}
    assert locations["octopus"] == str(tmp_path / "exports" / "octopus")


def test_an_unexpected_crash_exits_3_not_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = write_clean_org(tmp_path)

    def explode(*args: object, **kwargs: object) -> None:
        raise KeyError("boom")

    monkeypatch.setattr("evidencekit.runner.build_input", explode)
    outcome = invoke("run", "--config", str(config))
    assert outcome.exit_code == 3
    assert "unexpected KeyError" in outcome.output


def test_a_production_environment_that_matches_nothing_exits_2(tmp_path: Path) -> None:
    config = write_clean_org(tmp_path, production_environments=["Prod"])
    outcome = invoke("run", "--config", str(config), "--out", str(tmp_path / "o"))
    assert outcome.exit_code == 2
    assert "Prod match no Octopus environment" in outcome.output
    assert "Production" in outcome.output  # the names that do exist are listed


def test_credentials_in_the_opa_url_are_refused_and_not_echoed(tmp_path: Path) -> None:
    engine = {"type": "opa", "url": "http://svc:Sup3rSecret@127.0.0.1:59999"}
    config = write_clean_org(tmp_path, engine=engine)
    outcome = invoke("run", "--config", str(config))
    assert outcome.exit_code == 2
    assert "must not hold credentials" in outcome.output
    assert "Sup3rSecret" not in outcome.output


def test_usage_errors_exit_2_and_a_closed_pipe_is_not_an_error(tmp_path: Path) -> None:
    config = write_clean_org(tmp_path)
    outcome = invoke("verify", "--config", str(config), "--store", str(tmp_path))
    assert outcome.exit_code == 2
    assert "not both" in outcome.output and "unexpected" not in outcome.output


def test_lint_exits_3_when_another_source_failed(tmp_path: Path) -> None:
    config = write_clean_org(tmp_path)
    shutil.rmtree(tmp_path / "exports" / "servicenow")
    outcome = invoke("lint", "--config", str(config))
    assert outcome.exit_code == 3
    assert "other evidence of this run is incomplete" in outcome.output


def test_evaluate_refuses_a_snapshot_without_a_configured_source(
    tmp_path: Path,
) -> None:
    config = write_clean_org(tmp_path)
    invoke("collect", "--config", str(config))
    extra = {"name": "k8s", "type": "kubernetes", "path": "exports/k8s", "cluster": "c"}
    data = yaml.safe_load(config.read_text("utf-8"))
    data["sources"].append(extra)
    config.write_text(yaml.safe_dump(data), "utf-8")

    outcome = invoke("evaluate", "--config", str(config), "--out", str(tmp_path / "o"))
    assert outcome.exit_code == 2
    assert "but the config names k8s, octopus, servicenow" in outcome.output


def test_a_secret_with_a_line_break_is_refused_without_echoing_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EK_KEY", "API-TOPSECRET123\n")
    source = {
        "name": "octopus",
        "type": "octopus",
        "url": "https://127.0.0.1:9",
        "api_key": {"env": "EK_KEY"},
    }
    config = write_clean_org(tmp_path)
    data = yaml.safe_load(config.read_text("utf-8"))
    data["sources"][0] = source
    config.write_text(yaml.safe_dump(data), "utf-8")
    out = tmp_path / "out"
    outcome = invoke("run", "--config", str(config), "--out", str(out))

    assert outcome.exit_code == 3
    assert "EK_KEY holds spaces, a line break" in outcome.output
    for path in [*out.iterdir(), *(tmp_path / "store").rglob("*")]:
        if path.is_file():
            assert b"TOPSECRET" not in path.read_bytes(), path
    assert "TOPSECRET" not in outcome.output


def test_credentials_in_a_source_url_are_refused(tmp_path: Path) -> None:
    config = write_clean_org(tmp_path)
    data = yaml.safe_load(config.read_text("utf-8"))
    data["sources"][0] = {
        "name": "octopus",
        "type": "octopus",
        "url": "https://svc:Top-Secret-991@127.0.0.1:9",
        "api_key": {"env": "EK_KEY"},
    }
    config.write_text(yaml.safe_dump(data), "utf-8")
    outcome = invoke("run", "--config", str(config))
    assert outcome.exit_code == 2
    assert "must not hold a user name, password or query" in outcome.output
    assert "Top-Secret" not in outcome.output


def test_verbose_errors_do_not_echo_a_password_in_a_url(tmp_path: Path) -> None:
    config = write_clean_org(tmp_path)
    data = yaml.safe_load(config.read_text("utf-8"))
    data["sources"][0] = {
        "name": "octopus",
        "type": "octopus",
        "url": "https://user:Pw-991-secret@127.0.0.1:9",
        "api_key": {"env": "EK_KEY"},
    }
    config.write_text(yaml.safe_dump(data), "utf-8")
    outcome = CliRunner().invoke(main, ["-v", "run", "--config", str(config)])
    assert outcome.exit_code == 2
    assert "Pw-991-secret" not in outcome.output
