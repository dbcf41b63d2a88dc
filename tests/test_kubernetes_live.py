"""The live Kubernetes fetcher against a local server replaying API list pages."""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import json
import re
import ssl
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from evidencekit.collectors.http import apply_fetch_report
from evidencekit.collectors.kubernetes_live import (
    API_ROOT,
    fetch_kubernetes,
    load_kubeconfig,
)
from evidencekit.collectors.kubernetes_rbac import KubernetesRbacCollector
from evidencekit.errors import CollectionError, ConfigError
from evidencekit.results import SourceStatus

DATA = Path(__file__).parent / "data" / "kubernetes" / "live"
TOKEN = "eyJhbGciOiJSUzI1NiIsImtpZCI6ImV2aWRlbmNlIn0.collector-token-0001"
CONTINUE = json.loads((DATA / "clusterroles-page-1.json").read_text())["metadata"][
    "continue"
]
# (list path, continue token) -> recorded page
PAGES = {
    ("clusterroles", ""): "clusterroles-page-1.json",
    ("clusterroles", CONTINUE): "clusterroles-page-2.json",
    ("clusterrolebindings", ""): "clusterrolebindings.json",
    ("roles", ""): "roles.json",
    ("rolebindings", ""): "rolebindings.json",
}


class FakeApiServer:
    """Serve recorded list pages by resource and ``continue``; record requests."""

    def __init__(self, failures: dict[tuple[str, str], Callable[[], Response]]):
        self.failures = failures
        self.requests: list[Request] = []
        self.token = TOKEN

    def __call__(self, request: Request) -> Response:
        self.requests.append(request)
        if request.headers.get("Authorization", f"Bearer {self.token}") != (
            f"Bearer {self.token}"
        ):
            return Response('{"kind": "Status", "code": 401}', 401)
        resource = request.path.removeprefix(f"{API_ROOT}/")
        key = (resource, request.args.get("continue", ""))
        if key in self.failures:
            return self.failures[key]()
        name = PAGES.get(key)
        if name is None:
            return Response('{"kind": "Status", "code": 404}', 404)
        return Response(recorded(name), 200, content_type="application/json")


def recorded(name: str) -> bytes:
    return (DATA / name).read_bytes()


def status(name: str, code: int) -> Callable[[], Response]:
    return lambda: Response(recorded(name), code, content_type="application/json")


def serve(
    server: HTTPServer,
    failures: dict[tuple[str, str], Callable[[], Response]] | None = None,
) -> FakeApiServer:
    fake = FakeApiServer(failures or {})
    server.expect_request(re.compile(f"^{API_ROOT}/")).respond_with_handler(fake)
    return fake


def kubeconfig(
    tmp_path: Path,
    server: str,
    user: dict[str, Any] | None = None,
    cluster: dict[str, Any] | None = None,
) -> Path:
    """Write a kubeconfig with a current context 'collector' and a spare one."""
    document = {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": "collector",
        "clusters": [
            {"name": "prod", "cluster": {"server": server, **(cluster or {})}},
            {"name": "other", "cluster": {"server": "https://10.0.0.1:6443"}},
        ],
        "users": [
            {
                "name": "evidence",
                "user": user if user is not None else {"token": TOKEN},
            },
            {"name": "oidc", "user": {"exec": {"command": "kubelogin"}}},
        ],
        "contexts": [
            {"name": "collector", "context": {"cluster": "prod", "user": "evidence"}},
            {"name": "sso", "context": {"cluster": "other", "user": "oidc"}},
        ],
    }
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return path


def fetch(config: Path, dest: Path, page_size: int = 2, **options: Any):
    return fetch_kubernetes(
        dest,
        kubeconfig=config,
        source="prod-k8s",
        page_size=page_size,
        retries=0,
        backoff=0,
        sleep=lambda seconds: None,
        **options,
    )


@pytest.fixture
def config(tmp_path: Path, httpserver: HTTPServer) -> Path:
    return kubeconfig(tmp_path, httpserver.url_for("/").rstrip("/"))


# -------------------------------------------------------------------------- fetch


def test_fetch_writes_each_page_as_received_and_reads_back(
    httpserver: HTTPServer, config: Path, tmp_path: Path
) -> None:
    fake = serve(httpserver)
    dest = tmp_path / "out"

    report = fetch(config, dest)

    assert report.status is SourceStatus.COMPLETE
    assert report.resources["clusterroles"].files == [
        "clusterroles/page-0001.json",
        "clusterroles/page-0002.json",
    ]
    assert (dest / "clusterroles" / "page-0002.json").read_bytes() == recorded(
        "clusterroles-page-2.json"
    )
    assert report.resources["clusterroles"].expected == 4
    assert [
        r.args.get("continue")
        for r in fake.requests
        if r.path.endswith("/clusterroles")
    ] == [None, CONTINUE]
    assert all(r.args["limit"] == "2" for r in fake.requests)
    assert {r.headers["Authorization"] for r in fake.requests} == {f"Bearer {TOKEN}"}

    data = KubernetesRbacCollector().read(dest, "prod-k8s")
    apply_fetch_report(report, data)
    assert data.overall_status() is SourceStatus.COMPLETE
    assert data.resources["roles"].records == {}  # an empty RoleList is evidence
    oncall = data.resources["grants"].records["Group:oidc:payments-oncall"]
    assert {
        (e["scope"], e["resource"], e["subresource"]) for e in oncall["permissions"]
    } >= {
        ("payments-prod", "pods", "exec"),
        ("payments-prod", "secrets", None),
    }


def test_fetch_refuses_a_folder_that_already_holds_files(
    httpserver: HTTPServer, config: Path, tmp_path: Path
) -> None:
    serve(httpserver)
    dest = tmp_path / "out"
    dest.mkdir()
    (dest / "old.json").write_text("{}", encoding="utf-8")

    with pytest.raises(CollectionError, match="is not empty"):
        fetch(config, dest)


def test_expired_continue_token_marks_the_list_and_grants_incomplete(
    httpserver: HTTPServer, config: Path, tmp_path: Path
) -> None:
    serve(httpserver, {("clusterroles", CONTINUE): status("status-expired.json", 410)})
    dest = tmp_path / "out"

    report = fetch(config, dest)

    clusterroles = report.resources["clusterroles"]
    assert clusterroles.status is SourceStatus.INCOMPLETE
    assert clusterroles.pages == 1
    assert (
        "continue token expired (HTTP 410) after 1 page(s)" in clusterroles.problems[0]
    )
    assert report.resources["grants"].status is SourceStatus.INCOMPLETE

    data = KubernetesRbacCollector().read(dest, "prod-k8s")
    apply_fetch_report(report, data)
    assert data.resources["clusterroles"].status is SourceStatus.INCOMPLETE
    assert data.resources["grants"].status is SourceStatus.INCOMPLETE
    assert data.overall_status() is SourceStatus.INCOMPLETE


def test_forbidden_list_is_a_gap_and_the_other_lists_are_kept(
    httpserver: HTTPServer, config: Path, tmp_path: Path
) -> None:
    serve(httpserver, {("roles", ""): status("status-forbidden.json", 403)})

    report = fetch(config, tmp_path / "out")

    assert report.resources["roles"].status is SourceStatus.INCOMPLETE
    assert "HTTP 403" in report.resources["roles"].problems[0]
    assert report.resources["rolebindings"].status is SourceStatus.COMPLETE
    assert report.resources["clusterroles"].pages == 2


def test_announced_count_that_does_not_add_up_is_a_gap(
    httpserver: HTTPServer, config: Path, tmp_path: Path
) -> None:
    page = json.loads(recorded("clusterroles-page-1.json"))
    page["metadata"]["remainingItemCount"] = 5
    body = json.dumps(page)
    serve(httpserver, {("clusterroles", ""): lambda: Response(body, 200)})

    report = fetch(config, tmp_path / "out")

    assert report.resources["clusterroles"].problems == [
        f"{API_ROOT}/clusterroles: the first page announced 7 object(s) but 4 "
        "distinct object(s) were fetched"
    ]


def test_a_body_that_is_not_the_expected_list_stops_that_list(
    httpserver: HTTPServer, config: Path, tmp_path: Path
) -> None:
    serve(httpserver, {("rolebindings", ""): status("roles.json", 200)})

    report = fetch(config, tmp_path / "out")

    assert report.resources["rolebindings"].problems == [
        f"{API_ROOT}/rolebindings: page 1 is not a RoleBindingList; stopped"
    ]
    assert report.resources["rolebindings"].files == []


def test_a_repeated_continue_token_stops_paging(
    httpserver: HTTPServer, config: Path, tmp_path: Path
) -> None:
    serve(
        httpserver,
        {("clusterroles", CONTINUE): status("clusterroles-page-1.json", 200)},
    )

    report = fetch(config, tmp_path / "out")

    assert report.resources["clusterroles"].pages == 2
    assert (
        "kept sending continue tokens" in report.resources["clusterroles"].problems[0]
    )


def test_a_server_that_never_answers_raises(tmp_path: Path) -> None:
    config = kubeconfig(tmp_path, "http://127.0.0.1:9")

    with pytest.raises(CollectionError, match="nothing could be fetched"):
        fetch(config, tmp_path / "out")


def test_token_file_is_read_again_after_a_401(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("expired-token-0000\n", encoding="utf-8")
    config = kubeconfig(
        tmp_path, httpserver.url_for("/").rstrip("/"), user={"tokenFile": "token"}
    )
    fake = serve(httpserver)
    rotated = {"done": False}
    original = fake.__call__

    def rotate(request: Request) -> Response:
        if not rotated["done"]:
            rotated["done"] = True
            token_file.write_text(TOKEN, encoding="utf-8")  # the kubelet rotates it
        return original(request)

    httpserver.clear()
    httpserver.expect_request(re.compile(f"^{API_ROOT}/")).respond_with_handler(rotate)

    report = fetch(config, tmp_path / "out")

    assert report.status is SourceStatus.COMPLETE
    assert fake.requests[0].headers["Authorization"] == "Bearer expired-token-0000"
    assert fake.requests[1].headers["Authorization"] == f"Bearer {TOKEN}"


# --------------------------------------------------------------------- kubeconfig


def test_current_context_or_the_named_one_is_used(tmp_path: Path) -> None:
    config = kubeconfig(tmp_path, "https://k8s.harbourline.example:6443")

    access = load_kubeconfig(config)

    assert access.context == "collector"
    assert access.server == "https://k8s.harbourline.example:6443"
    assert access.token == TOKEN
    assert TOKEN not in repr(access)
    with pytest.raises(ConfigError, match="exec is not supported"):
        load_kubeconfig(config, "sso")
    with pytest.raises(ConfigError, match="no context named 'staging'"):
        load_kubeconfig(config, "staging")


@pytest.mark.parametrize(
    ("user", "cluster", "message"),
    [
        ({"username": "admin", "password": "x"}, {}, "username, password is not"),
        ({"auth-provider": {"name": "oidc"}}, {}, "auth-provider is not supported"),
        ({"token": TOKEN}, {"insecure-skip-tls-verify": True}, "insecure-skip-tls"),
        ({"client-certificate": "c.pem"}, {}, "no token, tokenFile or client cert"),
        (
            {"token": TOKEN, "client-key-data": "%%%"},
            {},
            "client-key-data is not base64",
        ),
    ],
)
def test_unsupported_or_incomplete_credentials_are_refused(
    tmp_path: Path, user: dict[str, Any], cluster: dict[str, Any], message: str
) -> None:
    config = kubeconfig(tmp_path, "https://10.0.0.1:6443", user=user, cluster=cluster)

    with pytest.raises(ConfigError, match=message):
        load_kubeconfig(config)


def test_plain_http_is_refused_except_on_loopback(tmp_path: Path) -> None:
    config = kubeconfig(tmp_path, "http://k8s.harbourline.example:8080")

    with pytest.raises(ConfigError, match="must be https://"):
        load_kubeconfig(config)


def test_relative_certificate_paths_follow_the_kubeconfig(tmp_path: Path) -> None:
    user = {"client-certificate": "certs/me.crt", "client-key": "/etc/k/me.key"}
    config = kubeconfig(
        tmp_path, "https://10.0.0.1:6443", user, {"certificate-authority": "ca.crt"}
    )

    access = load_kubeconfig(config)

    assert access.ca_file == tmp_path / "ca.crt"
    assert access.cert_file == tmp_path / "certs" / "me.crt"
    assert access.key_file == Path("/etc/k/me.key")


# ------------------------------------------------------------- TLS with client cert


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _certificate(
    subject: str, issuer: tuple[x509.Name, ec.EllipticCurvePrivateKey] | None, **kw: Any
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    issuer_name, issuer_key = issuer or (_name(subject), key)
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=issuer is None, path_length=None), True)
    )
    if kw.get("ip"):
        address = ipaddress.ip_address(kw["ip"])
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(address)]), False
        )
    return builder.sign(issuer_key, hashes.SHA256()), key


def _pem(
    cert: x509.Certificate, key: ec.EllipticCurvePrivateKey
) -> tuple[bytes, bytes]:
    return cert.public_bytes(serialization.Encoding.PEM), key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[HTTPServer, dict[str, bytes]]]:
    """An HTTPS server that requires a client certificate signed by a test CA."""
    ca, ca_key = _certificate("evidencekit test CA", None)
    server_cert, server_key = _certificate(
        "kube-apiserver", (ca.subject, ca_key), ip="127.0.0.1"
    )
    client_cert, client_key = _certificate("evidence-collector", (ca.subject, ca_key))
    ca_pem, _ = _pem(ca, ca_key)
    server_pem, server_key_pem = _pem(server_cert, server_key)
    (tmp_path / "server.crt").write_bytes(server_pem)
    (tmp_path / "server.key").write_bytes(server_key_pem)
    (tmp_path / "ca.crt").write_bytes(ca_pem)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(tmp_path / "server.crt", tmp_path / "server.key")
    context.load_verify_locations(tmp_path / "ca.crt")
    context.verify_mode = ssl.CERT_REQUIRED
    server = HTTPServer(host="127.0.0.1", port=0, ssl_context=context)
    server.start()
    cert_pem, key_pem = _pem(client_cert, client_key)
    try:
        yield server, {"ca": ca_pem, "cert": cert_pem, "key": key_pem}
    finally:
        server.clear()
        if server.is_running():
            server.stop()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def test_client_certificate_and_ca_data_reach_a_tls_server(
    tls_server: tuple[HTTPServer, dict[str, bytes]], tmp_path: Path
) -> None:
    server, pems = tls_server
    fake = serve(server)
    config = kubeconfig(
        tmp_path,
        server.url_for("/").rstrip("/"),
        user={
            "client-certificate-data": b64(pems["cert"]),
            "client-key-data": b64(pems["key"]),
        },
        cluster={"certificate-authority-data": b64(pems["ca"])},
    )

    report = fetch(config, tmp_path / "out")

    assert server.url_for("/").startswith("https://127.0.0.1:")
    assert report.status is SourceStatus.COMPLETE
    assert "Authorization" not in fake.requests[0].headers


def test_a_server_certificate_from_another_ca_is_refused(
    tls_server: tuple[HTTPServer, dict[str, bytes]], tmp_path: Path
) -> None:
    server, pems = tls_server
    serve(server)
    stranger, stranger_key = _certificate("another CA", None)
    config = kubeconfig(
        tmp_path,
        server.url_for("/").rstrip("/"),
        user={
            "client-certificate-data": b64(pems["cert"]),
            "client-key-data": b64(pems["key"]),
        },
        cluster={"certificate-authority-data": b64(_pem(stranger, stranger_key)[0])},
    )

    with pytest.raises(CollectionError, match="nothing could be fetched"):
        fetch(config, tmp_path / "out")
