"""Tests for the shared HTTP layer: retries, Retry-After, 401 refresh, limits, logs."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from email.utils import formatdate
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from evidencekit.collectors.base import ResourceData, SourceData
from evidencekit.collectors.http import (
    REDACTED,
    FetchReport,
    HttpClient,
    HttpError,
    ResourceFetch,
    apply_fetch_report,
    page_listener,
    redact,
    redact_headers,
    write_file,
)
from evidencekit.errors import CollectionError
from evidencekit.results import SourceStatus

PAGE = {"ItemType": "Event", "TotalResults": 0, "Items": []}


class Sleeps(list[float]):
    """Record the waits urllib3 asks for instead of sleeping."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def threaded_server() -> Iterator[HTTPServer]:
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    yield server
    server.clear()
    server.stop()


def make_client(server: HTTPServer, sleeps: Sleeps, **settings: object) -> HttpClient:
    options: dict[str, object] = {
        "source": "octopus-prod",
        "headers": {"X-Octopus-ApiKey": "API-TESTKEY0000000001"},
        "backoff": 0,
        "sleep": sleeps,
    }
    options.update(settings)
    return HttpClient(server.url_for("/"), **options)


def test_get_json_returns_body_and_headers(httpserver: HTTPServer, sleeps: Sleeps):
    httpserver.expect_request(
        "/api/events", query_string={"skip": "0", "take": "30"}
    ).respond_with_json(PAGE, headers={"X-Request-Id": "r-1"})
    with make_client(httpserver, sleeps) as client:
        body, headers = client.get_json("/api/events", {"skip": "0", "take": "30"})

    assert body == PAGE
    assert headers["X-Request-Id"] == "r-1"
    assert sleeps == []


def test_retry_after_in_seconds_is_honoured(httpserver: HTTPServer, sleeps: Sleeps):
    httpserver.expect_oneshot_request("/api/events").respond_with_data(
        "rate limited", status=429, headers={"Retry-After": "1"}
    )
    httpserver.expect_request("/api/events").respond_with_json(PAGE)
    with make_client(httpserver, sleeps) as client:
        body, _ = client.get_json("/api/events")

    assert body == PAGE
    assert sleeps == [1.0]
    assert len(httpserver.log) == 2


def test_retry_after_as_http_date_is_honoured(httpserver: HTTPServer, sleeps: Sleeps):
    later = formatdate(time.time() + 30, usegmt=True)
    httpserver.expect_oneshot_request("/api/now/table/sys_user").respond_with_data(
        "", status=429, headers={"Retry-After": later}
    )
    httpserver.expect_request("/api/now/table/sys_user").respond_with_json(
        {"result": []}
    )
    with make_client(httpserver, sleeps) as client:
        client.get_json("/api/now/table/sys_user")

    assert len(sleeps) == 1
    assert 25 <= sleeps[0] <= 30  # the date, not the (zero) backoff, set the wait


def test_retry_after_is_capped_by_max_wait(httpserver: HTTPServer, sleeps: Sleeps):
    httpserver.expect_oneshot_request("/api/events").respond_with_data(
        "", status=503, headers={"Retry-After": "86400"}
    )
    httpserver.expect_request("/api/events").respond_with_json(PAGE)
    with make_client(httpserver, sleeps, max_wait=90) as client:
        client.get_json("/api/events")

    assert sleeps == [90.0]


def test_server_errors_back_off_exponentially(httpserver: HTTPServer, sleeps: Sleeps):
    for status in (502, 503, 504):
        httpserver.expect_oneshot_request(
            "/api/Spaces-1/deployments"
        ).respond_with_data("upstream unavailable", status=status)
    httpserver.expect_request("/api/Spaces-1/deployments").respond_with_json(PAGE)
    with make_client(httpserver, sleeps, backoff=0.5) as client:
        body, _ = client.get_json("/api/Spaces-1/deployments")

    assert body == PAGE
    # urllib3 retries the first failure at once, then waits backoff * 2**(n-1).
    assert sleeps == [1.0, 2.0]


def test_server_error_after_retries_raises(httpserver: HTTPServer, sleeps: Sleeps):
    httpserver.expect_request("/api/Spaces-1/tasks").respond_with_data(
        "boom", status=500
    )
    client = make_client(httpserver, sleeps, retries=2)
    with client, pytest.raises(HttpError) as caught:
        client.get("/api/Spaces-1/tasks", {"skip": "60", "take": "30"})

    assert caught.value.status == 500
    assert isinstance(caught.value, CollectionError)
    assert "/api/Spaces-1/tasks?skip=60&take=30" in str(caught.value)
    assert "HTTP 500" in str(caught.value)
    assert len(httpserver.log) == 3


def test_client_error_is_not_retried(httpserver: HTTPServer, sleeps: Sleeps):
    httpserver.expect_request("/api/Spaces-1/feeds").respond_with_data("", status=403)
    client = make_client(httpserver, sleeps)
    with client, pytest.raises(HttpError) as caught:
        client.get("/api/Spaces-1/feeds")

    assert caught.value.status == 403
    assert len(httpserver.log) == 1


def bearer_handler(good: str) -> tuple[list[str], object]:
    seen: list[str] = []

    def handle(request: Request) -> Response:
        token = request.headers.get("Authorization", "")
        seen.append(token)
        if token != f"Bearer {good}":
            return Response('{"error": {"message": "User Not Authenticated"}}', 401)
        return Response('{"result": []}', 200, content_type="application/json")

    return seen, handle


def test_401_refreshes_credentials_once(httpserver: HTTPServer, sleeps: Sleeps):
    seen, handle = bearer_handler("fresh-token-0002")
    httpserver.expect_request("/api/now/table/change_request").respond_with_handler(
        handle
    )
    refreshes: list[int] = []

    def refresh() -> dict[str, str]:
        refreshes.append(1)
        return {"Authorization": "Bearer fresh-token-0002"}

    headers = {"Authorization": "Bearer stale-token-0001"}
    with make_client(httpserver, sleeps, headers=headers, refresh=refresh) as client:
        first, _ = client.get_json("/api/now/table/change_request")
        second, _ = client.get_json("/api/now/table/change_request")

    assert first == second == {"result": []}
    assert refreshes == [1]
    assert seen == [
        "Bearer stale-token-0001",
        "Bearer fresh-token-0002",
        "Bearer fresh-token-0002",
    ]


def test_401_after_refresh_raises(httpserver: HTTPServer, sleeps: Sleeps):
    seen, handle = bearer_handler("never-accepted")
    httpserver.expect_request("/api/now/table/sys_user").respond_with_handler(handle)
    calls: list[int] = []

    def refresh() -> dict[str, str]:
        calls.append(1)
        return {"Authorization": "Bearer also-rejected-9"}

    headers = {"Authorization": "Bearer stale-token-0001"}
    client = make_client(httpserver, sleeps, headers=headers, refresh=refresh)
    with client, pytest.raises(HttpError) as caught:
        client.get("/api/now/table/sys_user")

    assert caught.value.status == 401
    assert calls == [1]
    assert len(seen) == 2


def test_401_without_refresh_is_not_retried(httpserver: HTTPServer, sleeps: Sleeps):
    httpserver.expect_request("/api/users").respond_with_data("", status=401)
    with make_client(httpserver, sleeps) as client, pytest.raises(HttpError):
        client.get("/api/users")

    assert len(httpserver.log) == 1


def test_silent_server_times_out(threaded_server: HTTPServer, sleeps: Sleeps):
    release = threading.Event()

    def stall(request: Request) -> Response:
        release.wait(2)
        return Response("{}", 200, content_type="application/json")

    threaded_server.expect_request("/api/events").respond_with_handler(stall)
    client = make_client(threaded_server, sleeps, timeout=(1, 0.1), retries=1)
    try:
        with pytest.raises(HttpError) as caught:
            client.get("/api/events")
    finally:
        release.set()
        client.close()

    assert caught.value.status is None
    assert "no usable response" in str(caught.value)
    assert client.answered is False


def test_connection_refused_is_a_typed_error(sleeps: Sleeps):
    client = HttpClient(
        "http://127.0.0.1:9", source="sn", retries=0, sleep=sleeps, timeout=(1, 1)
    )
    with pytest.raises(HttpError) as caught:
        client.get("/api/now/table/sys_user")

    assert caught.value.status is None
    assert "http://127.0.0.1:9/api/now/table/sys_user" in str(caught.value)


def test_body_that_is_not_json_raises(httpserver: HTTPServer, sleeps: Sleeps):
    httpserver.expect_request("/api/users").respond_with_data(
        "<html>Sign in</html>", content_type="text/html"
    )
    with make_client(httpserver, sleeps) as client, pytest.raises(HttpError) as err:
        client.get_json("/api/users")

    assert "not JSON" in str(err.value)
    assert "/api/users" in str(err.value)


def test_debug_log_redacts_secrets(
    httpserver: HTTPServer, sleeps: Sleeps, caplog: pytest.LogCaptureFixture
):
    httpserver.expect_request("/api/events").respond_with_json(PAGE)
    httpserver.expect_request("/api/missing").respond_with_data("", status=404)
    caplog.set_level(logging.DEBUG)
    headers = {
        "X-Octopus-ApiKey": "API-HEADERSECRET0001",
        "Authorization": "Bearer bearer-secret-0002",
    }
    params = {"apikey": "API-QUERYSECRET0003", "access_token": "tok-secret-0004"}
    with make_client(httpserver, sleeps, headers=headers) as client:
        client.get("/api/events", {**params, "skip": "0", "password": "pw-0005xx"})
        with pytest.raises(HttpError) as caught:
            client.get("/api/missing", params)

    # werkzeug is the test server's own access log, not the collector's
    client_lines = [r.getMessage() for r in caplog.records if r.name != "werkzeug"]
    logged = "\n".join(client_lines) + str(caught.value)
    for secret in (
        "HEADERSECRET",
        "bearer-secret",
        "QUERYSECRET",
        "tok-secret",
        "pw-0",
    ):
        assert secret not in logged
    ours = [r for r in caplog.records if r.name == "evidencekit.collectors.http"]
    assert any(
        "method=GET" in r.getMessage() and "status=200" in r.getMessage() for r in ours
    )
    assert f"apikey={REDACTED}" in logged
    assert "skip=0" in logged
    # the server did receive the real values: only the logs are scrubbed
    assert httpserver.log[0][0].args["apikey"] == "API-QUERYSECRET0003"


def test_redact_url_userinfo_and_headers():
    url = "https://collector:s3cr3t-pass@octopus.example.invalid/api/users?api_key=K1234567&take=30"
    assert redact(url) == (
        f"https://collector:{REDACTED}@octopus.example.invalid/api/users"
        f"?api_key={REDACTED}&take=30"
    )
    assert redact_headers(
        {"X-Octopus-ApiKey": "API-1", "Accept": "application/json"}
    ) == {"X-Octopus-ApiKey": REDACTED, "Accept": "application/json"}


def concurrency_handler(limit: int) -> tuple[dict[str, int], object]:
    state = {"now": 0, "peak": 0}
    lock = threading.Lock()
    together = threading.Barrier(limit, timeout=5)

    def handle(request: Request) -> Response:
        with lock:
            state["now"] += 1
            state["peak"] = max(state["peak"], state["now"])
        together.wait()  # proves `limit` requests really are in flight at once
        with lock:
            state["now"] -= 1
        return Response('{"Items": []}', 200, content_type="application/json")

    return state, handle


def test_map_bounds_concurrency(threaded_server: HTTPServer, sleeps: Sleeps):
    state, handle = concurrency_handler(2)
    threaded_server.expect_request("/api/users/apikeys").respond_with_handler(handle)
    with make_client(threaded_server, sleeps, max_workers=2) as client:
        bodies = client.map(
            lambda n: client.get_json("/api/users/apikeys", {"n": str(n)})[0],
            range(8),
        )

    assert bodies == [{"Items": []}] * 8
    assert state["peak"] == 2


def test_requests_from_other_threads_are_bounded(
    threaded_server: HTTPServer, sleeps: Sleeps
):
    state, handle = concurrency_handler(3)
    threaded_server.expect_request("/api/teams").respond_with_handler(handle)
    client = make_client(threaded_server, sleeps, max_workers=3)
    with client, ThreadPoolExecutor(max_workers=9) as pool:
        list(pool.map(lambda _: client.get("/api/teams"), range(9)))

    assert state["peak"] == 3


def test_fetch_gaps_are_carried_into_the_read_data():
    report = FetchReport("servicenow-prod", "/evidence/sn", ("a", "b"))
    change = ResourceFetch("change_request", pages=1, records=2, unique=2, expected=3)
    change.mark_incomplete("stopped after 1 page(s) at offset 2: HTTP 401")
    report.add(change)
    report.add(ResourceFetch("sys_user", pages=1, records=2, unique=2, expected=2))
    data = SourceData("servicenow-prod", "servicenow", "/evidence/sn")
    for name in ("change_request", "sys_user"):
        data.resources[name] = ResourceData(name)

    apply_fetch_report(report, data)

    assert data.resources["change_request"].status is SourceStatus.INCOMPLETE
    assert "HTTP 401" in data.resources["change_request"].warnings[0]
    assert data.resources["sys_user"].status is SourceStatus.COMPLETE
    assert data.status is SourceStatus.COMPLETE
    assert (
        json.loads(json.dumps(report.to_dict()))["resources"]["change_request"][
            "status"
        ]
        == "incomplete"
    )


def test_gap_in_an_unread_resource_marks_the_source():
    report = FetchReport("octopus-prod", "/evidence/o", ("a", "b"))
    machines = ResourceFetch("machines")
    machines.mark_incomplete("HTTP 403")
    report.add(machines)
    data = SourceData("octopus-prod", "octopus", "/evidence/o")

    apply_fetch_report(report, data)

    assert data.overall_status() is SourceStatus.INCOMPLETE
    assert data.error == "live fetch of machines: HTTP 403"


def test_unreadable_retry_after_falls_back_to_backoff(
    httpserver: HTTPServer, sleeps: Sleeps
):
    httpserver.expect_oneshot_request("/api/events").respond_with_data(
        "", status=429, headers={"Retry-After": "after lunch"}
    )
    httpserver.expect_request("/api/events").respond_with_json(PAGE)
    with make_client(httpserver, sleeps) as client:
        body, _ = client.get_json("/api/events")

    assert body == PAGE
    assert sleeps == []  # backoff 0: no wait, and no crash on the bad header


def test_redirect_is_not_followed(httpserver: HTTPServer, sleeps: Sleeps):
    httpserver.expect_request("/api/users").respond_with_data(
        "", status=302, headers={"Location": "https://elsewhere.example.invalid/"}
    )
    with make_client(httpserver, sleeps) as client, pytest.raises(HttpError) as err:
        client.get("/api/users")

    assert err.value.status == 302
    assert len(httpserver.log) == 1


def test_map_stops_queued_calls_after_an_error(httpserver: HTTPServer, sleeps: Sleeps):
    started: list[int] = []

    def call(n: int) -> int:
        started.append(n)
        if n == 0:
            raise CollectionError("nothing could be fetched", source="octopus-prod")
        return n

    client = make_client(httpserver, sleeps, max_workers=1)
    with client, pytest.raises(CollectionError):
        client.map(call, range(50))

    assert len(started) < 50


def test_page_listener_hears_every_page_written(tmp_path: Path) -> None:
    heard: list[tuple[str, str]] = []
    with page_listener(lambda dest, relative: heard.append((dest.name, relative))):
        write_file(tmp_path / "octopus", "events/system.page-0001.json", b"{}")
        write_file(tmp_path / "octopus", "events/system.page-0002.json", b"{}")
    write_file(tmp_path / "octopus", "events/system.page-0003.json", b"{}")
    assert heard == [
        ("octopus", "events/system.page-0001.json"),
        ("octopus", "events/system.page-0002.json"),
    ]
