"""Helpers for the all-five-live-sources run: one local server, moto, one config.

One pytest-httpserver answers for four systems, routed by path prefix: `/api/now/`
is ServiceNow, `/rest/` is JSM, `/apis/` is the Kubernetes API server and any other
`/api/` is Octopus. AWS IAM is moto, in-process.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import yaml
from moto.iam.models import iam_backends
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from api_simulator import OCTOPUS_KEY, OctopusSimulator, ServiceNowSimulator
from evidencekit.collectors.kubernetes_live import API_ROOT
from test_jsm_live import API_TOKEN as JSM_TOKEN
from test_jsm_live import EMAIL as JSM_EMAIL
from test_jsm_live import FakeSite

SAMPLE = Path(__file__).resolve().parents[1] / "examples" / "harbourline"
K8S_DATA = Path(__file__).parent / "data" / "live_all" / "kubernetes"

SNOW_USER = "evidence.reader"
SNOW_PASSWORD = "s3cret-Passw0rd-live-all"
KUBE_TOKEN = "eyJhbGciOiJSUzI1NiIsImtpZCI6ImxpdmUtYWxsIn0.live-all-kube-token-77"
AWS_ACCOUNT = "123456789012"  # the account moto's default credentials belong to
CLUSTER = "payments-prod"
RAFAEL = "rafael.quenby@harbourline.example"  # Octopus Users-2, an administrator
SECRETS = (OCTOPUS_KEY, SNOW_PASSWORD, JSM_TOKEN, KUBE_TOKEN)

K8S_CONTINUE = json.loads((K8S_DATA / "clusterroles-page-1.json").read_text())[
    "metadata"
]["continue"]
K8S_PAGES = {
    ("clusterroles", ""): "clusterroles-page-1.json",
    ("clusterroles", K8S_CONTINUE): "clusterroles-page-2.json",
    ("clusterrolebindings", ""): "clusterrolebindings.json",
    ("roles", ""): "roles.json",
    ("rolebindings", ""): "rolebindings.json",
}

Hook = Callable[[Request], Response | None]


class KubeApi:
    """The four RBAC lists by resource and ``continue``; bearer token checked."""

    def __init__(self, hook: Hook | None = None) -> None:
        self.hook = hook
        self.requests: list[Request] = []

    def __call__(self, request: Request) -> Response:
        self.requests.append(request)
        if request.headers.get("Authorization") != f"Bearer {KUBE_TOKEN}":
            return Response('{"kind": "Status", "code": 401}', 401)
        if self.hook is not None:
            answer = self.hook(request)
            if answer is not None:
                return answer
        resource = request.path.removeprefix(f"{API_ROOT}/")
        name = K8S_PAGES.get((resource, request.args.get("continue", "")))
        if name is None:
            return Response('{"kind": "Status", "code": 404}', 404)
        body = (K8S_DATA / name).read_bytes()
        return Response(body, 200, content_type="application/json")


class Servers:
    """The four HTTP simulators behind one pytest-httpserver."""

    def __init__(
        self,
        server: HTTPServer,
        jsm_hook: Hook | None = None,
        kube_hook: Hook | None = None,
    ) -> None:
        self.octopus = OctopusSimulator(SAMPLE / "exports" / "octopus")
        self.servicenow = ServiceNowSimulator(
            SAMPLE / "exports" / "servicenow", SNOW_USER, SNOW_PASSWORD
        )
        self.jsm = FakeSite(jsm_hook)
        self.kube = KubeApi(kube_hook)
        # The most specific patterns first: /api/now/ before the Octopus /api/.
        server.expect_request(re.compile("^/api/now/")).respond_with_handler(
            self.servicenow
        )
        server.expect_request(re.compile("^/rest/")).respond_with_handler(self.jsm)
        server.expect_request(re.compile("^/apis/")).respond_with_handler(self.kube)
        server.expect_request(re.compile("^/api/")).respond_with_handler(self.octopus)


def populate_iam() -> dict[str, str]:
    """Plant IAM findings in moto's default account; returns role -> user name.

    - ``alice-console`` signs in with a password and has no MFA device;
    - ``bob-admin`` has AdministratorAccess and an ``email`` tag naming Rafael
      Quenby, who is also an Octopus administrator and a Kubernetes User;
    - ``carol-ci`` has an access key issued (and the user created) in 2025 and
      never used, and is a member of the ``deployers`` group;
    - ``octopus-deployer`` is a role for ECS tasks with an inline deploy policy.
    """
    iam = boto3.client("iam", region_name="us-east-1")
    iam.create_user(UserName="alice-console")
    iam.create_login_profile(UserName="alice-console", Password="Pw-not-a-secret-1!")
    iam.create_user(
        UserName="bob-admin", Tags=[{"Key": "email", "Value": RAFAEL.upper()}]
    )
    iam.attach_user_policy(
        UserName="bob-admin",
        PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess",
    )
    iam.create_user(UserName="carol-ci")
    iam.create_access_key(UserName="carol-ci")
    iam.create_group(GroupName="deployers")
    iam.put_group_policy(
        GroupName="deployers",
        PolicyName="deploy-ecs",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": ["ecs:UpdateService", "ecs:RegisterTaskDefinition"],
                        "Resource": "*",
                    }
                ],
            }
        ),
    )
    iam.add_user_to_group(GroupName="deployers", UserName="carol-ci")
    iam.create_role(
        RoleName="octopus-deployer",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "ecs-tasks.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
        ),
    )
    iam.put_role_policy(
        RoleName="octopus-deployer",
        PolicyName="deploy-ecs",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Action": "ecs:UpdateService", "Resource": "*"}
                ],
            }
        ),
    )
    # moto stamps keys and users with the current time; backdate carol's key (and
    # her user, from which a never-used key is also aged) into 2025.
    backend = iam_backends[AWS_ACCOUNT]["global"]
    old = datetime(2025, 1, 6, 9, 30, tzinfo=UTC).replace(tzinfo=None)
    carol = backend.users["carol-ci"]
    carol.create_date = old
    carol.access_keys[0].create_date = old
    return {"console": "alice-console", "admin": "bob-admin", "old_key": "carol-ci"}


def write_config(tmp_path: Path, server: HTTPServer, kubeconfig: Path) -> Path:
    """The Harbourline config with all five sources live, store under tmp_path."""
    config = yaml.safe_load((SAMPLE / "evidencekit.yaml").read_text("utf-8"))
    base = server.url_for("/").rstrip("/")
    config["store"] = str(tmp_path / "store")
    config["sources"] = [
        {
            "name": "octopus",
            "type": "octopus",
            "url": base,
            "api_key": {"env": "EK_LIVE_OCTOPUS_KEY"},
            "page_size": 50,
            "retries": 1,
            "backoff": 0,
        },
        {
            "name": "servicenow",
            "type": "servicenow",
            "url": base,
            "username": SNOW_USER,
            "password": {"env": "EK_LIVE_SNOW_PASSWORD"},
            "page_size": 25,
            "retries": 1,
            "backoff": 0,
        },
        {
            "name": "jsm",
            "type": "jsm",
            "url": base,
            "email": JSM_EMAIL,
            "api_token": {"env": "EK_LIVE_JSM_TOKEN"},
            "service_desks": ["10"],
            "request_types": ["27"],
            "planned_start_field": "customfield_10040",
            "planned_end_field": "customfield_10041",
            "retries": 1,
            "backoff": 0,
            "max_workers": 1,
        },
        {
            "name": "aws",
            "type": "aws",
            "accounts": [{"id": AWS_ACCOUNT, "region": "us-east-1"}],
        },
        {
            "name": "kubernetes",
            "type": "kubernetes",
            "kubeconfig": str(kubeconfig),
            "cluster": CLUSTER,
        },
    ]
    path = tmp_path / "live-all.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def write_kubeconfig(tmp_path: Path, server: HTTPServer) -> Path:
    document = {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": "collector",
        "clusters": [
            {"name": CLUSTER, "cluster": {"server": server.url_for("/").rstrip("/")}}
        ],
        "users": [{"name": "evidence", "user": {"token": KUBE_TOKEN}}],
        "contexts": [
            {"name": "collector", "context": {"cluster": CLUSTER, "user": "evidence"}}
        ],
    }
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return path


def set_secrets(monkeypatch: Any, tmp_path: Path) -> None:
    """Secrets in the environment; fake AWS credentials and no shared AWS files."""
    monkeypatch.setenv("EK_LIVE_OCTOPUS_KEY", OCTOPUS_KEY)
    monkeypatch.setenv("EK_LIVE_SNOW_PASSWORD", SNOW_PASSWORD)
    monkeypatch.setenv("EK_LIVE_JSM_TOKEN", JSM_TOKEN)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-creds"))
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    # moto only knows AWS managed policies (AdministratorAccess) when asked to.
    monkeypatch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
