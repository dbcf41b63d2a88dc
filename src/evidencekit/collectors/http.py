"""Fetch API pages for the live collectors: retries, auth refresh, limits, paging."""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypeVar
from urllib.parse import urlsplit

import requests
from pydantic import BaseModel, ConfigDict, Field, field_validator
from requests.adapters import HTTPAdapter
from urllib3.exceptions import InvalidHeader
from urllib3.response import BaseHTTPResponse
from urllib3.util.retry import Retry

from evidencekit.collectors.base import SourceData
from evidencekit.errors import CollectionError, ConfigError
from evidencekit.results import SourceStatus
from evidencekit.timeutil import to_canonical

LOG = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
SECRET_HEADERS = frozenset({"authorization", "x-octopus-apikey", "proxy-authorization"})
REDACTED = "REDACTED"
_SECRET_PARAM = re.compile(
    r"(?i)(\b[\w.-]*(?:api[_-]?key|token|password|passwd|secret)[\w.-]*=)[^&#\s'\"]+"
)
_USERINFO = re.compile(r"(://[^/:@\s]+:)[^/@\s]+@")
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})

T = TypeVar("T")
R = TypeVar("R")


class HttpError(CollectionError):
    """An API call failed: the server refused, errored after retries, or went silent.

    ``status`` is the HTTP status, or ``None`` when no response arrived at all
    (connection refused, timeout). ``url`` is already redacted.
    """

    def __init__(self, message: str, *, source: str, url: str, status: int | None):
        self.url = url
        self.status = status
        super().__init__(message, source=source)


# --------------------------------------------------------------------------- redaction


class _Secrets:
    """Secret values seen by any client, so they can be cut out of any log text."""

    def __init__(self) -> None:
        self._values: set[str] = set()
        self._lock = threading.Lock()

    def add(self, value: str | None) -> None:
        """Remember a secret value (short ones would mangle ordinary text)."""
        if value and len(value) >= 6:
            with self._lock:
                self._values.add(value)

    def scrub(self, text: str) -> str:
        """Replace every remembered secret value in ``text``."""
        with self._lock:
            values = sorted(self._values, key=len, reverse=True)
        for value in values:
            text = text.replace(value, REDACTED)
        return text


_SECRETS = _Secrets()


def redact(text: str) -> str:
    """Remove secrets from a URL or message: query parameters, userinfo, known keys."""
    text = _SECRET_PARAM.sub(rf"\g<1>{REDACTED}", text)
    text = _USERINFO.sub(rf"\g<1>{REDACTED}@", text)
    return _SECRETS.scrub(text)


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Return a copy of request headers with credential headers masked."""
    return {
        name: REDACTED if name.lower() in SECRET_HEADERS else value
        for name, value in headers.items()
    }


class _RedactingFilter(logging.Filter):
    """Scrub secrets from urllib3's own DEBUG lines, which print request URLs."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        return True


_FILTER = _RedactingFilter()


def _guard_library_logs() -> None:
    """Attach the redacting filter to the urllib3 loggers that print URLs (once)."""
    for name in ("urllib3.connectionpool", "urllib3.util.retry"):
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)


# ------------------------------------------------------------------------------ client


class _PacedRetry(Retry):
    """urllib3's Retry with the sleep injected, so tests can see each wait."""

    def __init__(
        self, *args: Any, sleeper: Callable[[float], None] = time.sleep, **kw: Any
    ) -> None:
        super().__init__(*args, **kw)
        self.sleeper = sleeper

    def new(self, **kw: Any) -> Self:
        """Carry the sleeper over to the next Retry in the chain."""
        kw.setdefault("sleeper", self.sleeper)
        return super().new(**kw)

    def sleep(self, response: BaseHTTPResponse | None = None) -> None:
        """Wait for ``Retry-After`` (seconds or HTTP date) or the backoff time."""
        delay = None
        if self.respect_retry_after_header and response is not None:
            try:
                delay = self.get_retry_after(response)
            except InvalidHeader:
                LOG.warning("retry_after=unreadable action=backoff")
        if delay is None:
            delay = self.get_backoff_time()
        if delay > 0:
            LOG.debug("retry_wait=%.2fs history=%d", delay, len(self.history))
            self.sleeper(delay)


@dataclass(frozen=True)
class HttpResponse:
    """One successful response: the body exactly as received, and its headers."""

    url: str  # redacted
    status: int
    headers: Mapping[str, str]
    body: bytes
    source: str

    def json(self) -> Any:
        """Parse the body as JSON, or raise ``HttpError`` naming the URL."""
        try:
            return json.loads(self.body)
        except ValueError as err:
            raise HttpError(
                f"GET {self.url} returned a body that is not JSON ({err}); "
                "expected an API response",
                source=self.source,
                url=self.url,
                status=self.status,
            ) from err


class HttpClient:
    """A session for one source: timeouts, retries, 401 refresh, bounded concurrency.

    Requests that fail with 429/500/502/503/504 or a dropped connection are
    retried by urllib3 with exponential backoff, honouring ``Retry-After``. A 401
    calls ``refresh`` (if given) for new headers and retries exactly once. At most
    ``max_workers`` requests are in flight at once, whichever thread sends them.
    """

    def __init__(
        self,
        base_url: str,
        *,
        source: str,
        headers: Mapping[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: tuple[float, float] = (5, 60),
        retries: int = 5,
        backoff: float = 0.5,
        max_workers: int = 4,
        max_wait: float = 300,
        refresh: Callable[[], dict[str, str]] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.source = source
        self.max_workers = max_workers
        self.answered = False  # set once any HTTP response arrives
        self._headers = dict(headers or {})
        self._auth = auth
        self._timeout = timeout
        self._refresh = refresh
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(max_workers)
        self._session = self._build_session(retries, backoff, max_wait, sleep)
        self._remember_secrets(self._headers)
        _SECRETS.add(auth[1] if auth else None)
        _guard_library_logs()

    def _build_session(
        self,
        retries: int,
        backoff: float,
        max_wait: float,
        sleep: Callable[[float], None],
    ) -> requests.Session:
        retry = _PacedRetry(
            total=retries,
            connect=retries,
            read=retries,
            status=retries,
            backoff_factor=backoff,
            status_forcelist=RETRY_STATUSES,
            allowed_methods=frozenset({"GET"}),
            respect_retry_after_header=True,
            raise_on_status=False,
            retry_after_max=int(max_wait),
            sleeper=sleep,
        )
        adapter = HTTPAdapter(
            max_retries=retry,
            pool_connections=self.max_workers,
            pool_maxsize=self.max_workers,
        )
        session = requests.Session()
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        return session

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close pooled connections."""
        self._session.close()

    def get(self, path: str, params: Mapping[str, str] | None = None) -> HttpResponse:
        """GET ``path`` (relative to the base URL); raise ``HttpError`` unless 2xx."""
        url = f"{self.base_url}/{path.lstrip('/')}"
        with self._slots:
            response = self._send(url, params)
            if response.status_code == 401 and self._refresh is not None:
                LOG.info("source=%s status=401 action=refresh-credentials", self.source)
                self._apply_refresh()
                response = self._send(url, params)
        shown = redact(response.url)
        if not 200 <= response.status_code < 300:
            raise HttpError(
                f"GET {shown} returned HTTP {response.status_code} "
                f"{response.reason}; expected 200",
                source=self.source,
                url=shown,
                status=response.status_code,
            )
        return HttpResponse(
            shown, response.status_code, response.headers, response.content, self.source
        )

    def get_json(
        self, path: str, params: Mapping[str, str] | None = None
    ) -> tuple[Any, Mapping[str, str]]:
        """GET ``path`` and return the parsed JSON body and the response headers."""
        response = self.get(path, params)
        return response.json(), response.headers

    def map(self, func: Callable[[T], R], items: Iterable[T]) -> list[R]:
        """Run ``func`` over ``items`` on up to ``max_workers`` threads, in order."""
        pool = ThreadPoolExecutor(
            max_workers=self.max_workers, thread_name_prefix=f"fetch-{self.source}"
        )
        try:
            return list(pool.map(func, items))
        finally:
            # On an error, drop the calls not yet started instead of running
            # them all against a server that is already known to be failing.
            pool.shutdown(wait=True, cancel_futures=True)

    def _send(self, url: str, params: Mapping[str, str] | None) -> requests.Response:
        started = time.monotonic()
        try:
            response = self._session.get(
                url,
                params=params,
                headers=self._current_headers(),
                auth=self._auth,
                timeout=self._timeout,
                allow_redirects=False,  # a redirect would carry the API key along
            )
        except requests.RequestException as err:
            shown = redact(url)
            LOG.debug(
                "method=GET url=%s status=none elapsed=%.2fs error=%s",
                shown,
                time.monotonic() - started,
                type(err).__name__,
            )
            raise HttpError(
                f"GET {shown} got no usable response: {redact(str(err))}",
                source=self.source,
                url=shown,
                status=None,
            ) from err
        self.answered = True
        LOG.debug(
            "method=%s url=%s status=%d elapsed=%.2fs",
            "GET",
            redact(response.url),
            response.status_code,
            time.monotonic() - started,
        )
        return response

    def _current_headers(self) -> dict[str, str]:
        with self._lock:
            return dict(self._headers)

    def _apply_refresh(self) -> None:
        if self._refresh is None:
            return
        fresh = self._refresh()
        self._remember_secrets(fresh)
        with self._lock:
            self._headers.update(fresh)

    @staticmethod
    def _remember_secrets(headers: Mapping[str, str]) -> None:
        for name, value in headers.items():
            if name.lower() in SECRET_HEADERS:
                _SECRETS.add(value)
                _SECRETS.add(value.partition(" ")[2])  # the token after "Bearer "


# ---------------------------------------------------------------------------- config


def check_api_url(value: str) -> str:
    """Accept an https:// base URL (http only on loopback) that holds no credentials.

    Credentials or a query in the URL would be shown wherever the source's location
    is (logs, reports), so they are refused; secrets go in ``{env: NAME}`` settings.
    """
    parts = urlsplit(value)
    if parts.username is not None or parts.password is not None or parts.query:
        raise ValueError(
            "the url must not hold a user name, password or query; give "
            "credentials as {env: NAME} settings"
        )
    loopback = parts.scheme == "http" and parts.hostname in _LOOPBACK
    if not (parts.scheme == "https" or loopback) or not parts.hostname:
        raise ValueError("the url must be https:// (plain http only for localhost)")
    return value.rstrip("/")


class ApiSource(BaseModel):
    """Settings every live API source shares: where it is and how hard to push it."""

    model_config = ConfigDict(extra="forbid", strict=False, frozen=True)

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    url: str
    max_workers: int = Field(default=4, ge=1, le=32)
    connect_timeout: float = Field(default=5, gt=0, le=300)
    read_timeout: float = Field(default=60, gt=0, le=3600)
    retries: int = Field(default=5, ge=0, le=20)
    backoff: float = Field(default=0.5, ge=0, le=60)
    max_wait: float = Field(default=300, ge=1, le=3600)

    @field_validator("url")
    @classmethod
    def _https(cls, value: str) -> str:
        return check_api_url(value)

    def client_settings(self) -> dict[str, Any]:
        """Keyword arguments for ``HttpClient`` taken from these settings."""
        return {
            "source": self.name,
            "timeout": (self.connect_timeout, self.read_timeout),
            "retries": self.retries,
            "backoff": self.backoff,
            "max_workers": self.max_workers,
            "max_wait": self.max_wait,
        }


# ---------------------------------------------------------------------- fetch report


@dataclass
class ResourceFetch:
    """What was fetched for one resource: pages, records, the claimed count, gaps."""

    name: str
    status: SourceStatus = SourceStatus.COMPLETE
    pages: int = 0
    records: int = 0  # items (and archive lines) received, duplicates included
    unique: int = 0  # distinct record ids among the paged items
    expected: int | None = None  # what the server claimed (TotalResults, ...)
    files: list[str] = field(default_factory=list)  # relative to the destination
    problems: list[str] = field(default_factory=list)  # gaps: resource incomplete
    notes: list[str] = field(default_factory=list)  # facts that are not gaps

    def mark_incomplete(self, reason: str) -> None:
        """Record a gap; the resource can no longer read as complete."""
        if self.status is SourceStatus.COMPLETE:
            self.status = SourceStatus.INCOMPLETE
        self.problems.append(reason)

    def absorb(self, other: ResourceFetch) -> None:
        """Add the result of another query for the same resource (another space)."""
        self.pages += other.pages
        self.records += other.records
        self.unique += other.unique
        if self.expected is None or other.expected is None:
            self.expected = None
        else:
            self.expected += other.expected
        self.files.extend(other.files)
        self.notes.extend(other.notes)
        for problem in other.problems:
            self.mark_incomplete(problem)


@dataclass
class FetchReport:
    """Everything one live fetch wrote, per resource, with every known gap."""

    source: str
    location: str
    window: tuple[str, str]  # canonical UTC, end exclusive
    resources: dict[str, ResourceFetch] = field(default_factory=dict)

    def add(self, fetch: ResourceFetch) -> None:
        """Merge a query's result into its resource."""
        current = self.resources.get(fetch.name)
        if current is None:
            self.resources[fetch.name] = fetch
        else:
            current.absorb(fetch)

    @property
    def status(self) -> SourceStatus:
        """COMPLETE only when every resource was fetched without a gap."""
        if all(r.status is SourceStatus.COMPLETE for r in self.resources.values()):
            return SourceStatus.COMPLETE
        return SourceStatus.INCOMPLETE

    @property
    def pages(self) -> int:
        """Pages written across all resources."""
        return sum(resource.pages for resource in self.resources.values())

    def problems(self) -> list[str]:
        """Every gap, prefixed with its resource."""
        return [
            f"{name}: {problem}"
            for name, resource in self.resources.items()
            for problem in resource.problems
        ]

    def to_dict(self) -> dict[str, Any]:
        """Return plain JSON-ready data (for a fetch log beside the evidence)."""
        return asdict(self)


def apply_fetch_report(report: FetchReport, data: SourceData) -> None:
    """Carry the fetch's gaps into what the export reader made of the same folder.

    The reader sees only the pages; a count the server sent in a header, or a
    page that never arrived after the last one written, is known only to the
    fetch. Every gap of a resource the reader knows marks it incomplete; a gap
    of a resource it does not read marks the whole source incomplete.
    """
    for name, fetch in report.resources.items():
        resource = data.resources.get(name)
        if (
            resource is not None
            and fetch.problems
            and (resource.status is SourceStatus.MISSING)
        ):
            # Not absent but refused or broken (a 403, a 5xx): a gap, not "optional
            # and not there", so the policies that need it cannot pass as out of scope.
            resource.status = SourceStatus.FAILED
        for problem in fetch.problems:
            if resource is not None:
                resource.mark_incomplete(f"live fetch: {problem}")
            elif data.status is SourceStatus.COMPLETE:
                data.status = SourceStatus.INCOMPLETE
                data.error = f"live fetch of {name}: {problem}"


# ----------------------------------------------------------------------------- paging


@dataclass(frozen=True)
class PagedQuery:
    """One offset-paged collection to fetch and write as page files."""

    resource: str  # folder under the destination, e.g. "deployments"
    prefix: str  # page file prefix, e.g. "Spaces-1" -> Spaces-1.page-0001.json
    path: str
    params: Mapping[str, str]
    offset_param: str
    limit_param: str
    page_size: int
    items: Callable[[Any], list[Any] | None]  # None: not a page of this API
    total: Callable[[Any, Mapping[str, str]], int | None]
    key: Callable[[Any], str | None]
    total_name: str  # how the API calls its count, for messages
    optional: bool = False  # a 404 on the first page means "not on this server"


@dataclass
class _Progress:
    fetch: ResourceFetch
    offset: int = 0
    totals: list[int] = field(default_factory=list)
    ids: set[str] = field(default_factory=set)


def fetch_pages(
    client: HttpClient, dest: Path, query: PagedQuery
) -> tuple[ResourceFetch, set[str]]:
    """Fetch every page of a query, write each as received, and check the count.

    Paging advances the offset by the number of items actually returned and stops
    on an empty page, when the claimed total is reached, or on a short page when
    there is no total. A failure part-way keeps the pages written and marks the
    resource incomplete. Only a first call that gets no response at all, before
    this client has heard from the server, raises ``CollectionError``.

    Known shortcoming: once a server stops answering part-way, every resource
    still to come waits out its own timeouts and retries before it is marked
    incomplete, so a dead server makes a slow (but honest) fetch.
    """
    progress = _Progress(ResourceFetch(query.resource))
    where = f"{query.path} ({query.prefix})"
    try:
        _page_through(client, dest, query, progress)
    except HttpError as err:
        if err.status is None and not client.answered:
            raise CollectionError(
                f"nothing could be fetched: {err.reason}", source=client.source
            ) from err
        if err.status == 404 and query.optional and not progress.fetch.pages:
            progress.fetch.notes.append(
                f"{where}: HTTP 404, this server does not offer it (optional)"
            )
            return progress.fetch, progress.ids
        progress.fetch.mark_incomplete(
            f"{where}: stopped after {progress.fetch.pages} page(s) at offset "
            f"{progress.offset}: {err.reason}"
        )
        return progress.fetch, progress.ids
    _check_count(query, progress, where)
    return progress.fetch, progress.ids


def _page_through(
    client: HttpClient, dest: Path, query: PagedQuery, progress: _Progress
) -> None:
    while True:
        params = {
            **query.params,
            query.offset_param: str(progress.offset),
            query.limit_param: str(query.page_size),
        }
        response = client.get(query.path, params)
        body = response.json()
        items = query.items(body)
        if items is None:
            raise HttpError(
                f"GET {response.url} is not a page of this API; expected a "
                f"collection with {query.total_name}",
                source=client.source,
                url=response.url,
                status=response.status,
            )
        _write_page(dest, query, progress.fetch, response.body)
        new = _count(query, progress, items)
        total = query.total(body, response.headers)
        if total is not None:
            progress.totals.append(total)
        if _last_page(query, progress, items, total, new):
            return


def _count(query: PagedQuery, progress: _Progress, items: list[Any]) -> int:
    before = len(progress.ids)
    for item in items:
        key = query.key(item)
        if key is not None:
            progress.ids.add(key)
    progress.fetch.records += len(items)
    progress.fetch.unique = len(progress.ids)
    progress.offset += len(items)
    return len(progress.ids) - before


def _last_page(
    query: PagedQuery,
    progress: _Progress,
    items: list[Any],
    total: int | None,
    new: int,
) -> bool:
    if not items:
        return True
    if total is not None and progress.offset >= total:
        return True
    if total is None and len(items) < query.page_size:
        return True
    if new == 0:
        # A full page of records already seen: the server ignores the offset, so
        # paging on would never end. Stop and report it as a gap.
        progress.fetch.mark_incomplete(
            f"{query.path} ({query.prefix}): page {progress.fetch.pages} held only "
            f"records already fetched at offset {progress.offset - len(items)}; "
            "stopped paging"
        )
        return True
    return False


def _check_count(query: PagedQuery, progress: _Progress, where: str) -> None:
    fetch = progress.fetch
    duplicates = fetch.records - fetch.unique
    if duplicates:
        fetch.notes.append(f"{where}: {duplicates} duplicate record(s) across pages")
    if not progress.totals:
        fetch.mark_incomplete(
            f"{where}: the server sent no {query.total_name}, so the "
            f"{fetch.unique} record(s) fetched cannot be confirmed complete"
        )
        return
    fetch.expected = progress.totals[-1]
    if len(set(progress.totals)) > 1:
        fetch.notes.append(
            f"{where}: {query.total_name} changed while paging: "
            f"{', '.join(str(t) for t in progress.totals)}"
        )
    if fetch.unique != fetch.expected:
        fetch.mark_incomplete(
            f"{where}: {query.total_name} is {fetch.expected} but "
            f"{fetch.unique} distinct record(s) were fetched"
        )


def _write_page(
    dest: Path, query: PagedQuery, fetch: ResourceFetch, body: bytes
) -> None:
    fetch.pages += 1
    relative = f"{query.resource}/{query.prefix}.page-{fetch.pages:04d}.json"
    write_file(dest, relative, body)
    fetch.files.append(relative)


# ------------------------------------------------------------------------------ files


PageListener = Callable[[Path, str], None]
_page_listeners: list[PageListener] = []


@contextmanager
def page_listener(listener: PageListener) -> Iterator[None]:
    """Call ``listener(dest, relative path)`` for every page a live fetch writes.

    The CLI uses it for its progress bars; nothing else depends on it.
    """
    _page_listeners.append(listener)
    try:
        yield
    finally:
        _page_listeners.remove(listener)


def write_file(dest: Path, relative: str, body: bytes) -> None:
    """Write bytes under ``dest`` atomically, so a crash leaves no half page."""
    target = dest / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".part")
    partial.write_bytes(body)
    os.replace(partial, target)
    for listener in tuple(_page_listeners):
        listener(dest, relative)


def safe_name(value: str) -> bool:
    """True when ``value`` can be used as a file name part (no path tricks)."""
    return bool(_SAFE_NAME.fullmatch(value)) and ".." not in value


def prepare_destination(dest: Path, source: str) -> None:
    """Create an empty destination; refuse one that already holds files."""
    if dest.exists() and any(dest.iterdir()):
        raise CollectionError(
            f"destination {dest} is not empty; a live fetch writes into an empty "
            "folder so that no page from an earlier fetch is mixed in",
            source=source,
        )
    dest.mkdir(parents=True, exist_ok=True)


def check_window(window: tuple[datetime, datetime]) -> tuple[datetime, datetime]:
    """Return the window as UTC; raise ``ConfigError`` unless aware and ordered."""
    start, end = window
    if start.tzinfo is None or end.tzinfo is None:
        raise ConfigError("the fetch window must be time-zone aware datetimes")
    if not start < end:
        raise ConfigError(f"the fetch window start {start} is not before its end {end}")
    return start.astimezone(UTC), end.astimezone(UTC)


def window_strings(window: tuple[datetime, datetime]) -> tuple[str, str]:
    """Render a UTC window in the canonical form used by reports."""
    return to_canonical(window[0]), to_canonical(window[1])


def log_fetch(report: FetchReport, kind: str, started: float) -> None:
    """Write the one INFO line of a finished fetch, with counts and time."""
    LOG.info(
        "source=%s type=%s status=%s pages=%d problems=%d elapsed=%.2fs",
        report.source,
        kind,
        report.status,
        report.pages,
        len(report.problems()),
        time.monotonic() - started,
    )


def require_some_pages(report: FetchReport) -> None:
    """Raise ``CollectionError`` when not a single page could be fetched."""
    if report.pages:
        return
    problems = report.problems()
    detail = "; ".join(problems[:3]) or "no resource returned a page"
    raise CollectionError(f"nothing could be fetched: {detail}", source=report.source)
