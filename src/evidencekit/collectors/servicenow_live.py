"""Fetch ServiceNow change evidence from the Table API into the export folder layout.

Pages are written exactly as received (``<table>/all.page-0001.json``, each a
``{"result": [...]}`` body) with ``sysparm_display_value=all``, so every field keeps
both its stored value and its display value; the export reader
(``evidencekit.collectors.servicenow``) uses the value.

The Table API sends its count in the ``X-Total-Count`` header, which is not in the
written pages, so only the fetch can tell a short table from a complete one: pass
its report to ``apply_fetch_report`` after reading the folder.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, model_validator

from evidencekit.collectors.http import (
    ApiSource,
    FetchReport,
    HttpClient,
    PagedQuery,
    check_window,
    fetch_pages,
    log_fetch,
    prepare_destination,
    require_some_pages,
    window_strings,
)
from evidencekit.errors import ConfigError
from evidencekit.secrets import SecretRef

DEFAULT_PAGE_SIZE = 1000
PREFIX = "all"
TABLES = ("change_request", "sysapproval_approver", "sys_user")
ORDER = "ORDERBYsys_created_on^ORDERBYsys_id"
# The window is widened by a day on each side: ServiceNow may read a date
# literal in an encoded query in the collecting user's time zone [unverified], and
# an extra day of records is harmless where a missing one is not.
MARGIN = timedelta(days=1)


class ServiceNowApiSource(ApiSource):
    """A ServiceNow instance read live through the Table API.

    Give either ``username`` and ``password`` (Basic auth) or ``token`` (an OAuth
    bearer token). On a 401 the token is read again from its variable, so a
    process that rotates it can keep a long fetch going.

    Known shortcoming: there is no OAuth grant flow (``/oauth_token.do``); an
    expired token that nobody rotates ends the fetch of the remaining pages,
    which are then reported incomplete.
    """

    type: Literal["servicenow"]
    username: str | None = None
    password: SecretRef | None = None
    token: SecretRef | None = None
    page_size: int = Field(default=DEFAULT_PAGE_SIZE, ge=1, le=10000)

    @model_validator(mode="after")
    def _one_auth(self) -> ServiceNowApiSource:
        basic = self.username is not None and self.password is not None
        partial = (self.username is None) != (self.password is None)
        if partial or basic == (self.token is not None):
            raise ValueError(
                "give either username and password (Basic auth) or token (OAuth)"
            )
        return self


def servicenow_client(source: ServiceNowApiSource) -> HttpClient:
    """Build the HTTP client for a configured ServiceNow source (reads secrets)."""
    headers = {"Accept": "application/json"}
    if source.token is None:
        if source.username is None or source.password is None:
            raise ConfigError(f"source {source.name}: no credentials are configured")
        auth = (source.username, source.password.resolve())
        return HttpClient(
            source.url, headers=headers, auth=auth, **source.client_settings()
        )
    token = source.token

    def refresh() -> dict[str, str]:
        return {"Authorization": f"Bearer {token.resolve()}"}

    return HttpClient(
        source.url,
        headers={**headers, **refresh()},
        refresh=refresh,
        **source.client_settings(),
    )


def fetch_servicenow(
    client: HttpClient,
    dest: Path,
    *,
    window: tuple[datetime, datetime],
    page_size: int = DEFAULT_PAGE_SIZE,
    queries: Mapping[str, str] | None = None,
) -> FetchReport:
    """Fetch the change, approval and user tables into ``dest`` and report gaps.

    ``queries`` overrides the encoded filter of a table (without the ordering,
    which is always added). A table that fails part-way keeps its pages and is
    marked incomplete; only an instance that gives nothing raises
    ``CollectionError``.
    """
    started = time.monotonic()
    start, end = check_window(window)
    prepare_destination(dest, client.source)
    report = FetchReport(client.source, str(dest), window_strings((start, end)))

    filters = {**default_filters(start, end), **(queries or {})}
    paged = [_table_query(table, filters[table], page_size) for table in TABLES]
    for fetch, _ in client.map(lambda q: fetch_pages(client, dest, q), paged):
        report.add(fetch)

    require_some_pages(report)
    log_fetch(report, "servicenow", started)
    return report


def default_filters(start: datetime, end: datetime) -> dict[str, str]:
    """Return the encoded filter per table for a UTC window.

    Changes: touched on or after the window start and created before its end, so
    a change approved earlier but implemented in the window is kept. Approvals:
    those whose approved record was touched in that span. Users: all of them, since
    access reviews need accounts that did nothing.
    """
    since = _glide(start - MARGIN)
    until = _glide(end + MARGIN)
    return {
        "change_request": f"sys_updated_on>={since}^sys_created_on<{until}",
        "sysapproval_approver": (
            f"sysapproval.sys_updated_on>={since}^sys_created_on<{until}"
        ),
        "sys_user": "",
    }


def _glide(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def _table_query(table: str, encoded: str, page_size: int) -> PagedQuery:
    ordered = f"{encoded}^{ORDER}" if encoded else ORDER
    return PagedQuery(
        resource=table,
        prefix=PREFIX,
        path=f"/api/now/table/{table}",
        params={"sysparm_display_value": "all", "sysparm_query": ordered},
        offset_param="sysparm_offset",
        limit_param="sysparm_limit",
        page_size=page_size,
        items=_result,
        total=_total_count,
        key=_sys_id,
        total_name="X-Total-Count",
    )


def _result(body: Any) -> list[Any] | None:
    result = body.get("result") if isinstance(body, dict) else None
    return result if isinstance(result, list) else None


def _total_count(body: Any, headers: Mapping[str, str]) -> int | None:
    value = headers.get("X-Total-Count")
    if value is None or not value.strip().isdigit():
        return None
    return int(value)


def _sys_id(record: Any) -> str | None:
    value = record.get("sys_id") if isinstance(record, dict) else None
    if isinstance(value, dict):  # sysparm_display_value=all
        value = value.get("value")
    return value if isinstance(value, str) and value else None
