"""Fetch Octopus Deploy evidence from its REST API into the export folder layout.

This is a fetcher, not a normaliser: every page is written exactly as received
(``<resource>/<prefix>.page-0001.json``) and the export reader
(``evidencekit.collectors.octopus``) reads the folder afterwards. Space-scoped
resources use the space id as prefix; system-level ones use ``system``; API keys
use the user id.

Secrets in the pages: Octopus sends every sensitive value (account passwords and
keys, feed passwords, Git credential passwords, certificate data) as
``{"HasValue": true, "NewValue": null}``, never the value, so writing the pages
as received stores no such secret. Known shortcoming: two things are not masked by
the server and are written as received: a subscription's
``EventNotificationSubscription.WebhookHeaderValue`` (plain text in the Go
client's model, [unverified] on a live server) and any credential embedded in a
URL (``FeedUri``, ``WebhookURI``). The export reader never keeps them in a
record, but the page file in the snapshot holds them.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator

from evidencekit.collectors.http import (
    ApiSource,
    FetchReport,
    HttpClient,
    HttpError,
    PagedQuery,
    ResourceFetch,
    check_window,
    fetch_pages,
    log_fetch,
    prepare_destination,
    require_some_pages,
    safe_name,
    window_strings,
    write_file,
)
from evidencekit.secrets import SecretRef

DEFAULT_PAGE_SIZE = 100
API_KEY_HEADER = "X-Octopus-ApiKey"
SYSTEM_PREFIX = "system"

# Folder name -> path segment under /api/{spaceId}/.
SPACE_RESOURCES: dict[str, str] = {
    "deployments": "deployments",
    "tasks": "tasks",
    "releases": "releases",
    "projects": "projects",
    "environments": "environments",
    "runbooks": "runbooks",
    "runbookruns": "runbookRuns",
    "servertaskapprovals": "servertaskapprovals",
    "machines": "machines",
    "workers": "workers",
    "feeds": "feeds",
    "accounts": "accounts",
    "subscriptions": "subscriptions",
    "gitcredentials": "git-credentials",
    "deploymentprocesses": "deploymentprocesses",
    "certificates": "certificates",
}
# Folder name -> (system-level path, whether it takes the spaces filter).
SYSTEM_RESOURCES: dict[str, tuple[str, bool]] = {
    "users": ("/api/users", False),
    "teams": ("/api/teams", True),
    "userroles": ("/api/userroles", False),
    "scopeduserroles": ("/api/scopeduserroles", True),
}
# Resources a server may not offer (server-task approvals and Git credentials are
# recent; the deployment process list is absent for version-controlled projects'
# processes): a 404 on the first page is a note, not a gap, and the export reader
# then reports the resource missing, so the policies that need it are not tested.
OPTIONAL_RESOURCES = frozenset(
    {
        "servertaskapprovals",
        "machines",
        "workers",
        "feeds",
        "accounts",
        "subscriptions",
        "gitcredentials",
        "deploymentprocesses",
        "certificates",
    }
)
ARCHIVE_NAME = re.compile(r"^events-(\d{4}-\d{2}-\d{2})\.jsonl$")
ARCHIVE_LISTING = "eventarchives"


class OctopusApiSource(ApiSource):
    """An Octopus Deploy server read live through its REST API."""

    type: Literal["octopus"]
    api_key: SecretRef
    spaces: list[str] = Field(default_factory=lambda: ["Spaces-1"], min_length=1)
    page_size: int = Field(default=DEFAULT_PAGE_SIZE, ge=1, le=1000)

    @field_validator("spaces")
    @classmethod
    def _space_ids(cls, value: list[str]) -> list[str]:
        bad = [space for space in value if not re.fullmatch(r"Spaces-\d+", space)]
        if bad:
            raise ValueError(f"spaces must look like Spaces-1, not {', '.join(bad)}")
        return value


def octopus_client(source: OctopusApiSource) -> HttpClient:
    """Build the HTTP client for a configured Octopus source (reads the API key)."""
    headers = {API_KEY_HEADER: source.api_key.resolve(), "Accept": "application/json"}
    return HttpClient(source.url, headers=headers, **source.client_settings())


def fetch_octopus(
    client: HttpClient,
    dest: Path,
    *,
    spaces: list[str],
    window: tuple[datetime, datetime],
    page_size: int = DEFAULT_PAGE_SIZE,
    now: datetime | None = None,
) -> FetchReport:
    """Fetch every Octopus resource for ``spaces`` into ``dest`` and report gaps.

    Events are pinned to the window (``from``/``to``, with ``to`` no later than
    ``now``, the collection start, so new events cannot shift the pages); the daily
    archives the window needs are downloaded beside them. Other resources are
    fetched whole, since their API has no date filter.
    A resource that fails part-way keeps its pages and is marked incomplete; only
    a server that gives nothing at all raises ``CollectionError``.
    """
    started = time.monotonic()
    start, end = check_window(window)
    prepare_destination(dest, client.source)
    report = FetchReport(client.source, str(dest), window_strings((start, end)))

    pinned = min(end, now or datetime.now(UTC))
    queries = [
        _events_query(spaces, start, pinned if pinned > start else end, page_size),
        *_system_queries(spaces, page_size),
        *_space_queries(spaces, page_size),
    ]
    users, user_ids = _fetch_collections(client, dest, queries, report)
    report.add(_fetch_api_keys(client, dest, users, sorted(user_ids), page_size))
    for fetch in _fetch_archives(client, dest, start, end, page_size):
        report.add(fetch)

    require_some_pages(report)
    log_fetch(report, "octopus", started)
    return report


def _fetch_collections(
    client: HttpClient, dest: Path, queries: list[PagedQuery], report: FetchReport
) -> tuple[ResourceFetch, set[str]]:
    """Fetch the queries in parallel into the report; return the users' result."""
    results = client.map(lambda query: fetch_pages(client, dest, query), queries)
    users: tuple[ResourceFetch, set[str]] = (ResourceFetch("users"), set())
    for query, (fetch, ids) in zip(queries, results, strict=True):
        report.add(fetch)
        if query.resource == "users":
            users = (fetch, ids)
    return users


def _paged(
    resource: str,
    prefix: str,
    path: str,
    page_size: int,
    *,
    params: dict[str, str] | None = None,
    key: Callable[[Any], str | None] | None = None,
) -> PagedQuery:
    """Describe an Octopus ``skip``/``take`` collection."""
    return PagedQuery(
        resource=resource,
        prefix=prefix,
        path=path,
        params=params or {},
        offset_param="skip",
        limit_param="take",
        page_size=page_size,
        items=_items,
        total=_total_results,
        key=key or _item_id,
        total_name="TotalResults",
        optional=resource in OPTIONAL_RESOURCES,
    )


def _events_query(
    spaces: list[str], start: datetime, end: datetime, page_size: int
) -> PagedQuery:
    params = {
        "from": start.isoformat(),
        "to": end.isoformat(),
        "spaces": ",".join(spaces),
        "includeSystem": "true",
    }
    return _paged("events", SYSTEM_PREFIX, "/api/events", page_size, params=params)


def _system_queries(spaces: list[str], page_size: int) -> list[PagedQuery]:
    queries = []
    for resource, (path, spaced) in SYSTEM_RESOURCES.items():
        params = {"spaces": ",".join(spaces), "includeSystem": "true"} if spaced else {}
        queries.append(_paged(resource, SYSTEM_PREFIX, path, page_size, params=params))
    return queries


def _space_queries(spaces: list[str], page_size: int) -> list[PagedQuery]:
    return [
        _paged(resource, space, f"/api/{space}/{segment}", page_size)
        for space in spaces
        for resource, segment in SPACE_RESOURCES.items()
    ]


def _items(body: Any) -> list[Any] | None:
    items = body.get("Items") if isinstance(body, dict) else None
    return items if isinstance(items, list) else None


def _total_results(body: Any, headers: Any) -> int | None:
    total = body.get("TotalResults") if isinstance(body, dict) else None
    return total if isinstance(total, int) and not isinstance(total, bool) else None


def _item_id(item: Any) -> str | None:
    value = item.get("Id") if isinstance(item, dict) else None
    return value if isinstance(value, str) else None


# ---------------------------------------------------------------------------- API keys


def _fetch_api_keys(
    client: HttpClient,
    dest: Path,
    users: ResourceFetch,
    user_ids: list[str],
    page_size: int,
) -> ResourceFetch:
    """Fetch ``/api/users/{id}/apikeys`` for every listed user into ``apikeys/``."""
    keys = ResourceFetch("apikeys")
    if users.problems:
        keys.mark_incomplete(
            "the user list is incomplete, so API keys of users not listed "
            "were not fetched"
        )
    usable = [user_id for user_id in user_ids if safe_name(user_id)]
    for user_id in sorted(set(user_ids) - set(usable)):
        keys.mark_incomplete(f"user id {user_id!r} is not a safe file name; skipped")

    queries = [
        _paged("apikeys", user_id, f"/api/users/{user_id}/apikeys", page_size)
        for user_id in usable
    ]
    for fetch, _ in client.map(lambda q: fetch_pages(client, dest, q), queries):
        keys.absorb(fetch)
    return keys


# ---------------------------------------------------------------------- event archives


def _fetch_archives(
    client: HttpClient, dest: Path, start: datetime, end: datetime, page_size: int
) -> list[ResourceFetch]:
    """List the event archives and download the days the window needs into events/.

    Returns the listing (``eventarchives``, written as received for the audit
    trail) and an ``events`` part holding the downloaded files.

    Known shortcoming: a day with no archive file is not reported as a gap. The
    server may write no file for a day without events, so a missing day cannot be
    told apart from a lost one; the events of that day are simply absent.
    """
    listing_query = _paged(
        ARCHIVE_LISTING,
        SYSTEM_PREFIX,
        "/api/events/archives",
        page_size,
        key=_archive_name,
    )
    listing, names = fetch_pages(client, dest, listing_query)
    events = ResourceFetch("events", expected=0)  # archives add to no count
    if listing.problems:
        events.mark_incomplete(
            "the event archive list could not be read completely; events older "
            "than the server's retention period may be missing"
        )
    wanted = sorted(name for name in names if _archive_needed(name, start, end))
    for result in client.map(
        lambda name: _download_archive(client, dest, name), wanted
    ):
        events.absorb(result)
    return [listing, events]


def _archive_name(item: Any) -> str | None:
    # [unverified] the archive listing's field name; "Name" is what the
    # reference notes describe, "FileName" is accepted as well.
    if not isinstance(item, dict):
        return None
    value = item.get("Name", item.get("FileName"))
    return value if isinstance(value, str) else None


def _archive_needed(name: str, start: datetime, end: datetime) -> bool:
    """True when an archive file's day touches the window, with one day's margin.

    The margin is there because the archive day may follow the server's time
    zone rather than UTC; an extra day of events is harmless, a missing one is not.
    """
    match = ARCHIVE_NAME.fullmatch(name)
    if match is None:
        return False
    day = date.fromisoformat(match.group(1))
    first = start.date() - timedelta(days=1)
    last = (end - timedelta(microseconds=1)).date() + timedelta(days=1)
    return first <= day <= last


def _download_archive(client: HttpClient, dest: Path, name: str) -> ResourceFetch:
    part = ResourceFetch("events")
    try:
        response = client.get(f"/api/events/archives/{name}")
    except HttpError as err:
        part.mark_incomplete(f"event archive {name} was not downloaded: {err.reason}")
        return part
    relative = f"events/{name}"
    write_file(dest, relative, response.body)
    part.files.append(relative)
    part.records = sum(1 for line in response.body.splitlines() if line.strip())
    part.expected = 0  # archived events are not part of the API's TotalResults
    return part
