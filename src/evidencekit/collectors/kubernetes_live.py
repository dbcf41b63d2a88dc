"""Fetch the four RBAC lists from a Kubernetes API server into the export layout.

Each list is paged with ``limit`` and ``continue`` and every page is written exactly
as received (``<resource>/page-0001.json``, a typed list such as
``ClusterRoleList``), so the export reader (``evidencekit.collectors.kubernetes_rbac``)
reads a live fetch and a ``kubectl`` export the same way. The server, its CA and the
credentials come from a kubeconfig file read with PyYAML; the shared HTTP layer
does the retries.

Known shortcomings, each refused with a ``ConfigError`` rather than worked around:

- Only bearer tokens (``token``, ``tokenFile``) and client certificates
  (``client-certificate``/``client-key``, as files or ``-data``) are supported.
  ``exec`` credential plugins (EKS, GKE, AKS, OIDC login helpers), ``auth-provider``,
  basic auth and impersonation (``as``) are not; fetch a token with the cloud CLI
  and put it in a kubeconfig of its own.
- ``insecure-skip-tls-verify``, ``proxy-url`` and ``tls-server-name`` are refused,
  and proxies from the environment are not used: the server must be reached
  directly and its certificate verified.
- One kubeconfig file is read; ``KUBECONFIG`` lists of several files are not merged.
- An expired ``continue`` token (HTTP 410, the list changed for longer than the
  server keeps a snapshot) ends that list, which is reported incomplete; the fetch
  is not restarted.
"""

from __future__ import annotations

import base64
import binascii
import logging
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
import yaml

from evidencekit.collectors.http import (
    FetchReport,
    HttpClient,
    HttpError,
    ResourceFetch,
    log_fetch,
    prepare_destination,
    require_some_pages,
    window_strings,
    write_file,
)
from evidencekit.collectors.kubernetes_rbac import GRANTS, KINDS, RBAC_GROUP
from evidencekit.errors import CollectionError, ConfigError
from evidencekit.results import SourceStatus

logger = logging.getLogger(__name__)

DEFAULT_PAGE_SIZE = 500
MAX_PAGES = 10_000  # a server that never stops sending continue tokens
API_ROOT = f"/apis/{RBAC_GROUP}/v1"
LIST_KIND = {resource: f"{kind}List" for kind, resource in KINDS.items()}
_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
_UNSUPPORTED_USER = ("exec", "auth-provider", "username", "password", "as")
_UNSUPPORTED_CLUSTER = ("insecure-skip-tls-verify", "proxy-url", "tls-server-name")


@dataclass(frozen=True)
class ClusterAccess:
    """How to reach one API server, as a kubeconfig context describes it."""

    context: str
    server: str
    ca_file: Path | None = None
    ca_data: bytes | None = field(default=None, repr=False)
    token: str | None = field(default=None, repr=False)
    token_file: Path | None = None
    cert_file: Path | None = None
    cert_data: bytes | None = field(default=None, repr=False)
    key_file: Path | None = None
    key_data: bytes | None = field(default=None, repr=False)


def load_kubeconfig(path: Path, context: str | None = None) -> ClusterAccess:
    """Read the server, CA and credentials of a context (default: current-context)."""
    document = _read_kubeconfig(path)
    name = context or document.get("current-context")
    if not isinstance(name, str) or not name:
        raise ConfigError(f"kubeconfig {path}: no context given and no current-context")
    entry = _named(document, "contexts", name, path)
    cluster = _named(document, "clusters", entry.get("cluster"), path)
    user_name = entry.get("user")
    user = _named(document, "users", user_name, path) if user_name else {}
    _refuse_unsupported(path, name, cluster, user)
    base = path.parent
    return ClusterAccess(
        context=name,
        server=_server(path, cluster.get("server")),
        ca_file=_path(base, cluster.get("certificate-authority")),
        ca_data=_decoded(path, cluster, "certificate-authority-data"),
        token=_text(user.get("token")),
        token_file=_path(base, user.get("tokenFile")),
        cert_file=_path(base, user.get("client-certificate")),
        cert_data=_decoded(path, user, "client-certificate-data"),
        key_file=_path(base, user.get("client-key")),
        key_data=_decoded(path, user, "client-key-data"),
    )


def _read_kubeconfig(path: Path) -> dict[str, Any]:
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise ConfigError(f"cannot read kubeconfig {path}: {err.strerror}") from err
    except (yaml.YAMLError, UnicodeDecodeError) as err:
        raise ConfigError(f"kubeconfig {path} is not valid YAML: {err}") from err
    if not isinstance(document, dict):
        raise ConfigError(f"kubeconfig {path} must be a mapping (kind: Config)")
    return document


def _named(document: dict[str, Any], section: str, name: Any, path: Path) -> Any:
    """Return the body of the entry called ``name`` in a kubeconfig section."""
    singular = section.removesuffix("s")
    for entry in document.get(section) or []:
        if isinstance(entry, dict) and entry.get("name") == name:
            body = entry.get(singular)
            if isinstance(body, dict):
                return body
            raise ConfigError(f"kubeconfig {path}: {singular} {name!r} has no settings")
    raise ConfigError(f"kubeconfig {path}: no {singular} named {name!r}")


def _refuse_unsupported(
    path: Path, context: str, cluster: dict[str, Any], user: dict[str, Any]
) -> None:
    used = [key for key in _UNSUPPORTED_USER if user.get(key)]
    used += [key for key in _UNSUPPORTED_CLUSTER if cluster.get(key)]
    if used:
        raise ConfigError(
            f"kubeconfig {path}, context {context!r}: {', '.join(used)} is not "
            "supported; use a bearer token or a client certificate, and a server "
            "whose certificate can be verified"
        )
    if not (user.get("token") or user.get("tokenFile") or _has_client_cert(user)):
        raise ConfigError(
            f"kubeconfig {path}, context {context!r}: the user has no token, "
            "tokenFile or client certificate"
        )


def _has_client_cert(user: dict[str, Any]) -> bool:
    cert = user.get("client-certificate") or user.get("client-certificate-data")
    key = user.get("client-key") or user.get("client-key-data")
    return bool(cert and key)


def _server(path: Path, value: Any) -> str:
    parts = urlsplit(value) if isinstance(value, str) else None
    if parts is None or not parts.hostname:
        raise ConfigError(f"kubeconfig {path}: the cluster has no server URL")
    loopback = parts.scheme == "http" and parts.hostname in _LOOPBACK
    if parts.scheme != "https" and not loopback:
        raise ConfigError(
            f"kubeconfig {path}: server {value!r} must be https:// "
            "(plain http only for localhost)"
        )
    return str(value).rstrip("/")


def _path(base: Path, value: Any) -> Path | None:
    if not isinstance(value, str) or not value:
        return None
    path = Path(value).expanduser()
    return path if path.is_absolute() else base / path


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _decoded(path: Path, section: dict[str, Any], key: str) -> bytes | None:
    value = section.get(key)
    if not value:
        return None
    try:
        return base64.b64decode(str(value), validate=True)
    except (binascii.Error, ValueError) as err:
        raise ConfigError(f"kubeconfig {path}: {key} is not base64 ({err})") from err


# ------------------------------------------------------------------------- client


class KubernetesClient(HttpClient):
    """The shared HTTP client with the cluster's CA and client certificate."""

    def __init__(
        self,
        base_url: str,
        *,
        verify: str | bool,
        cert: tuple[str, str] | None,
        **settings: Any,
    ) -> None:
        self._verify = verify
        self._cert = cert
        super().__init__(base_url, **settings)

    def _build_session(
        self,
        retries: int,
        backoff: float,
        max_wait: float,
        sleep: Callable[[float], None],
    ) -> requests.Session:
        session = super()._build_session(retries, backoff, max_wait, sleep)
        session.verify = self._verify
        session.cert = self._cert
        # Environment proxies, CA bundles and .netrc would change whom we talk to
        # and with what credentials; the kubeconfig alone decides.
        session.trust_env = False
        return session


def _tls_files(access: ClusterAccess, workdir: Path) -> tuple[str | bool, Any]:
    """Return requests' ``verify`` and ``cert``, writing inline PEM data to files."""
    verify: str | bool = True
    if access.ca_data is not None:
        verify = str(_private_file(workdir / "ca.crt", access.ca_data))
    elif access.ca_file is not None:
        verify = str(access.ca_file)
    cert_file = access.cert_file
    if access.cert_data is not None:
        cert_file = _private_file(workdir / "client.crt", access.cert_data)
    key_file = access.key_file
    if access.key_data is not None:
        key_file = _private_file(workdir / "client.key", access.key_data)
    cert = (str(cert_file), str(key_file)) if cert_file and key_file else None
    return verify, cert


def _private_file(path: Path, data: bytes) -> Path:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
    return path


def _bearer(access: ClusterAccess) -> Callable[[], dict[str, str]] | None:
    """Return a function giving the Authorization header, re-reading a token file."""
    if access.token is None and access.token_file is None:
        return None

    def headers() -> dict[str, str]:
        token = access.token
        if access.token_file is not None:
            try:
                token = access.token_file.read_text(encoding="utf-8").strip()
            except OSError as err:
                raise ConfigError(
                    f"cannot read tokenFile {access.token_file}: {err.strerror}"
                ) from err
        return {"Authorization": f"Bearer {token}"}

    return headers


# -------------------------------------------------------------------------- fetch


def fetch_kubernetes(
    dest: Path,
    *,
    kubeconfig: Path,
    context: str | None = None,
    source: str = "kubernetes",
    page_size: int = DEFAULT_PAGE_SIZE,
    retries: int = 5,
    backoff: float = 0.5,
    timeout: tuple[float, float] = (5, 60),
    sleep: Callable[[float], None] = time.sleep,
) -> FetchReport:
    """Fetch Roles, ClusterRoles and their bindings into ``dest`` and report gaps.

    A list that fails part-way keeps its pages and is marked incomplete, and so is
    ``grants``, which is derived from all four; only a server that gives nothing
    at all raises ``CollectionError``.
    """
    started = time.monotonic()
    access = load_kubeconfig(kubeconfig, context)
    prepare_destination(dest, source)
    moment = datetime.now(UTC)
    report = FetchReport(source, str(dest), window_strings((moment, moment)))
    with tempfile.TemporaryDirectory(prefix="evidencekit-k8s-") as workdir:
        verify, cert = _tls_files(access, Path(workdir))
        refresh = _bearer(access)
        client = KubernetesClient(
            access.server,
            verify=verify,
            cert=cert,
            source=source,
            headers={"Accept": "application/json", **(refresh() if refresh else {})},
            refresh=refresh,
            retries=retries,
            backoff=backoff,
            timeout=timeout,
            sleep=sleep,
            max_workers=1,
        )
        with client:
            for resource in LIST_KIND:
                report.add(_fetch_list(client, dest, resource, page_size))
    report.add(_grants_fetch(report))
    require_some_pages(report)
    log_fetch(report, "kubernetes", started)
    return report


@dataclass
class _Paging:
    fetch: ResourceFetch
    ids: set[str] = field(default_factory=set)
    token: str | None = None


def _fetch_list(
    client: HttpClient, dest: Path, resource: str, page_size: int
) -> ResourceFetch:
    """Page through one RBAC list and write each page; report every gap."""
    paging = _Paging(ResourceFetch(resource))
    path = f"{API_ROOT}/{resource}"
    try:
        _page_through(client, dest, path, paging, page_size)
    except HttpError as err:
        if err.status is None and not client.answered:
            raise CollectionError(
                f"nothing could be fetched: {err.reason}", source=client.source
            ) from err
        paging.fetch.mark_incomplete(_stopped(path, paging, err))
        return paging.fetch
    _check_count(path, paging.fetch)
    return paging.fetch


def _page_through(
    client: HttpClient, dest: Path, path: str, paging: _Paging, page_size: int
) -> None:
    fetch = paging.fetch
    while True:
        params = {"limit": str(page_size)}
        if paging.token:
            params["continue"] = paging.token
        response = client.get(path, params)
        body = response.json()
        items = _items(body, LIST_KIND[fetch.name])
        if items is None:
            fetch.mark_incomplete(
                f"{path}: page {fetch.pages + 1} is not a {LIST_KIND[fetch.name]}; "
                "stopped"
            )
            return
        fetch.pages += 1
        relative = f"{fetch.name}/page-{fetch.pages:04d}.json"
        write_file(dest, relative, response.body)
        fetch.files.append(relative)
        _count(paging, body, items)
        token = body["metadata"].get("continue") or None
        if not _next_page(path, paging, token):
            return


def _items(body: Any, list_kind: str) -> list[Any] | None:
    if not isinstance(body, dict) or body.get("kind") != list_kind:
        return None
    items = body.get("items")
    if items is None:
        items = []  # the API server sends null for an empty list
    if not isinstance(items, list) or not isinstance(body.get("metadata"), dict):
        return None
    return items


def _count(paging: _Paging, body: dict[str, Any], items: list[Any]) -> None:
    fetch = paging.fetch
    for item in items:
        metadata = item.get("metadata") if isinstance(item, dict) else None
        if isinstance(metadata, dict):
            paging.ids.add(f"{metadata.get('namespace')}/{metadata.get('name')}")
    fetch.records += len(items)
    fetch.unique = len(paging.ids)
    remaining = body["metadata"].get("remainingItemCount")
    if fetch.pages == 1 and isinstance(remaining, int) and remaining >= 0:
        fetch.expected = len(items) + remaining
    elif fetch.pages == 1 and not body["metadata"].get("continue"):
        fetch.expected = len(items)  # one page holds the whole list


def _next_page(path: str, paging: _Paging, token: str | None) -> bool:
    fetch = paging.fetch
    if token is None:
        return False
    if token == paging.token or fetch.pages >= MAX_PAGES:
        fetch.mark_incomplete(
            f"{path}: the server kept sending continue tokens after page "
            f"{fetch.pages}; stopped paging"
        )
        return False
    paging.token = token
    return True


def _stopped(path: str, paging: _Paging, err: HttpError) -> str:
    pages = paging.fetch.pages
    if err.status == 410:
        return (
            f"{path}: the continue token expired (HTTP 410) after {pages} page(s); "
            "the list changed for longer than the server keeps it, so fetch again"
        )
    return f"{path}: stopped after {pages} page(s): {err.reason}"


def _check_count(path: str, fetch: ResourceFetch) -> None:
    duplicates = fetch.records - fetch.unique
    if duplicates:
        fetch.notes.append(f"{path}: {duplicates} duplicate object(s) across pages")
    if fetch.expected is None:
        fetch.notes.append(
            f"{path}: the server sent no remainingItemCount; the list is taken as "
            "complete because its last page had no continue token"
        )
    elif fetch.unique != fetch.expected and fetch.status is SourceStatus.COMPLETE:
        fetch.mark_incomplete(
            f"{path}: the first page announced {fetch.expected} object(s) but "
            f"{fetch.unique} distinct object(s) were fetched"
        )


def _grants_fetch(report: FetchReport) -> ResourceFetch:
    """Carry list gaps to ``grants``, which the reader derives from all four lists."""
    grants = ResourceFetch(GRANTS, expected=0)
    for name in LIST_KIND:
        fetched = report.resources.get(name)
        if fetched is not None and fetched.problems:
            grants.mark_incomplete(
                f"derived from {name}, whose fetch has gaps; subjects may hold "
                "permissions not shown"
            )
    return grants
