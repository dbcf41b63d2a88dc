"""The optional Octopus configuration resources: projection, secrets and fetching."""

from __future__ import annotations

import json
import re
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from evidencekit.collectors.base import SourceData
from evidencekit.collectors.http import HttpClient
from evidencekit.collectors.octopus import OctopusExportCollector, without_credentials
from evidencekit.collectors.octopus_live import (
    OPTIONAL_RESOURCES,
    SPACE_RESOURCES,
    fetch_octopus,
)
from evidencekit.results import SourceStatus

DATA = Path(__file__).parent / "data"
BASE = DATA / "octopus" / "export"
CONFIG = DATA / "octopus_lint" / "config"
CONFIG_RESOURCES = (
    "machines",
    "workers",
    "feeds",
    "accounts",
    "subscriptions",
    "gitcredentials",
    "deploymentprocesses",
    "certificates",
)
# Values planted in the fixture that must never reach a normalised record.
SECRETS = (
    "hunter2-not-a-real-secret",
    "token=abc123",
    "plain-text-secret-from-a-careless-export",
    "hook-token-should-not-be-kept",
    "s3cr3t-code",
    "wJal",
    "AKIAEXAMPLE",
)


@pytest.fixture
def export(tmp_path: Path) -> Path:
    """The recorded base export plus the configuration resources, in a private copy."""
    folder = tmp_path / "octopus"
    shutil.copytree(BASE, folder)
    for path in CONFIG.glob("*.json"):
        shutil.copy(path, folder / path.name)
    return folder


def read(folder: Path) -> SourceData:
    return OctopusExportCollector().read(folder, "octo")


def records(data: SourceData, resource: str) -> dict[str, dict[str, Any]]:
    return data.resources[resource].records


def edit_item(path: Path, index: int, **fields: Any) -> None:
    document = json.loads(path.read_text(encoding="utf-8"))
    document["Items"][index].update(fields)
    path.write_text(json.dumps(document), encoding="utf-8")


def test_configuration_resources_are_read_completely(export: Path) -> None:
    data = read(export)

    counts = {name: len(records(data, name)) for name in CONFIG_RESOURCES}
    assert counts == {
        "machines": 3,
        "workers": 1,
        "feeds": 3,
        "accounts": 4,
        "subscriptions": 3,
        "gitcredentials": 4,
        "deploymentprocesses": 2,
        "certificates": 2,
    }
    assert all(r.status is SourceStatus.COMPLETE for r in data.resources.values())
    assert data.overall_status() is SourceStatus.COMPLETE
    assert records(data, "feeds")["Feeds-1002"]["_ref"] == "octo/feeds/Feeds-1002"


def test_export_without_them_stays_complete_and_names_what_is_absent() -> None:
    data = read(BASE)

    for name in CONFIG_RESOURCES:
        resource = data.resources[name]
        assert resource.status is SourceStatus.MISSING
        assert not resource.required
        assert resource.warnings == [
            f"{name}: optional file {name}.json (or folder {name}/) is not in the "
            "export"
        ]
    assert data.overall_status() is SourceStatus.COMPLETE


def test_no_secret_reaches_a_normalised_record(export: Path) -> None:
    data = read(export)
    kept = json.dumps([records(data, name) for name in CONFIG_RESOURCES])

    for secret in SECRETS:
        assert secret not in kept, secret
    for field in ("WebhookHeaderValue", "AccessKey", "CertificateData", "NewValue"):
        assert f'"{field}"' not in kept, field
    assert "Hint" not in kept


def test_sensitive_values_keep_only_whether_they_are_set(export: Path) -> None:
    data = read(export)
    aws = records(data, "accounts")["Accounts-1"]
    ghcr = records(data, "feeds")["Feeds-1003"]

    assert aws["SecretKey"] == {"HasValue": True}
    assert aws["Password"] == {"HasValue": False}  # not a field of this type
    assert ghcr["SecretKey"] == {"HasValue": True}  # a plain value, dropped
    assert ghcr["Password"] == {"HasValue": False}
    assert ghcr["HasUsername"] is False
    assert records(data, "feeds")["Feeds-1002"]["HasUsername"] is True
    ssh = records(data, "accounts")["Accounts-4"]
    assert ssh["PrivateKeyFile"] == {"HasValue": True}
    assert ssh["Username"] == "deploy"


def test_targets_keep_endpoint_fields_with_urls_stripped_of_credentials(
    export: Path,
) -> None:
    machines = records(read(export), "machines")
    aks = machines["Machines-6"]

    assert aks["Endpoint"] == {
        "CommunicationStyle": "Kubernetes",
        "ClusterUrl": "https://REDACTED@aks-payments.example.invalid:443/?REDACTED",
        "SkipTlsVerification": True,  # sent as the text "True"
        "Uri": None,
        "Thumbprint": None,
        "CertificateSignatureAlgorithm": None,
    }
    assert aks["Roles"] == ["payments-k8s"]
    legacy = machines["Machines-5"]
    assert legacy["Endpoint"]["CertificateSignatureAlgorithm"] == "sha1RSA"
    assert legacy["HealthStatus"] == "Unavailable"
    assert legacy["IsDisabled"] is False
    assert "Authentication" not in aks["Endpoint"]


def test_workers_have_pools_instead_of_environments(export: Path) -> None:
    worker = records(read(export), "workers")["Workers-1"]

    assert worker["WorkerPoolIds"] == ["WorkerPools-1"]
    assert "EnvironmentIds" not in worker
    assert worker["Endpoint"]["CommunicationStyle"] == "TentaclePassive"


def test_other_resources_keep_their_listed_fields(export: Path) -> None:
    data = read(export)

    token = records(data, "accounts")["Accounts-2"]
    assert token["LastModifiedOn"] == "2026-11-02T15:45:10.123456Z"  # from +01:00
    hook = records(data, "subscriptions")["Subscriptions-1"]
    assert hook["EventNotificationSubscription"] == {
        "WebhookURI": "https://chat.example.invalid/hooks/deploys?REDACTED"
    }
    assert records(data, "subscriptions")["Subscriptions-3"]["IsDisabled"] is True
    credential = records(data, "gitcredentials")["GitCredentials-2"]
    assert credential["Details"] == {
        "Type": "UsernamePassword",
        "Username": "Octo-Bot",
        "Password": {"HasValue": True},
    }
    anonymous = records(data, "gitcredentials")["GitCredentials-4"]
    assert anonymous["Details"]["Username"] is None
    process = records(data, "deploymentprocesses")["deploymentprocess-Projects-41"]
    assert process["StepCount"] == 3
    assert process["StepNames"] == ["Step 1", "Step 2", "Step 3"]
    assert "Steps" not in process
    legacy = records(data, "certificates")["Certificates-2"]
    assert legacy["NotAfter"] == "2028-01-01T05:00:00.000000Z"
    assert legacy["SignatureAlgorithmName"] == "sha1RSA"
    assert legacy["Archived"] is None


def test_deployments_keep_the_targets_they_ran_on(export: Path) -> None:
    deployment = records(read(export), "deployments")["Deployments-7781"]

    assert deployment["DeployedToMachineIds"] == ["Machines-4"]


def test_a_bad_field_skips_only_that_record_and_names_it(export: Path) -> None:
    edit_item(export / "machines.json", 1, IsDisabled="yes")

    machines = read(export).resources["machines"]

    assert machines.status is SourceStatus.INCOMPLETE
    assert set(machines.records) == {"Machines-4", "Machines-6"}
    assert machines.warnings[0] == (
        "machines: source 'octo', file machines.json, record Machines-5, field "
        "'IsDisabled': expected true or false, got str 'yes'"
    )


def test_an_unreadable_switch_is_refused(export: Path) -> None:
    endpoint = {"CommunicationStyle": "Kubernetes", "SkipTlsVerification": "maybe"}
    edit_item(export / "machines.json", 2, Endpoint=endpoint)

    machines = read(export).resources["machines"]

    assert machines.status is SourceStatus.INCOMPLETE
    assert "Endpoint.SkipTlsVerification" in machines.warnings[0]


def test_a_nested_field_of_the_wrong_type_is_named_without_its_value(
    export: Path,
) -> None:
    edit_item(export / "gitcredentials.json", 0, Details="octo-bot:hunter2-in-text")

    credentials = read(export).resources["gitcredentials"]

    assert credentials.status is SourceStatus.INCOMPLETE
    assert "GitCredentials-1" not in credentials.records
    assert "Details" in credentials.warnings[0]
    assert "hunter2" not in credentials.warnings[0]


def test_steps_that_are_not_a_list_are_refused(export: Path) -> None:
    edit_item(export / "deploymentprocesses.json", 0, Steps={"Name": "one"})

    processes = read(export).resources["deploymentprocesses"]

    assert processes.status is SourceStatus.INCOMPLETE
    assert set(processes.records) == {"deploymentprocess-Projects-42"}


@pytest.mark.parametrize(
    ("url", "kept"),
    [
        ("https://feed.example.invalid/v3", "https://feed.example.invalid/v3"),
        ("http://u:p@h.example.invalid/x", "http://REDACTED@h.example.invalid/x"),
        (
            "https://h.example.invalid/x?apikey=1#frag",
            "https://h.example.invalid/x?REDACTED",
        ),
        (" HTTP://h.example.invalid ", "http://h.example.invalid"),
    ],
)
def test_urls_lose_user_info_and_query(url: str, kept: str) -> None:
    assert without_credentials("FeedUri", url) == kept


def test_evidence_files_include_the_configuration_files(export: Path) -> None:
    names = {path.name for path in OctopusExportCollector().evidence_files(export)}

    assert {f"{name}.json" for name in CONFIG_RESOURCES} <= names


# --- live fetch --------------------------------------------------------------------

API_KEY = "API-CONFIGFETCHKEY000001"
EMPTY = json.dumps({"ItemType": "Any", "TotalResults": 0, "Items": [], "Links": {}})


def fake_octopus(missing: set[str]) -> Any:
    """Answer every collection from the recorded files; 404 for ``missing`` paths."""
    pages = {
        f"/api/Spaces-1/{segment}": CONFIG / f"{name}.json"
        for name, segment in SPACE_RESOURCES.items()
        if (CONFIG / f"{name}.json").exists()
    }

    def handle(request: Request) -> Response:
        if request.headers.get("X-Octopus-ApiKey") != API_KEY:
            return Response("", 401)
        if request.path in missing:
            return Response('{"ErrorMessage": "not found"}', 404)
        path = pages.get(request.path)
        body = path.read_bytes() if path and request.args.get("skip") == "0" else EMPTY
        return Response(body, 200, content_type="application/json")

    return handle


def fetch(server: HTTPServer, dest: Path) -> Any:
    client = HttpClient(
        server.url_for("/"),
        source="octopus",
        headers={"X-Octopus-ApiKey": API_KEY},
        retries=0,
        sleep=lambda seconds: None,
    )
    window = (datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC))
    with client:
        return fetch_octopus(client, dest, spaces=["Spaces-1"], window=window)


def test_live_fetch_writes_the_configuration_pages_the_reader_reads(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    httpserver.expect_request(re.compile("^/api/")).respond_with_handler(
        fake_octopus(set())
    )
    dest = tmp_path / "octopus"
    report = fetch(httpserver, dest)

    assert report.status is SourceStatus.COMPLETE, report.problems()
    assert (dest / "gitcredentials/Spaces-1.page-0001.json").read_bytes() == (
        CONFIG / "gitcredentials.json"
    ).read_bytes()
    data = read(dest)
    for name in CONFIG_RESOURCES:
        assert data.resources[name].status is SourceStatus.COMPLETE, name
    assert len(records(data, "machines")) == 3


def test_a_server_without_git_credentials_is_a_note_not_a_gap(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    missing = {"/api/Spaces-1/git-credentials", "/api/Spaces-1/deploymentprocesses"}
    httpserver.expect_request(re.compile("^/api/")).respond_with_handler(
        fake_octopus(missing)
    )
    dest = tmp_path / "octopus"
    report = fetch(httpserver, dest)

    credentials = report.resources["gitcredentials"]
    assert credentials.status is SourceStatus.COMPLETE
    assert any("HTTP 404" in note for note in credentials.notes)
    assert {"gitcredentials", "deploymentprocesses"} <= OPTIONAL_RESOURCES
    # The reader then reports the resource missing, so its policies are not tested.
    data = read(dest)
    assert data.resources["gitcredentials"].status is SourceStatus.MISSING
    assert data.resources["machines"].status is SourceStatus.COMPLETE
