"""The live JSM fetcher against a local server replaying recorded API pages."""

from __future__ import annotations

import base64
import json
import re
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from evidencekit.collectors.http import FetchReport, HttpClient, apply_fetch_report
from evidencekit.collectors.jsm import JsmCollector, JsmSource
from evidencekit.collectors.jsm_live import fetch_jsm, jsm_client
from evidencekit.errors import CollectionError
from evidencekit.results import SourceStatus

DATA = Path(__file__).parent / "data" / "jsm" / "export"
WINDOW = (datetime(2026, 7, 1, tzinfo=UTC), datetime(2026, 10, 1, tzinfo=UTC))
DESK = "/rest/servicedeskapi/request"

# (path, offset) -> recorded page; the server ignores the limit asked for and
# sends its own page sizes, as Jira does when it caps limit or maxResults.
PAGES: dict[tuple[str, str], str] = {
    (DESK, "0"): "requests/10-27.page-0001.json",
    (DESK, "2"): "requests/10-27.page-0002.json",
    (f"{DESK}/OPS-812/approval", "0"): "approvals/OPS-812.page-0001.json",
    (f"{DESK}/OPS-812/approval", "1"): "approvals/OPS-812.page-0002.json",
    (f"{DESK}/OPS-815/approval", "0"): "approvals/OPS-815.page-0001.json",
    (f"{DESK}/OPS-820/approval", "0"): "approvals/OPS-820.page-0001.json",
    ("/rest/api/3/issue/OPS-812/changelog", "0"): "changelog/OPS-812.page-0001.json",
    ("/rest/api/3/issue/OPS-812/changelog", "2"): "changelog/OPS-812.page-0002.json",
    ("/rest/api/3/issue/OPS-815/changelog", "0"): "changelog/OPS-815.page-0001.json",
    ("/rest/api/3/issue/OPS-820/changelog", "0"): "changelog/OPS-820.page-0001.json",
}
EMAIL = "evidence-bot@harbourline.example"
API_TOKEN = "ATATT3xFfGF0-jsm-test-token"


def recorded(name: str) -> bytes:
    return (DATA / name).read_bytes()


class FakeSite:
    """Serve recorded pages by path and offset; a hook may answer first."""

    def __init__(self, hook: Callable[[Request], Response | None] | None = None):
        self.hook = hook
        self.requests: list[Request] = []
        self.lock = threading.Lock()

    def __call__(self, request: Request) -> Response:
        with self.lock:
            self.requests.append(request)
        if self.hook is not None:
            answer = self.hook(request)
            if answer is not None:
                return answer
        offset = request.args.get("start", request.args.get("startAt", "0"))
        name = PAGES.get((request.path, offset))
        if name is None:
            return Response('{"errorMessages": ["not found"]}', 404)
        return Response(recorded(name), 200, content_type="application/json")

    def calls(self, path: str, param: str) -> list[str]:
        return [r.args.get(param, "") for r in self.requests if r.path == path]


def serve(server: HTTPServer, hook: Callable[[Request], Response | None] | None = None):
    site = FakeSite(hook)
    server.expect_request(re.compile("^/rest/")).respond_with_handler(site)
    return site


def source_for(server: HTTPServer, **fields: Any) -> JsmSource:
    settings: dict[str, Any] = {
        "name": "jsm",
        "type": "jsm",
        "url": server.url_for("/").rstrip("/"),
        "email": EMAIL,
        "api_token": {"env": "JSM_API_TOKEN"},
        "service_desks": ["10"],
        "request_types": ["27"],
        "planned_start_field": "customfield_10040",
        "planned_end_field": "customfield_10041",
        "retries": 2,
        "backoff": 0,
        "max_workers": 1,
    }
    settings.update(fields)
    return JsmSource.model_validate(settings)


def fetch(
    server: HTTPServer,
    dest: Path,
    monkeypatch: pytest.MonkeyPatch,
    sleep: Callable[[float], None] = lambda seconds: None,
    **fields: Any,
) -> FetchReport:
    monkeypatch.setenv("JSM_API_TOKEN", API_TOKEN)
    source = source_for(server, **fields)
    with jsm_client(source, sleep=sleep) as client:
        return fetch_jsm(client, dest, source=source, window=WINDOW)


def test_pages_are_written_as_received_and_read_back(
    httpserver: HTTPServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    serve(httpserver)
    dest = tmp_path / "jsm"

    report = fetch(httpserver, dest, monkeypatch)

    assert report.status is SourceStatus.COMPLETE, report.problems()
    for name in set(PAGES.values()):
        assert (dest / name).read_bytes() == recorded(name), name
    assert json.loads((dest / "fields.json").read_text()) == load(DATA / "fields.json")
    data = JsmCollector().read(dest, "jsm")
    apply_fetch_report(report, data)
    assert data.overall_status() is SourceStatus.COMPLETE
    assert len(data.resources["requests"].records) == 3
    assert report.resources["requests"].unique == 3
    assert report.resources["approvals"].records == 5


def test_paging_advances_by_the_values_actually_returned(
    httpserver: HTTPServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = serve(httpserver)

    fetch(httpserver, tmp_path / "jsm", monkeypatch)

    assert site.calls(DESK, "start") == ["0", "2"]  # asked for 50, got 2
    assert site.calls(DESK, "limit") == ["50", "50"]
    assert site.calls(f"{DESK}/OPS-812/approval", "start") == ["0", "1"]


def test_truncated_changelog_is_walked_to_its_end(
    httpserver: HTTPServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = serve(httpserver)

    report = fetch(httpserver, tmp_path / "jsm", monkeypatch)

    path = "/rest/api/3/issue/OPS-812/changelog"
    assert site.calls(path, "startAt") == ["0", "2"]  # maxResults capped to 2
    assert site.calls(path, "maxResults") == ["100", "100"]
    assert report.resources["status_changes"].expected == 7  # 4 + 1 + 2 histories
    data = JsmCollector().read(tmp_path / "jsm", "jsm")
    request = data.resources["requests"].records["OPS-812"]
    assert len(request["status_change_ids"]) == 4


def test_request_list_asks_for_every_request_of_the_desk_and_type(
    httpserver: HTTPServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = serve(httpserver)

    fetch(httpserver, tmp_path / "jsm", monkeypatch)

    first = next(r for r in site.requests if r.path == DESK)
    assert first.args["serviceDeskId"] == "10"
    assert first.args["requestTypeId"] == "27"
    assert first.args["requestOwnership"] == "ALL_REQUESTS"
    assert first.args["requestStatus"] == "ALL_REQUESTS"
    expected = base64.b64encode(f"{EMAIL}:{API_TOKEN}".encode()).decode()
    assert first.headers["Authorization"] == f"Basic {expected}"


def test_rate_limit_waits_for_retry_after(
    httpserver: HTTPServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    refused = {"done": False}

    def rate_limit(request: Request) -> Response | None:
        if request.path.endswith("/OPS-815/approval") and not refused["done"]:
            refused["done"] = True
            return Response("", 429, headers={"Retry-After": "7"})
        return None

    site = serve(httpserver, rate_limit)
    waits: list[float] = []

    report = fetch(httpserver, tmp_path / "jsm", monkeypatch, sleep=waits.append)

    assert report.status is SourceStatus.COMPLETE, report.problems()
    assert waits == [7.0]
    assert site.calls(f"{DESK}/OPS-815/approval", "start") == ["0", "0"]


def test_failure_part_way_keeps_pages_and_reads_incomplete(
    httpserver: HTTPServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(request: Request) -> Response | None:
        if request.path.endswith("/OPS-812/approval") and request.args["start"] == "1":
            return Response('{"errorMessage": "Internal server error"}', 500)
        return None

    serve(httpserver, broken)

    report = fetch(httpserver, tmp_path / "jsm", monkeypatch, retries=0)

    assert report.resources["approvals"].status is SourceStatus.INCOMPLETE
    assert "stopped after 1 page(s) at offset 1" in report.problems()[0]
    data = JsmCollector().read(tmp_path / "jsm", "jsm")
    apply_fetch_report(report, data)
    assert data.resources["approvals"].status is SourceStatus.INCOMPLETE
    request = data.resources["requests"].records["OPS-812"]
    assert (request["approval_state"], request["approved"]) == ("unknown", False)
    assert data.overall_status() is SourceStatus.INCOMPLETE


def test_page_that_ignores_the_offset_stops_paging(
    httpserver: HTTPServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def same_page(request: Request) -> Response | None:
        if request.path == DESK:
            return Response(recorded("requests/10-27.page-0001.json"), 200)
        return None

    site = serve(httpserver, same_page)

    report = fetch(httpserver, tmp_path / "jsm", monkeypatch)

    problems = "\n".join(report.problems())
    assert site.calls(DESK, "start") == ["0", "2"]
    assert "brought no new record but is not marked isLastPage" in problems
    assert "arrived twice" in problems


def test_changelog_shorter_than_its_total_is_a_gap(
    httpserver: HTTPServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def short(request: Request) -> Response | None:
        if request.path == "/rest/api/3/issue/OPS-815/changelog":
            body = load(DATA / "changelog/OPS-815.page-0001.json")
            body["total"] = 3
            return Response(json.dumps(body), 200)
        return None

    serve(httpserver, short)

    report = fetch(httpserver, tmp_path / "jsm", monkeypatch)

    assert report.resources["status_changes"].status is SourceStatus.INCOMPLETE
    assert "total is 3 but 1 distinct record(s) were fetched" in "\n".join(
        report.problems()
    )


def test_bearer_token_is_sent_and_refreshed_on_401(
    httpserver: HTTPServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def bearer(request: Request) -> Response | None:
        if request.headers.get("Authorization") != "Bearer pat-new-000111":
            return Response('{"errorMessages": ["unauthorised"]}', 401)
        return None

    serve(httpserver, bearer)
    monkeypatch.setenv("JSM_PAT", "pat-old-000111")
    source = source_for(
        httpserver, email=None, api_token=None, token={"env": "JSM_PAT"}
    )
    client = jsm_client(source)
    monkeypatch.setenv("JSM_PAT", "pat-new-000111")

    with client:
        report = fetch_jsm(client, tmp_path / "jsm", source=source, window=WINDOW)

    assert report.status is SourceStatus.COMPLETE, report.problems()


def test_site_that_never_answers_raises(tmp_path: Path) -> None:
    source = JsmSource(
        name="jsm", type="jsm", url="http://127.0.0.1:9", token={"env": "X"},
        service_desks=["10"],
    )  # fmt: skip
    client = HttpClient(
        "http://127.0.0.1:9", source="jsm", retries=0, timeout=(0.5, 0.5)
    )

    with client, pytest.raises(CollectionError, match="nothing could be fetched"):
        fetch_jsm(client, tmp_path / "jsm", source=source, window=WINDOW)


def test_live_config_needs_desks_and_one_kind_of_auth() -> None:
    base = {"name": "jsm", "type": "jsm", "url": "https://harbourline.atlassian.net"}

    with pytest.raises(ValidationError, match="service_desks"):
        JsmSource.model_validate({**base, "token": {"env": "T"}})
    with pytest.raises(ValidationError, match="either email and api_token"):
        JsmSource.model_validate(
            {**base, "email": EMAIL, "token": {"env": "T"}, "service_desks": ["10"]}
        )
    with pytest.raises(ValidationError, match="must be https://"):
        JsmSource.model_validate(
            {**base, "url": "http://jira.example", "token": {"env": "T"}}
        )
    with pytest.raises(ValidationError, match="ids must be numbers"):
        JsmSource.model_validate(
            {**base, "token": {"env": "T"}, "service_desks": ["../etc"]}
        )
    source = JsmSource.model_validate(
        {**base, "token": {"env": "T"}, "service_desks": ["10"]}
    )
    assert source.is_live
    assert source.field_map() == {"planned_start": None, "planned_end": None}


def test_empty_desk_fetches_and_reads_complete(
    httpserver: HTTPServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def empty(request: Request) -> Response | None:
        body = {"size": 0, "start": 0, "limit": 50, "isLastPage": True, "values": []}
        return Response(json.dumps(body), 200)

    site = serve(httpserver, empty)

    report = fetch(httpserver, tmp_path / "jsm", monkeypatch, request_types=[])

    assert report.status is SourceStatus.COMPLETE, report.problems()
    assert [r.path for r in site.requests] == [DESK]
    assert "requestTypeId" not in site.requests[0].args
    assert (tmp_path / "jsm/requests/10.page-0001.json").is_file()
    data = JsmCollector().read(tmp_path / "jsm", "jsm")
    assert data.overall_status() is SourceStatus.COMPLETE


def load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))
