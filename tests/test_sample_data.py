"""Check the bundled Harbourline Payments sample: shapes, determinism, expectations."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from evidencekit.collectors.octopus import OctopusExportCollector

SAMPLE = Path(__file__).resolve().parents[1] / "examples" / "harbourline"
OCTOPUS = SAMPLE / "exports" / "octopus"
SERVICENOW = SAMPLE / "exports" / "servicenow"
GENERATED = ("exports", "evidencekit.yaml", "expected-findings.json", "EXPECTED.md")
POLICIES = (
    "change-approval",
    "segregation-of-duties",
    "admin-deployments",
    "privileged-access",
    "api-key-expiry",
    "inactive-users",
    "emergency-change-review",
    "backup-runbooks",
    "octopus-unrotated-accounts",
    "octopus-shared-git-usernames",
    "octopus-insecure-feeds",
    "octopus-insecure-k8s-targets",
    "octopus-insecure-webhooks",
    "octopus-sha1-certificates",
    "octopus-unused-targets",
    "octopus-unhealthy-targets",
    "octopus-empty-projects",
    "octopus-too-many-steps",
)
LINT_RESOURCES = (
    "machines",
    "workers",
    "feeds",
    "accounts",
    "subscriptions",
    "gitcredentials",
    "deploymentprocesses",
    "certificates",
)
# 1 July to 30 September 2026 in Europe/London, as a half-open UTC interval.
PERIOD_START = datetime(2026, 6, 30, 23, tzinfo=UTC)
PERIOD_END = datetime(2026, 9, 30, 23, tzinfo=UTC)
OCTOPUS_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}\+0[01]:00$")
SERVICENOW_TIME = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)?$")


def load(path: Path) -> Any:
    """Read one JSON file."""
    return json.loads(path.read_text(encoding="utf-8"))


def items(path: Path) -> list[dict[str, Any]]:
    """Return the records of an Octopus file: a paged envelope or a plain list."""
    payload = load(path)
    return payload["Items"] if isinstance(payload, dict) else payload


def by_id(name: str) -> dict[str, dict[str, Any]]:
    """Read an Octopus resource (a file or a folder of pages) keyed by Id."""
    folder = OCTOPUS / name
    paths = (
        sorted(folder.glob("*.json")) if folder.is_dir() else [OCTOPUS / f"{name}.json"]
    )
    return {record["Id"]: record for path in paths for record in items(path)}


def octopus_time(text: str) -> datetime:
    """Parse an Octopus timestamp (7 fraction digits and an offset) to UTC."""
    trimmed = re.sub(r"(\.\d{6})\d", r"\1", text)
    return datetime.fromisoformat(trimmed).astimezone(UTC)


def snow_value(field: Any) -> str:
    """Return the stored value of a ServiceNow field in any of its shapes."""
    return field["value"] if isinstance(field, dict) else field


def event_pages() -> list[dict[str, Any]]:
    """Return the events API pages in file order."""
    return [load(path) for path in sorted((OCTOPUS / "events").glob("*.json"))]


def production_in_period() -> list[dict[str, Any]]:
    """Return production deployments whose task started in the period."""
    tasks = by_id("tasks")
    production = {
        env["Id"]
        for env in by_id("environments").values()
        if env["Name"] == "Production"
    }
    return [
        deployment
        for deployment in by_id("deployments").values()
        if deployment["EnvironmentId"] in production
        and started_in_period(tasks[deployment["TaskId"]])
    ]


def started_in_period(task: dict[str, Any]) -> bool:
    """Say whether a task's StartTime lies in the period."""
    start = task["StartTime"]
    return start is not None and PERIOD_START <= octopus_time(start) < PERIOD_END


def expected() -> list[dict[str, str]]:
    """Return the committed expected findings."""
    findings: list[dict[str, str]] = load(SAMPLE / "expected-findings.json")
    return findings


def test_every_export_file_parses() -> None:
    json_files = sorted(SAMPLE.glob("exports/**/*.json"))
    archives = sorted((OCTOPUS / "events").glob("events-*.jsonl"))

    for path in json_files:
        assert load(path), path
    for path in archives:
        lines = path.read_text(encoding="utf-8").splitlines()
        assert lines and all(json.loads(line)["Id"] for line in lines), path
    assert len(json_files) >= 20
    assert len(archives) >= 100


def test_config_names_both_sources_and_the_policy_settings() -> None:
    config = yaml.safe_load((SAMPLE / "evidencekit.yaml").read_text(encoding="utf-8"))

    assert config["period"]["timezone"] == "Europe/London"
    assert [source["path"] for source in config["sources"]] == [
        "exports/octopus",
        "exports/servicenow",
    ]
    for source in config["sources"]:
        assert (SAMPLE / source["path"]).is_dir()
    runbooks = {runbook["Name"] for runbook in by_id("runbooks").values()}
    assert set(config["policies"]["backup_runbooks"]) <= runbooks


def test_generator_is_deterministic(tmp_path: Path) -> None:
    subprocess.run(  # noqa: S603  (our own script, run with the test interpreter)
        [sys.executable, str(SAMPLE / "generate.py"), "--output", str(tmp_path)],
        check=True,
        capture_output=True,
    )

    written = sorted(
        path.relative_to(tmp_path) for path in tmp_path.rglob("*") if path.is_file()
    )
    committed = sorted(
        path.relative_to(SAMPLE)
        for name in GENERATED
        for path in ([SAMPLE / name] if (SAMPLE / name).is_file() else [])
        + sorted((SAMPLE / name).rglob("*"))
        if path.is_file()
    )
    assert written == committed
    for relative in written:
        assert (tmp_path / relative).read_bytes() == (SAMPLE / relative).read_bytes(), (
            relative
        )


def test_event_pages_are_complete_despite_their_quirks() -> None:
    pages = event_pages()
    sent = [event["Id"] for page in pages for event in page["Items"]]
    distinct = set(sent)

    assert {page["TotalResults"] for page in pages} == {len(distinct)}
    assert len(sent) > len(distinct)  # two pages overlap
    assert any(page["ItemsPerPage"] != len(page["Items"]) for page in pages[:-1])
    assert any("Page.Next" not in page["Links"] for page in pages[:-1])
    for page in pages:
        occurred = [octopus_time(event["Occurred"]) for event in page["Items"]]
        assert occurred == sorted(occurred, reverse=True)  # newest first


def test_archives_hold_older_events_and_overlap_the_pages() -> None:
    paged = {event["Id"] for page in event_pages() for event in page["Items"]}
    archived: set[str] = set()
    for path in (OCTOPUS / "events").glob("events-*.jsonl"):
        day = path.stem.removeprefix("events-")
        for line in path.read_text(encoding="utf-8").splitlines():
            event = json.loads(line)
            assert octopus_time(event["Occurred"]).date().isoformat() == day
            archived.add(event["Id"])

    assert archived & paged
    assert len(archived | paged) >= 2000
    assert min(archived) < min(paged)


def test_timestamps_use_the_sources_own_formats() -> None:
    events = [event for page in event_pages() for event in page["Items"]]
    offsets = Counter(event["Occurred"][-6:] for event in events)
    changes = load(SERVICENOW / "change_request.json")["result"]

    assert all(OCTOPUS_TIME.match(event["Occurred"]) for event in events)
    assert offsets["+00:00"] > offsets["+01:00"] > 0
    for change in changes:
        for name in ("start_date", "end_date", "closed_at", "opened_at"):
            value, display = change[name]["value"], change[name]["display_value"]
            assert SERVICENOW_TIME.match(value), (change["number"], name)
            assert display == "" if value == "" else display[2] == "/"  # dd/MM/yyyy


def test_quarter_has_about_200_deployments_and_70_to_production() -> None:
    tasks = by_id("tasks")
    in_period = [
        deployment
        for deployment in by_id("deployments").values()
        if started_in_period(tasks[deployment["TaskId"]])
    ]
    states = Counter(tasks[d["TaskId"]]["State"] for d in by_id("deployments").values())

    assert 180 <= len(in_period) <= 240
    assert 60 <= len(production_in_period()) <= 80
    assert states["Failed"] >= 2
    assert states["Canceled"] == 1
    assert 1 <= states["Queued"] <= 2


def test_every_policy_has_an_expected_finding() -> None:
    findings = expected()
    keys = [(finding["policy"], finding["resource"]) for finding in findings]

    assert {policy for policy, _ in keys} == set(POLICIES)
    assert keys == sorted(keys)
    assert len(keys) == len(set(keys))
    assert all(finding["why"].strip() for finding in findings)


def known_resources() -> dict[str, set[str]]:
    """Return the ids each policy's findings may name, read from the exports."""
    changes = load(SERVICENOW / "change_request.json")["result"]
    months = ("2026-07", "2026-08", "2026-09")
    deployments = set(by_id("deployments"))
    users = set(by_id("users"))
    runbooks = {runbook["Name"] for runbook in by_id("runbooks").values()}
    return {
        "change-approval": deployments,
        "segregation-of-duties": deployments,
        "admin-deployments": deployments,
        "privileged-access": users,
        "api-key-expiry": set(by_id("apikeys")),
        "inactive-users": users,
        "emergency-change-review": {snow_value(c["number"]) for c in changes},
        "backup-runbooks": {f"{name}/{month}" for name in runbooks for month in months},
        "octopus-unrotated-accounts": set(by_id("accounts")),
        "octopus-shared-git-usernames": {
            credential["Details"]["Username"].lower()
            for credential in by_id("gitcredentials").values()
            if credential["Details"].get("Username")
        },
        "octopus-insecure-feeds": set(by_id("feeds")),
        "octopus-insecure-k8s-targets": set(by_id("machines")),
        "octopus-insecure-webhooks": set(by_id("subscriptions")),
        "octopus-sha1-certificates": set(by_id("machines"))
        | set(by_id("workers"))
        | set(by_id("certificates")),
        "octopus-unused-targets": set(by_id("machines")),
        "octopus-unhealthy-targets": set(by_id("machines")),
        "octopus-empty-projects": set(by_id("projects")),
        "octopus-too-many-steps": set(by_id("deploymentprocesses")),
    }


def test_every_expected_resource_exists_in_the_exports() -> None:
    resources = known_resources()

    for finding in expected():
        assert finding["resource"] in resources[finding["policy"]], finding


def test_deployment_findings_are_production_deployments_in_the_period() -> None:
    in_scope = {deployment["Id"] for deployment in production_in_period()}
    per_deployment = {"change-approval", "segregation-of-duties", "admin-deployments"}

    for finding in expected():
        if finding["policy"] in per_deployment:
            assert finding["resource"] in in_scope, finding


def test_api_key_findings_match_the_keys() -> None:
    keys = by_id("apikeys")
    users = by_id("users")
    flagged = {f["resource"] for f in expected() if f["policy"] == "api-key-expiry"}

    for key_id in flagged:
        key = keys[key_id]
        assert users[key["UserId"]]["IsActive"]
        if key["Expires"] is not None:
            lifetime = octopus_time(key["Expires"]) - octopus_time(key["Created"])
            assert lifetime > timedelta(days=365)
    inactive_perpetual = [
        key_id
        for key_id, key in keys.items()
        if key["Expires"] is None and not users[key["UserId"]]["IsActive"]
    ]
    assert inactive_perpetual and not set(inactive_perpetual) & flagged


def test_servicenow_emails_differ_in_case_but_stay_synthetic() -> None:
    snow = {
        user["email"].lower(): user["email"]
        for user in load(SERVICENOW / "sys_user.json")["result"]
    }
    octopus = {
        user["EmailAddress"] for user in by_id("users").values() if user["EmailAddress"]
    }

    shared = octopus & set(snow)
    assert shared
    assert any(snow[address] != address for address in shared)
    assert all(address.endswith("@harbourline.example") for address in snow)


def test_allowlisted_admin_is_an_admin_without_a_finding() -> None:
    config = yaml.safe_load((SAMPLE / "evidencekit.yaml").read_text(encoding="utf-8"))
    allowed = config["policies"]["privileged_allowlist"]
    users = {user["EmailAddress"]: user for user in by_id("users").values()}
    admins = next(
        team
        for team in by_id("teams").values()
        if team["Name"] == "Octopus Administrators"
    )
    flagged = {f["resource"] for f in expected() if f["policy"] == "privileged-access"}

    assert len(allowed) == 1
    assert users[allowed[0]]["Id"] in admins["MemberUserIds"]
    assert users[allowed[0]]["Id"] not in flagged


def test_the_optional_lint_resources_are_present_so_the_sample_is_complete() -> None:
    data = OctopusExportCollector().read(OCTOPUS, "octopus")

    assert {name: data.resources[name].status.value for name in LINT_RESOURCES} == (
        dict.fromkeys(LINT_RESOURCES, "complete")
    )
    assert data.overall_status().value == "complete"
    assert all(data.resources[name].records for name in LINT_RESOURCES)


def test_sensitive_values_are_only_ever_has_value_shapes() -> None:
    secret_names = {"Password", "SecretKey", "Token", "PrivateKeyFile"}
    for name in LINT_RESOURCES:
        for record in by_id(name).values():
            for holder in (record, record.get("Details") or {}):
                for field in secret_names & set(holder):
                    assert holder[field] == {"HasValue": True, "NewValue": None}, (
                        name,
                        record["Id"],
                        field,
                    )


def test_deployments_name_the_targets_they_reached() -> None:
    machines = by_id("machines")
    tasks = by_id("tasks")
    for deployment in by_id("deployments").values():
        targets = deployment["DeployedToMachineIds"]
        assert set(targets) <= set(machines), deployment["Id"]
        environments = {machines[m]["EnvironmentIds"][0] for m in targets}
        assert environments <= {deployment["EnvironmentId"]}, deployment["Id"]
        if tasks[deployment["TaskId"]]["StartTime"] is None:
            assert targets == [], deployment["Id"]
    reached = {
        m for d in by_id("deployments").values() for m in d["DeployedToMachineIds"]
    }
    assert "Machines-5" not in reached  # the planted unused target
    assert "Machines-9" not in reached  # disabled


def test_health_check_events_name_the_exported_targets() -> None:
    machines = by_id("machines")
    for page in event_pages():
        for event in page["Items"]:
            if event["Category"] == "MachineHealthy":
                machine, environment = event["RelatedDocumentIds"]
                assert machines[machine]["EnvironmentIds"] == [environment]
