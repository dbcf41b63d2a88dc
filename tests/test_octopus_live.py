"""Tests for the live Octopus fetcher against a server replaying recorded pages."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import ValidationError
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from evidencekit.collectors.http import HttpClient
from evidencekit.collectors.octopus_live import (
    SPACE_RESOURCES,
    OctopusApiSource,
    fetch_octopus,
    octopus_client,
)
from evidencekit.errors import CollectionError, ConfigError
from evidencekit.results import SourceStatus

DATA = Path(__file__).parent / "data" / "live" / "octopus"
WINDOW = (datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC))
API_KEY = "API-LIVEFETCHKEY00000001"

Route = dict[tuple[str, str], str]  # (path, skip) -> recorded file
EVENT_PAGES: Route = {
    ("/api/events", "0"): "events-skip-0.json",
    ("/api/events", "3"): "events-skip-3.json",
    ("/api/events", "7"): "events-skip-7.json",
}
BASE_ROUTES: Route = {
    **EVENT_PAGES,
    ("/api/users", "0"): "users.json",
    ("/api/users/Users-1/apikeys", "0"): "apikeys-Users-1.json",
    ("/api/users/Users-2/apikeys", "0"): "apikeys-Users-2.json",
    ("/api/teams", "0"): "teams.json",
    ("/api/Spaces-1/deployments", "0"): "deployments-skip-0.json",
    ("/api/Spaces-1/deployments", "2"): "deployments-skip-2.json",
    ("/api/Spaces-1/environments", "0"): "environments.json",
    ("/api/events/archives", "0"): "archives.json",
}
RAW_FILES = {
    "/api/events/archives/events-2026-10-31.jsonl": "events-2026-10-31.jsonl",
    "/api/events/archives/events-2026-11-01.jsonl": "events-2026-11-01.jsonl",
}
EMPTY_PATHS = {
    "/api/userroles",
    "/api/scopeduserroles",
    *(f"/api/Spaces-1/{segment}" for segment in SPACE_RESOURCES.values()),
}


def recorded(name: str) -> bytes:
    return (DATA / name).read_bytes()


class FakeOctopus:
    """Serve recorded pages by path and ``skip``; record every request."""

    def __init__(self, routes: Route, failures: dict[str, Callable[[], Response]]):
        self.routes = routes
        self.failures = failures
        self.requests: list[Request] = []

    def __call__(self, request: Request) -> Response:
        self.requests.append(request)
        if request.headers.get("X-Octopus-ApiKey") != API_KEY:
            return Response("", 401)
        skip = request.args.get("skip", "0")
        for key in (f"{request.path}?skip={skip}", request.path):
            if key in self.failures:
                return self.failures[key]()
        name = self.routes.get((request.path, skip)) or RAW_FILES.get(request.path)
        if name is None and request.path in EMPTY_PATHS and skip == "0":
            name = "empty-page.json"
        if name is None:
            return Response('{"ErrorMessage": "not found"}', 404)
        return Response(recorded(name), 200, content_type="application/json")

    def skips(self, path: str) -> list[str]:
        return [r.args["skip"] for r in self.requests if r.path == path]


def serve(
    server: HTTPServer,
    routes: Route | None = None,
    failures: dict[str, Callable[[], Response]] | None = None,
) -> FakeOctopus:
    fake = FakeOctopus(routes or BASE_ROUTES, failures or {})
    server.expect_request(re.compile("^/api/")).respond_with_handler(fake)
    return fake


def client_for(server: HTTPServer, **settings: object) -> HttpClient:
    options: dict[str, object] = {
        "source": "octopus-prod",
        "headers": {"X-Octopus-ApiKey": API_KEY},
        "backoff": 0,
        "retries": 1,
        "sleep": lambda seconds: None,
    }
    options.update(settings)
    return HttpClient(server.url_for("/"), **options)


def fetch(server: HTTPServer, dest: Path, page_size: int = 3, **settings: object):
    with client_for(server, **settings) as client:
        return fetch_octopus(
            client, dest, spaces=["Spaces-1"], window=WINDOW, page_size=page_size
        )


def test_fetch_writes_every_page_as_received(httpserver: HTTPServer, tmp_path: Path):
    fake = serve(httpserver)
    report = fetch(httpserver, tmp_path / "octopus")

    dest = tmp_path / "octopus"
    assert report.status is SourceStatus.COMPLETE, report.problems()
    assert (dest / "events/system.page-0002.json").read_bytes() == recorded(
        "events-skip-3.json"
    )
    assert (dest / "deployments/Spaces-1.page-0002.json").read_bytes() == recorded(
        "deployments-skip-2.json"
    )
    assert (dest / "apikeys/Users-2.page-0001.json").read_bytes() == recorded(
        "apikeys-Users-2.json"
    )
    assert (dest / "users/system.page-0001.json").exists()
    assert (dest / "environments/Spaces-1.page-0001.json").exists()
    assert fake.skips("/api/Spaces-1/deployments") == ["0", "2"]
    assert report.resources["deployments"].unique == 3
    assert report.resources["apikeys"].records == 2
    assert not list(dest.rglob("*.part"))


def test_events_are_pinned_to_the_window(httpserver: HTTPServer, tmp_path: Path):
    fake = serve(httpserver)
    fetch(httpserver, tmp_path / "octopus")

    first = next(r for r in fake.requests if r.path == "/api/events")
    assert first.args["from"] == "2026-11-01T00:00:00+00:00"
    assert first.args["to"] == "2026-12-01T00:00:00+00:00"
    assert first.args["spaces"] == "Spaces-1"
    assert first.args["includeSystem"] == "true"
    assert first.args["take"] == "3"


def test_events_stop_at_the_collection_start(httpserver: HTTPServer, tmp_path: Path):
    fake = serve(httpserver)
    running = (WINDOW[0], datetime(2027, 1, 1, tzinfo=UTC))
    with client_for(httpserver) as client:
        fetch_octopus(
            client,
            tmp_path / "o",
            spaces=["Spaces-1"],
            window=running,
            page_size=3,
            now=datetime(2026, 12, 3, 9, 30, tzinfo=UTC),
        )

    first = next(r for r in fake.requests if r.path == "/api/events")
    assert first.args["to"] == "2026-12-03T09:30:00+00:00"


def test_events_page_by_items_returned(httpserver: HTTPServer, tmp_path: Path):
    # Page 2 is overlong (4 items, ItemsPerPage 3) and has no Page.Next link,
    # yet TotalResults says one more event exists.
    fake = serve(httpserver)
    report = fetch(httpserver, tmp_path / "octopus")

    assert fake.skips("/api/events") == ["0", "3", "7"]
    events = report.resources["events"]
    assert events.pages == 3
    assert events.unique == 8
    assert events.expected == 8
    assert events.status is SourceStatus.COMPLETE


def test_event_count_disagreement_marks_incomplete(
    httpserver: HTTPServer, tmp_path: Path
):
    routes = {
        **{k: v for k, v in BASE_ROUTES.items() if k not in EVENT_PAGES},
        ("/api/events", "0"): "events-dup-skip-0.json",
        ("/api/events", "3"): "events-dup-skip-3.json",
    }
    serve(httpserver, routes)
    report = fetch(httpserver, tmp_path / "octopus")

    events = report.resources["events"]
    assert events.status is SourceStatus.INCOMPLETE
    assert events.records == 6 + 3  # two pages of three, three archived lines
    assert events.unique == 5
    assert any("TotalResults is 6 but 5 distinct" in p for p in events.problems)
    assert any("1 duplicate" in note for note in events.notes)
    assert report.status is SourceStatus.INCOMPLETE
    assert report.resources["deployments"].status is SourceStatus.COMPLETE


def test_short_page_before_total_keeps_paging(httpserver: HTTPServer, tmp_path: Path):
    # take=4 but the first page holds 3 (a cap we did not ask for); TotalResults 8.
    fake = serve(httpserver)
    report = fetch(httpserver, tmp_path / "octopus", page_size=4)

    assert fake.skips("/api/events") == ["0", "3", "7"]
    assert report.resources["events"].unique == 8


def test_empty_page_stops_and_reports_the_gap(httpserver: HTTPServer, tmp_path: Path):
    routes = {
        **{k: v for k, v in BASE_ROUTES.items() if k not in EVENT_PAGES},
        ("/api/events", "0"): "events-skip-0.json",
        ("/api/events", "3"): "empty-page.json",
    }
    serve(httpserver, routes)
    report = fetch(httpserver, tmp_path / "octopus")

    events = report.resources["events"]
    assert events.pages == 2
    assert events.status is SourceStatus.INCOMPLETE
    assert any("TotalResults is 0 but 3 distinct" in p for p in events.problems)


def test_failure_part_way_keeps_pages(httpserver: HTTPServer, tmp_path: Path):
    unavailable = {
        "/api/Spaces-1/deployments?skip=2": lambda: Response("Unavailable", 503)
    }
    fake = serve(httpserver, failures=unavailable)
    report = fetch(httpserver, tmp_path / "octopus")

    dest = tmp_path / "octopus"
    deployments = report.resources["deployments"]
    assert deployments.status is SourceStatus.INCOMPLETE
    assert deployments.pages == 1
    assert (dest / "deployments/Spaces-1.page-0001.json").read_bytes() == recorded(
        "deployments-skip-0.json"
    )
    assert any("HTTP 503" in p and "offset 2" in p for p in deployments.problems)
    assert fake.skips("/api/Spaces-1/deployments") == ["0", "2", "2"]  # one retry
    assert report.resources["events"].status is SourceStatus.COMPLETE
    assert report.resources["environments"].status is SourceStatus.COMPLETE


def test_optional_server_task_approvals_may_be_absent(
    httpserver: HTTPServer, tmp_path: Path
):
    serve(
        httpserver,
        failures={"/api/Spaces-1/servertaskapprovals": lambda: Response("", 404)},
    )
    report = fetch(httpserver, tmp_path / "octopus")

    approvals = report.resources["servertaskapprovals"]
    assert approvals.status is SourceStatus.COMPLETE
    assert approvals.pages == 0
    assert any("404" in note for note in approvals.notes)


def test_required_resource_404_is_a_gap(httpserver: HTTPServer, tmp_path: Path):
    serve(httpserver, failures={"/api/Spaces-1/runbookRuns": lambda: Response("", 404)})
    report = fetch(httpserver, tmp_path / "octopus")

    assert report.resources["runbookruns"].status is SourceStatus.INCOMPLETE
    assert report.status is SourceStatus.INCOMPLETE


def test_archives_needed_by_the_window_are_downloaded(
    httpserver: HTTPServer, tmp_path: Path
):
    fake = serve(httpserver)
    report = fetch(httpserver, tmp_path / "octopus")

    dest = tmp_path / "octopus"
    assert sorted(p.name for p in (dest / "events").glob("*.jsonl")) == [
        "events-2026-10-31.jsonl",
        "events-2026-11-01.jsonl",
    ]
    assert (dest / "events/events-2026-11-01.jsonl").read_bytes() == recorded(
        "events-2026-11-01.jsonl"
    )
    downloaded = [r.path for r in fake.requests if r.path.endswith(".jsonl")]
    assert "/api/events/archives/events-2026-06-03.jsonl" not in downloaded
    assert report.resources["events"].records == 8 + 3  # pages + archive lines
    assert (dest / "eventarchives/system.page-0001.json").exists()


def test_unreadable_archive_list_marks_events_incomplete(
    httpserver: HTTPServer, tmp_path: Path
):
    serve(httpserver, failures={"/api/events/archives": lambda: Response("", 403)})
    report = fetch(httpserver, tmp_path / "octopus")

    events = report.resources["events"]
    assert events.status is SourceStatus.INCOMPLETE
    assert any("archive list" in p for p in events.problems)


def test_incomplete_user_list_marks_api_keys_incomplete(
    httpserver: HTTPServer, tmp_path: Path
):
    page = json.loads(recorded("users.json"))
    page["TotalResults"] = 3  # the server claims a user we never see
    body = json.dumps(page).encode()
    serve(
        httpserver,
        failures={
            "/api/users": lambda: Response(body, 200, mimetype="application/json")
        },
    )
    report = fetch(httpserver, tmp_path / "octopus")

    assert report.resources["users"].status is SourceStatus.INCOMPLETE
    assert report.resources["apikeys"].status is SourceStatus.INCOMPLETE
    assert report.resources["apikeys"].pages == 2


def test_nothing_fetched_raises(tmp_path: Path):
    client = HttpClient(
        "http://127.0.0.1:9", source="octopus-prod", retries=0, timeout=(1, 1)
    )
    with client, pytest.raises(CollectionError, match="nothing could be fetched"):
        fetch_octopus(client, tmp_path / "o", spaces=["Spaces-1"], window=WINDOW)


def test_every_call_refused_raises(httpserver: HTTPServer, tmp_path: Path):
    serve(httpserver)
    with (
        client_for(httpserver, headers={"X-Octopus-ApiKey": "API-WRONG"}) as client,
        pytest.raises(CollectionError, match="HTTP 401"),
    ):
        fetch_octopus(client, tmp_path / "o", spaces=["Spaces-1"], window=WINDOW)


def test_refuses_a_destination_with_files(httpserver: HTTPServer, tmp_path: Path):
    (tmp_path / "events").mkdir()
    (tmp_path / "events" / "system.page-0009.json").write_text("{}")
    with (
        client_for(httpserver) as client,
        pytest.raises(CollectionError, match="not empty"),
    ):
        fetch_octopus(client, tmp_path, spaces=["Spaces-1"], window=WINDOW)

    assert httpserver.log == []


def test_naive_window_is_rejected(httpserver: HTTPServer, tmp_path: Path):
    naive = (datetime(2026, 11, 1), datetime(2026, 12, 1))
    with client_for(httpserver) as client, pytest.raises(ConfigError, match="aware"):
        fetch_octopus(client, tmp_path, spaces=["Spaces-1"], window=naive)


def test_config_builds_a_client_with_the_api_key_header(
    httpserver: HTTPServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("OCTOPUS_API_KEY", API_KEY)
    source = OctopusApiSource.model_validate(
        {
            "name": "octopus-prod",
            "type": "octopus",
            "url": httpserver.url_for("/"),
            "api_key": {"env": "OCTOPUS_API_KEY"},
            "retries": 0,
        }
    )
    fake = serve(httpserver)
    with octopus_client(source) as client:
        report = fetch_octopus(
            client, tmp_path / "o", spaces=source.spaces, window=WINDOW
        )

    assert source.spaces == ["Spaces-1"]
    assert report.status is SourceStatus.COMPLETE, report.problems()
    assert all(r.headers["X-Octopus-ApiKey"] == API_KEY for r in fake.requests)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("url", "http://octopus.example.invalid", "https"),
        ("spaces", ["Default"], "Spaces-1"),
        ("max_workers", 0, "greater than or equal to 1"),
        ("apikey", "API-X", "Extra inputs"),
    ],
)
def test_config_rejects_bad_settings(field: str, value: object, message: str):
    raw: dict[str, object] = {
        "name": "octopus-prod",
        "type": "octopus",
        "url": "https://octopus.example.invalid",
        "api_key": {"env": "OCTOPUS_API_KEY"},
        field: value,
    }
    with pytest.raises(ValidationError, match=message):
        OctopusApiSource.model_validate(raw)
