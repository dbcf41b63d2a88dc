"""Tests for the live ServiceNow fetcher against a server replaying recorded pages."""

from __future__ import annotations

import base64
import json
import re
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import ValidationError
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from evidencekit.collectors.http import HttpClient
from evidencekit.collectors.servicenow_live import (
    ServiceNowApiSource,
    default_filters,
    fetch_servicenow,
    servicenow_client,
)
from evidencekit.errors import CollectionError
from evidencekit.results import SourceStatus

DATA = Path(__file__).parent / "data" / "live" / "servicenow"
WINDOW = (datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC))
TABLE = "/api/now/table/"

Route = dict[tuple[str, str], tuple[str, int]]  # (table, offset) -> (file, total)
ROUTES: Route = {
    ("change_request", "0"): ("change_request-offset-0.json", 3),
    ("change_request", "2"): ("change_request-offset-2.json", 3),
    ("sysapproval_approver", "0"): ("sysapproval_approver.json", 1),
    ("sys_user", "0"): ("sys_user.json", 2),
}


def recorded(name: str) -> bytes:
    return (DATA / name).read_bytes()


class FakeInstance:
    """Serve recorded Table API pages by table and offset, with X-Total-Count."""

    def __init__(self, routes: Route, check: Callable[[Request], Response | None]):
        self.routes = routes
        self.check = check
        self.requests: list[Request] = []
        self.lock = threading.Lock()

    def __call__(self, request: Request) -> Response:
        with self.lock:
            self.requests.append(request)
        refused = self.check(request)
        if refused is not None:
            return refused
        table = request.path.removeprefix(TABLE)
        offset = request.args.get("sysparm_offset", "0")
        totals = [t for (name, _), (_, t) in self.routes.items() if name == table]
        name, total = self.routes.get((table, offset), ("", max(totals, default=0)))
        body = recorded(name) if name else b'{"result": []}'
        headers = {"X-Total-Count": str(total)} if total >= 0 else {}
        return Response(body, 200, headers=headers, content_type="application/json")

    def offsets(self, table: str) -> list[str]:
        return [
            r.args["sysparm_offset"] for r in self.requests if r.path == TABLE + table
        ]


def bearer(*accepted: str) -> Callable[[Request], Response | None]:
    def check(request: Request) -> Response | None:
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if token in accepted:
            return None
        return Response('{"error": {"message": "User Not Authenticated"}}', 401)

    return check


def serve(
    server: HTTPServer,
    routes: Route | None = None,
    check: Callable[[Request], Response | None] | None = None,
) -> FakeInstance:
    fake = FakeInstance(routes or ROUTES, check or bearer("token-0001"))
    server.expect_request(re.compile("^/api/now/")).respond_with_handler(fake)
    return fake


def client_for(server: HTTPServer, **settings: object) -> HttpClient:
    options: dict[str, object] = {
        "source": "servicenow-prod",
        "headers": {"Authorization": "Bearer token-0001"},
        "backoff": 0,
        "retries": 1,
        "sleep": lambda seconds: None,
    }
    options.update(settings)
    return HttpClient(server.url_for("/"), **options)


def fetch(server: HTTPServer, dest: Path, page_size: int = 2, **settings: object):
    with client_for(server, **settings) as client:
        return fetch_servicenow(client, dest, window=WINDOW, page_size=page_size)


@pytest.fixture
def threaded_server() -> Iterator[HTTPServer]:
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    yield server
    server.clear()
    server.stop()


def test_fetch_writes_table_pages_as_received(httpserver: HTTPServer, tmp_path: Path):
    fake = serve(httpserver)
    report = fetch(httpserver, tmp_path / "sn")

    dest = tmp_path / "sn"
    assert report.status is SourceStatus.COMPLETE, report.problems()
    assert (dest / "change_request/all.page-0001.json").read_bytes() == recorded(
        "change_request-offset-0.json"
    )
    assert (dest / "change_request/all.page-0002.json").read_bytes() == recorded(
        "change_request-offset-2.json"
    )
    assert (dest / "sys_user/all.page-0001.json").exists()
    assert fake.offsets("change_request") == ["0", "2"]
    assert report.resources["change_request"].expected == 3
    assert report.resources["change_request"].unique == 3


def test_query_asks_for_display_values_in_a_stable_order(
    httpserver: HTTPServer, tmp_path: Path
):
    fake = serve(httpserver)
    fetch(httpserver, tmp_path / "sn")

    by_table = {r.path.removeprefix(TABLE): r.args for r in fake.requests}
    change = by_table["change_request"]
    assert change["sysparm_display_value"] == "all"
    assert change["sysparm_limit"] == "2"
    assert change["sysparm_query"] == (
        "sys_updated_on>=2026-10-31 00:00:00^sys_created_on<2026-12-02 00:00:00"
        "^ORDERBYsys_created_on^ORDERBYsys_id"
    )
    assert by_table["sys_user"]["sysparm_query"] == (
        "ORDERBYsys_created_on^ORDERBYsys_id"
    )
    assert by_table["sysapproval_approver"]["sysparm_query"].startswith(
        "sysapproval.sys_updated_on>=2026-10-31 00:00:00^"
    )


def test_display_values_in_another_zone_are_kept(
    httpserver: HTTPServer, tmp_path: Path
):
    serve(httpserver)
    fetch(httpserver, tmp_path / "sn")

    page = json.loads((tmp_path / "sn/change_request/all.page-0001.json").read_text())
    start = page["result"][0]["start_date"]
    # The stored value is UTC; the display value is in the instance user's zone.
    assert start == {
        "display_value": "2026-11-18 21:30:00",
        "value": "2026-11-18 20:30:00",
    }


def test_count_mismatch_marks_the_table_incomplete(
    httpserver: HTTPServer, tmp_path: Path
):
    routes = {**ROUTES, ("sys_user", "0"): ("sys_user.json", 5)}
    fake = serve(httpserver, routes)
    report = fetch(httpserver, tmp_path / "sn")

    users = report.resources["sys_user"]
    assert users.status is SourceStatus.INCOMPLETE
    assert any("X-Total-Count is 5 but 2 distinct" in p for p in users.problems)
    # the short page did not end paging while the count said more existed
    assert fake.offsets("sys_user") == ["0", "2"]
    assert report.resources["change_request"].status is SourceStatus.COMPLETE


def test_missing_count_cannot_read_as_complete(httpserver: HTTPServer, tmp_path: Path):
    routes = {
        **ROUTES,
        ("sysapproval_approver", "0"): ("sysapproval_approver.json", -1),
    }
    serve(httpserver, routes)
    report = fetch(httpserver, tmp_path / "sn")

    approvals = report.resources["sysapproval_approver"]
    assert approvals.status is SourceStatus.INCOMPLETE
    assert any("no X-Total-Count" in p for p in approvals.problems)


def test_duplicate_and_reordered_rows_are_counted(
    httpserver: HTTPServer, tmp_path: Path
):
    # Offset paging over a table that shifted: page 2 repeats page 1's last row,
    # in another order, and the last row arrives on a third page.
    routes = {
        **ROUTES,
        ("change_request", "2"): ("change_request-offset-2-shifted.json", 3),
    }
    fake = serve(httpserver, routes)
    report = fetch(httpserver, tmp_path / "sn")

    change = report.resources["change_request"]
    assert fake.offsets("change_request") == ["0", "2"]
    assert change.records == 4
    assert change.unique == 3
    assert change.status is SourceStatus.COMPLETE, change.problems
    assert any("1 duplicate" in note for note in change.notes)


def test_server_ignoring_the_offset_stops_paging(
    httpserver: HTTPServer, tmp_path: Path
):
    # Every offset gets the first page back; the count says there are ten.
    routes = {
        **ROUTES,
        ("change_request", "0"): ("change_request-offset-0.json", 10),
        ("change_request", "2"): ("change_request-offset-0.json", 10),
    }
    fake = serve(httpserver, routes)
    report = fetch(httpserver, tmp_path / "sn")

    change = report.resources["change_request"]
    assert change.records == 4
    assert change.unique == 2
    assert change.status is SourceStatus.INCOMPLETE
    assert any("held only records already fetched" in p for p in change.problems)
    assert fake.offsets("change_request") == ["0", "2"]


def test_401_part_way_refreshes_the_token(
    httpserver: HTTPServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    served: list[str] = []

    def expire_after_first(request: Request) -> Response | None:
        served.append(request.headers.get("Authorization", ""))
        if len(served) == 1 or served[-1] == "Bearer token-0002":
            return None
        return Response('{"error": {"message": "token expired"}}', 401)

    serve(httpserver, check=expire_after_first)
    monkeypatch.setenv("SN_TOKEN", "token-0001")
    source = ServiceNowApiSource.model_validate(
        {
            "name": "servicenow-prod",
            "type": "servicenow",
            "url": httpserver.url_for("/"),
            "token": {"env": "SN_TOKEN"},
            "max_workers": 1,
            "retries": 0,
        }
    )
    with servicenow_client(source) as client:
        monkeypatch.setenv("SN_TOKEN", "token-0002")  # rotated by another process
        report = fetch_servicenow(client, tmp_path / "sn", window=WINDOW, page_size=2)

    assert report.status is SourceStatus.COMPLETE, report.problems()
    assert served[:3] == ["Bearer token-0001", "Bearer token-0001", "Bearer token-0002"]
    assert set(served[3:]) == {"Bearer token-0002"}


def test_401_after_refresh_keeps_pages_and_marks_incomplete(
    httpserver: HTTPServer, tmp_path: Path
):
    def revoke_page_two(request: Request) -> Response | None:
        if request.args.get("sysparm_offset") == "2":
            return Response('{"error": {"message": "User Not Authenticated"}}', 401)
        return None

    refreshes: list[int] = []

    def refresh() -> dict[str, str]:
        refreshes.append(1)
        return {"Authorization": "Bearer token-0003"}

    serve(httpserver, check=revoke_page_two)
    report = fetch(httpserver, tmp_path / "sn", refresh=refresh)

    change = report.resources["change_request"]
    assert change.status is SourceStatus.INCOMPLETE
    assert change.pages == 1
    assert (tmp_path / "sn/change_request/all.page-0001.json").exists()
    assert any("HTTP 401" in p and "offset 2" in p for p in change.problems)
    assert refreshes == [1]
    assert report.resources["sys_user"].status is SourceStatus.COMPLETE


def test_server_that_stops_answering(threaded_server: HTTPServer, tmp_path: Path):
    release = threading.Event()

    def stall_page_two(request: Request) -> Response | None:
        if request.args.get("sysparm_offset") == "2":
            release.wait(2)
        return None

    serve(threaded_server, check=stall_page_two)
    try:
        report = fetch(threaded_server, tmp_path / "sn", timeout=(1, 0.1))
    finally:
        release.set()

    change = report.resources["change_request"]
    assert change.status is SourceStatus.INCOMPLETE
    assert change.pages == 1
    assert any("no usable response" in p for p in change.problems)
    assert report.resources["sysapproval_approver"].status is SourceStatus.COMPLETE


def test_basic_auth_from_config(
    httpserver: HTTPServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    expected = "Basic " + base64.b64encode(b"evidence.reader:pa55-word").decode()

    def basic(request: Request) -> Response | None:
        if request.headers.get("Authorization") == expected:
            return None
        return Response("", 401)

    fake = serve(httpserver, check=basic)
    monkeypatch.setenv("SN_PASSWORD", "pa55-word")
    source = ServiceNowApiSource.model_validate(
        {
            "name": "servicenow-prod",
            "type": "servicenow",
            "url": httpserver.url_for("/"),
            "username": "evidence.reader",
            "password": {"env": "SN_PASSWORD"},
            "page_size": 2,
        }
    )
    with servicenow_client(source) as client:
        report = fetch_servicenow(
            client, tmp_path / "sn", window=WINDOW, page_size=source.page_size
        )

    assert report.status is SourceStatus.COMPLETE, report.problems()
    assert len(fake.requests) == 4


def test_nothing_fetched_raises(tmp_path: Path):
    client = HttpClient("http://127.0.0.1:9", source="sn", retries=0, timeout=(1, 1))
    with client, pytest.raises(CollectionError, match="nothing could be fetched"):
        fetch_servicenow(client, tmp_path / "sn", window=WINDOW)


def test_custom_filter_replaces_the_default(httpserver: HTTPServer, tmp_path: Path):
    fake = serve(httpserver)
    with client_for(httpserver) as client:
        fetch_servicenow(
            client,
            tmp_path / "sn",
            window=WINDOW,
            queries={"sys_user": "active=true"},
        )

    users = next(r for r in fake.requests if r.path == TABLE + "sys_user")
    assert users.args["sysparm_query"] == (
        "active=true^ORDERBYsys_created_on^ORDERBYsys_id"
    )


def test_default_filters_widen_the_window_by_a_day():
    filters = default_filters(*WINDOW)
    assert "sys_updated_on>=2026-10-31 00:00:00" in filters["change_request"]
    assert "sys_created_on<2026-12-02 00:00:00" in filters["change_request"]
    assert filters["sys_user"] == ""


@pytest.mark.parametrize(
    "auth",
    [
        {},
        {"username": "evidence.reader"},
        {"token": {"env": "SN_TOKEN"}, "username": "u", "password": {"env": "P"}},
    ],
)
def test_config_needs_exactly_one_way_to_authenticate(auth: dict[str, object]):
    raw = {
        "name": "servicenow-prod",
        "type": "servicenow",
        "url": "https://sn.example.invalid",
        **auth,
    }
    with pytest.raises(ValidationError, match="either username and password"):
        ServiceNowApiSource.model_validate(raw)
