"""Fetch Jira Service Management change evidence into the export folder layout.

Every page is written exactly as received and the export reader
(``evidencekit.collectors.jsm``) reads the folder afterwards:

- ``requests/<serviceDeskId>.page-0001.json`` (or ``<desk>-<requestTypeId>`` when
  request types are configured): ``GET /rest/servicedeskapi/request``;
- ``approvals/<issueKey>.page-0001.json``: ``.../request/{key}/approval``;
- ``changelog/<issueKey>.page-0001.json``: ``/rest/api/3/issue/{key}/changelog``;
- ``fields.json``: which request fields hold the planned window (from the config).

Jira lowers ``limit`` and ``maxResults`` to its own caps without saying so, so
paging advances by the number of values actually returned and stops only on
``isLastPage`` (or ``isLast``, or a changelog's ``total``), never on a short page.

Known shortcomings: the request list has no date filter, so every request of the
configured desks is fetched, with two more calls each for its approvals and
changelog. The list is ordered by latest activity, so a request updated while it
is paged can move and push another past the page already read; a record that
arrives twice is the sign of that, and the list is then reported incomplete (run
the fetch again). Data Center sites without the ``/rest/api/3`` changelog
endpoint answer 404 there, which marks the status history incomplete.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from evidencekit.collectors.http import (
    FetchReport,
    HttpClient,
    HttpError,
    ResourceFetch,
    check_window,
    log_fetch,
    prepare_destination,
    require_some_pages,
    safe_name,
    window_strings,
    write_file,
)
from evidencekit.collectors.jsm import FIELDS_FILE, ISSUE_KEY, JsmSource
from evidencekit.errors import CollectionError, ConfigError

DEFAULT_PAGE_SIZE = 50
CHANGELOG_PAGE_SIZE = 100
REQUESTS_PATH = "/rest/servicedeskapi/request"
# [unverified] Without these the list may hold only the requests the collecting
# account raised or takes part in; asking for all of them is never narrower.
REQUEST_SCOPE = {"requestOwnership": "ALL_REQUESTS", "requestStatus": "ALL_REQUESTS"}
# Folder -> the reader's resource, so fetch gaps land on the resource they affect.
RESOURCE_OF = {"requests": "requests", "approvals": "approvals"}
RESOURCE_OF["changelog"] = "status_changes"


@dataclass(frozen=True)
class _List:
    """One paged list to fetch and write as page files."""

    resource: str  # folder under the destination
    prefix: str  # page file prefix
    path: str
    params: Mapping[str, str]
    offset_param: str
    limit_param: str
    last_flag: str
    page_size: int
    key: str  # the field that identifies a value ("issueKey", "id")
    total_field: str | None = None


def jsm_client(
    source: JsmSource, *, sleep: Callable[[float], None] = time.sleep
) -> HttpClient:
    """Build the HTTP client for a configured JSM site (reads the secrets)."""
    if source.url is None:
        raise ConfigError(f"source {source.name}: an export folder has no client")
    headers = {"Accept": "application/json"}
    if source.token is None:
        if source.email is None or source.api_token is None:
            raise ConfigError(f"source {source.name}: no credentials are configured")
        auth = (source.email, source.api_token.resolve())
        return HttpClient(
            source.url,
            headers=headers,
            auth=auth,
            sleep=sleep,
            **source.client_settings(),
        )
    token = source.token

    def refresh() -> dict[str, str]:
        return {"Authorization": f"Bearer {token.resolve()}"}

    return HttpClient(
        source.url,
        headers={**headers, **refresh()},
        refresh=refresh,
        sleep=sleep,
        **source.client_settings(),
    )


def fetch_jsm(
    client: HttpClient,
    dest: Path,
    *,
    source: JsmSource,
    window: tuple[datetime, datetime],
) -> FetchReport:
    """Fetch the requests of the configured desks with their approvals and history.

    ``window`` is recorded in the report; the request list itself cannot be
    filtered by date. A list that fails part-way keeps its pages and is marked
    incomplete; only a site that gives nothing raises ``CollectionError``.
    """
    started = time.monotonic()
    start, end = check_window(window)
    prepare_destination(dest, client.source)
    report = FetchReport(client.source, str(dest), window_strings((start, end)))
    write_file(dest, FIELDS_FILE, json.dumps(source.field_map(), indent=1).encode())

    keys = _fetch_requests(client, dest, source, report)
    report.add(_fetch_per_request(client, dest, keys, "approvals", source.page_size))
    report.add(_fetch_per_request(client, dest, keys, "changelog", source.page_size))

    require_some_pages(report)
    log_fetch(report, "jsm", started)
    return report


def _fetch_requests(
    client: HttpClient, dest: Path, source: JsmSource, report: FetchReport
) -> list[str]:
    """Page through every desk (and request type); return the issue keys seen."""
    request_types: list[str | None] = [*source.request_types] or [None]
    lists = [
        _requests_list(desk, request_type, source.page_size)
        for desk in source.service_desks
        for request_type in request_types
    ]
    keys: set[str] = set()
    for fetch, values in client.map(lambda item: walk(client, dest, item), lists):
        report.add(fetch)
        keys.update(_issue_keys(values, fetch))
    return sorted(keys)


def _requests_list(desk: str, request_type: str | None, page_size: int) -> _List:
    params = {"serviceDeskId": desk, **REQUEST_SCOPE}
    prefix = desk
    if request_type is not None:
        params["requestTypeId"] = request_type
        prefix = f"{desk}-{request_type}"
    return _List(
        resource="requests",
        prefix=prefix,
        path=REQUESTS_PATH,
        params=params,
        offset_param="start",
        limit_param="limit",
        last_flag="isLastPage",
        page_size=page_size,
        key="issueKey",
    )


def _issue_keys(values: list[Any], fetch: ResourceFetch) -> list[str]:
    """Take the issue keys of the requests fetched; report any that cannot be used."""
    keys = []
    for value in values:
        key = value.get("issueKey") if isinstance(value, dict) else None
        if isinstance(key, str) and ISSUE_KEY.fullmatch(key) and safe_name(key):
            keys.append(key)
        else:
            fetch.mark_incomplete(
                f"a request with issueKey {key!r} cannot be named in a file; its "
                "approvals and changelog were not fetched"
            )
    return keys


def _fetch_per_request(
    client: HttpClient, dest: Path, keys: list[str], folder: str, page_size: int
) -> ResourceFetch:
    """Fetch one paged list per request into ``folder`` and merge the results."""
    merged = ResourceFetch(RESOURCE_OF[folder], expected=0)
    lists = [_per_request_list(folder, key, page_size) for key in keys]
    for fetch, _ in client.map(lambda item: walk(client, dest, item), lists):
        merged.absorb(fetch)
    return merged


def _per_request_list(folder: str, key: str, page_size: int) -> _List:
    if folder == "approvals":
        return _List(
            resource="approvals",
            prefix=key,
            path=f"{REQUESTS_PATH}/{key}/approval",
            params={},
            offset_param="start",
            limit_param="limit",
            last_flag="isLastPage",
            page_size=page_size,
            key="id",
        )
    return _List(
        resource="changelog",
        prefix=key,
        path=f"/rest/api/3/issue/{key}/changelog",
        params={},
        offset_param="startAt",
        limit_param="maxResults",
        last_flag="isLast",
        page_size=max(page_size, CHANGELOG_PAGE_SIZE),
        key="id",
        total_field="total",
    )


# ----------------------------------------------------------------------------- paging


@dataclass
class _Walk:
    """Where a list's paging has got to, and what it has brought."""

    fetch: ResourceFetch
    offset: int = 0
    total: int | None = None
    values: list[Any] = field(default_factory=list)
    ids: set[str] = field(default_factory=set)


def walk(
    client: HttpClient, dest: Path, item: _List
) -> tuple[ResourceFetch, list[Any]]:
    """Fetch every page of one list, write each as received, and report its gaps.

    Returns what was fetched and the values themselves. Only a first call that
    gets no response at all, before this client has heard from the site, raises
    ``CollectionError``; any other failure keeps the pages written and marks the
    list incomplete.
    """
    state = _Walk(ResourceFetch(RESOURCE_OF[item.resource]))
    where = f"{item.path} ({item.prefix})"
    try:
        _page_through(client, dest, item, state)
    except HttpError as err:
        if err.status is None and not client.answered:
            raise CollectionError(
                f"nothing could be fetched: {err.reason}", source=client.source
            ) from err
        state.fetch.mark_incomplete(
            f"{where}: stopped after {state.fetch.pages} page(s) at offset "
            f"{state.offset}: {err.reason}"
        )
        return state.fetch, state.values
    _check_walk(item, state, where)
    return state.fetch, state.values


def _page_through(client: HttpClient, dest: Path, item: _List, state: _Walk) -> None:
    while True:
        params = {
            **item.params,
            item.offset_param: str(state.offset),
            item.limit_param: str(item.page_size),
        }
        response = client.get(item.path, params)
        body = response.json()
        page = _values(body)
        if page is None:
            raise HttpError(
                f"GET {response.url} is not a page of this API; expected an "
                "object with a 'values' list",
                source=client.source,
                url=response.url,
                status=response.status,
            )
        state.fetch.pages += 1
        relative = f"{item.resource}/{item.prefix}.page-{state.fetch.pages:04d}.json"
        write_file(dest, relative, response.body)
        state.fetch.files.append(relative)
        new = _count(item, state, page)
        if _finished(item, state, body, page, new):
            return


def _values(body: Any) -> list[Any] | None:
    values = body.get("values") if isinstance(body, dict) else None
    return values if isinstance(values, list) else None


def _count(item: _List, state: _Walk, page: list[Any]) -> int:
    before = len(state.ids)
    for value in page:
        key = value.get(item.key) if isinstance(value, dict) else None
        if isinstance(key, str | int):
            state.ids.add(str(key))
    state.values.extend(page)
    state.fetch.records += len(page)
    state.fetch.unique = len(state.ids)
    state.offset += len(page)
    return len(state.ids) - before


def _finished(
    item: _List, state: _Walk, body: dict[str, Any], page: list[Any], new: int
) -> bool:
    """Tell whether the list is done; mark it incomplete if it ended badly."""
    where = f"{item.path} ({item.prefix})"
    total = body.get(item.total_field) if item.total_field else None
    if isinstance(total, int) and not isinstance(total, bool):
        state.total = total
    flag = body.get(item.last_flag)
    if flag is True:
        return True
    if flag is None and state.total is not None and state.offset >= state.total:
        return True
    if not page or new == 0:
        # A page with nothing new that is not marked last: the site ignores the
        # offset or the list ended early. Paging on would never end.
        state.fetch.mark_incomplete(
            f"{where}: page {state.fetch.pages} at offset {state.offset - len(page)} "
            f"brought no new record but is not marked {item.last_flag}; stopped"
        )
        return True
    if flag is None and state.total is None:
        state.fetch.mark_incomplete(
            f"{where}: page {state.fetch.pages} has no {item.last_flag}, so the "
            "end of the list cannot be told; stopped"
        )
        return True
    return False


def _check_walk(item: _List, state: _Walk, where: str) -> None:
    fetch = state.fetch
    repeats = fetch.records - fetch.unique
    if repeats:
        fetch.mark_incomplete(
            f"{where}: {repeats} record(s) arrived twice: the list changed while it "
            "was paged, so another may have been skipped; fetch again"
        )
    if state.total is not None:
        fetch.expected = state.total
        if fetch.unique < state.total:
            fetch.mark_incomplete(
                f"{where}: {item.total_field} is {state.total} but {fetch.unique} "
                "distinct record(s) were fetched"
            )
