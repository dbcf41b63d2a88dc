"""The live AWS IAM fetcher against moto: paging, roles, reports and failures."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError
from moto import mock_aws

from evidencekit.collectors.aws_iam import AwsAccount, AwsIamCollector, AwsSource
from evidencekit.collectors.aws_iam_live import (
    FetchSettings,
    fetch_aws,
    fetch_source,
    origin,
)
from evidencekit.collectors.http import apply_fetch_report
from evidencekit.errors import CollectionError, ConfigError
from evidencekit.results import SourceStatus

HOME = "123456789012"  # the account moto's default credentials belong to
AUDITED = "012345678901"
DENIED = "222233334444"
DETAIL_LISTS = ("UserDetailList", "GroupDetailList", "RoleDetailList", "Policies")
ADMIN_DOCUMENT = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "iam:*", "Resource": "*"}],
}

Handler = Callable[..., Any]


@pytest.fixture(autouse=True)
def aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """Fake credentials and no shared config, so nothing can reach real AWS."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-creds"))
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        yield


class IamPaging:
    """Page moto's one-page GetAccountAuthorizationDetails answer the way IAM does.

    moto ignores ``MaxItems`` and ``Marker`` for this call, so its whole answer is cut
    here into pages of ``MaxItems`` entities, with ``IsTruncated`` and ``Marker``.
    """

    def __init__(self) -> None:
        self.requests: list[tuple[str | None, int]] = []

    def before(self, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        body = params["body"]
        request = (body.get("Marker"), int(body.get("MaxItems", 100)))
        self.requests.append(request)
        context["paging"] = request

    def after(self, parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        marker, size = context["paging"]
        start = int(marker or 0)
        entities = [(key, item) for key in DETAIL_LISTS for item in parsed[key]]
        for key in DETAIL_LISTS:
            parsed[key] = [
                item for k, item in entities[start : start + size] if k == key
            ]
        parsed["IsTruncated"] = start + size < len(entities)
        if parsed["IsTruncated"]:
            parsed["Marker"] = str(start + size)


class Sessions:
    """A session factory: real boto3 sessions with test hooks on every client."""

    def __init__(self, hooks: list[tuple[str, Handler]] | None = None) -> None:
        self.paging = IamPaging()
        self.hooks = [
            ("before-call.iam.GetAccountAuthorizationDetails", self.paging.before),
            ("after-call.iam.GetAccountAuthorizationDetails", self.paging.after),
            *(hooks or []),
        ]
        self.calls: list[dict[str, Any]] = []

    def __call__(self, **kwargs: Any) -> boto3.Session:
        self.calls.append(kwargs)
        session = boto3.Session(**kwargs)
        for event, handler in self.hooks:
            session.events.register(event, handler)
        return session


def iam_in(account: str) -> Any:
    """An IAM client acting in ``account``; moto keeps accounts apart by credentials."""
    if account == HOME:
        return boto3.client("iam")
    credentials = boto3.client("sts").assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/setup", RoleSessionName="setup"
    )["Credentials"]
    return boto3.client(
        "iam",
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )


def populate(account: str, users: int = 7) -> None:
    """Create users, an admin group, a role and a managed policy in one account.

    With four users or more, user-02 gets an access key and user-03 an inline policy.
    """
    iam = iam_in(account)
    arn = iam.create_policy(
        PolicyName="iam-manage", PolicyDocument=json.dumps(ADMIN_DOCUMENT)
    )["Policy"]["Arn"]
    iam.create_group(GroupName="platform-admins")
    iam.attach_group_policy(GroupName="platform-admins", PolicyArn=arn)
    for number in range(users):
        iam.create_user(UserName=f"user-{number:02d}")
    iam.add_user_to_group(GroupName="platform-admins", UserName="user-01")
    if users < 4:
        return
    iam.create_access_key(UserName="user-02")
    iam.put_user_policy(
        UserName="user-03",
        PolicyName="break-glass",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
            }
        ),
    )
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


def settings(**overrides: Any) -> FetchSettings:
    """Small pages and a sleep that returns at once (tests pass their own to count)."""
    chosen: dict[str, Any] = {"page_size": 3, "sleep": lambda seconds: None}
    return FetchSettings(**{**chosen, **overrides})


def fetch(dest: Path, accounts: list[AwsAccount], sessions: Sessions, **kw: Any) -> Any:
    return fetch_aws(dest, accounts, session_factory=sessions, settings=settings(**kw))


def client_error(code: str, operation: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "denied"}}, operation)


def test_fetch_writes_every_page_and_the_reader_gets_every_record(
    tmp_path: Path,
) -> None:
    populate(HOME)
    sessions = Sessions()

    report = fetch(tmp_path / "out", [AwsAccount(id=HOME)], sessions)

    pages = sorted((tmp_path / "out" / HOME / "authorization_details").iterdir())
    assert len(pages) == 4  # 7 users + 1 group + 1 role + 1 policy, 3 per page
    assert [marker for marker, _ in sessions.paging.requests] == [None, "3", "6", "9"]
    assert {size for _, size in sessions.paging.requests} == {3}
    assert report.status is SourceStatus.COMPLETE
    assert report.resources["users"].unique == 7
    data = AwsIamCollector().read(tmp_path / "out", "aws")
    apply_fetch_report(report, data)
    assert data.overall_status() is SourceStatus.COMPLETE
    assert len(data.resources["users"].records) == 7
    assert data.resources["groups"].records[f"{HOME}:platform-admins"]["Members"] == [
        f"{HOME}:user-01"
    ]


def test_pages_are_response_bodies_with_decoded_documents(tmp_path: Path) -> None:
    populate(HOME)

    fetch(tmp_path / "out", [AwsAccount(id=HOME)], Sessions())

    folder = tmp_path / "out" / HOME / "authorization_details"
    first = json.loads((folder / "page-0001.json").read_text())
    assert set(first) == {*DETAIL_LISTS, "IsTruncated", "Marker"}
    assert first["IsTruncated"] is True
    last = json.loads((folder / "page-0004.json").read_text())
    assert last["IsTruncated"] is False
    policy = AwsIamCollector().read(tmp_path / "out", "aws").resources["policies"]
    record = next(iter(policy.records.values()))
    assert record["DefaultDocument"] == ADMIN_DOCUMENT


def test_url_encoded_documents_from_the_api_are_decoded(tmp_path: Path) -> None:
    populate(HOME, users=4)

    def encode(parsed: dict[str, Any], **_: Any) -> None:
        for user in parsed["UserDetailList"]:
            for policy in user["UserPolicyList"]:
                policy["PolicyDocument"] = quote(json.dumps(policy["PolicyDocument"]))

    hooks = [("after-call.iam.GetAccountAuthorizationDetails", encode)]
    fetch(tmp_path / "out", [AwsAccount(id=HOME)], Sessions(hooks), page_size=100)

    page = json.loads(
        (
            tmp_path / "out" / HOME / "authorization_details" / "page-0001.json"
        ).read_text()
    )
    inline = {u["UserName"]: u["UserPolicyList"] for u in page["UserDetailList"]}
    assert inline["user-00"] == []
    assert inline["user-03"][0]["PolicyDocument"]["Statement"][0]["Action"] == "*"
    users = AwsIamCollector().read(tmp_path / "out", "aws").resources["users"]
    assert users.status is SourceStatus.COMPLETE


def test_credential_report_is_polled_until_complete_and_kept_as_sent(
    tmp_path: Path,
) -> None:
    populate(HOME)
    sleeps: list[float] = []

    report = fetch(
        tmp_path / "out", [AwsAccount(id=HOME)], Sessions(), sleep=sleeps.append
    )

    assert sleeps == [2.0]  # moto answers STARTED once, then COMPLETE
    csv_text = (tmp_path / "out" / HOME / "credential_report.csv").read_text()
    assert csv_text.startswith("user,arn,user_creation_time,password_enabled,")
    meta = json.loads((tmp_path / "out" / HOME / "credential_report.json").read_text())
    assert meta == {
        "GeneratedTime": "2015-02-02T20:02:02+00:00",
        "ReportFormat": "text/csv",
    }
    assert report.resources["credential_report"].records == 7
    rows = (
        AwsIamCollector().read(tmp_path / "out", "aws").resources["credential_report"]
    )
    assert rows.records[f"{HOME}:user-02"]["access_key_1_active"] is True
    assert rows.records[f"{HOME}:user-00"]["report_generated_at"] == (
        "2015-02-02T20:02:02.000000Z"
    )


def test_report_that_never_completes_is_a_gap_and_details_are_kept(
    tmp_path: Path,
) -> None:
    populate(HOME)
    sleeps: list[float] = []

    def still_running(**_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        return AWSResponse("https://iam.amazonaws.com/", 200, {}, None), {
            "State": "INPROGRESS"
        }

    hooks = [("before-call.iam.GenerateCredentialReport", still_running)]
    report = fetch(
        tmp_path / "out",
        [AwsAccount(id=HOME)],
        Sessions(hooks),
        sleep=sleeps.append,
        report_attempts=4,
        report_interval=5.0,
    )

    assert sleeps == [5.0, 5.0, 5.0]
    assert report.resources["credential_report"].problems == [
        f"account {HOME}: the credential report was still INPROGRESS after 4 "
        "attempt(s); it was not fetched"
    ]
    assert report.resources["users"].status is SourceStatus.COMPLETE
    data = AwsIamCollector().read(tmp_path / "out", "aws")
    apply_fetch_report(report, data)
    assert (
        data.resources["credential_report"].status is SourceStatus.FAILED
    )  # fetched and refused, not absent
    assert data.resources["users"].status is SourceStatus.COMPLETE
    assert data.overall_status() is SourceStatus.INCOMPLETE


def test_roles_are_assumed_per_account_with_a_named_session(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    populate(HOME, users=2)
    populate(AUDITED, users=4)
    monkeypatch.setenv("AUDIT_EXTERNAL_ID", "harbourline-audit-7f3a")
    assumed: list[dict[str, Any]] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        assumed.append(params["body"])

    accounts = [
        AwsAccount(id=HOME),
        AwsAccount.model_validate(
            {
                "id": AUDITED,
                "role_arn": f"arn:aws:iam::{AUDITED}:role/evidencekit-audit",
                "region": "eu-west-2",
                "external_id": {"env": "AUDIT_EXTERNAL_ID"},
            }
        ),
    ]
    sessions = Sessions([("before-call.sts.AssumeRole", record)])

    report = fetch(tmp_path / "out", accounts, sessions)

    assert [(a["RoleSessionName"], a["ExternalId"]) for a in assumed] == [
        (f"evidencekit-{AUDITED}", "harbourline-audit-7f3a")
    ]
    assert sessions.calls[1]["region_name"] == "eu-west-2"
    assert report.status is SourceStatus.COMPLETE
    users = AwsIamCollector().read(tmp_path / "out", "aws").resources["users"]
    assert sorted(users.records) == [
        *(f"{AUDITED}:user-{n:02d}" for n in range(4)),
        *(f"{HOME}:user-{n:02d}" for n in range(2)),
    ]


def test_access_denied_on_one_account_keeps_the_others(tmp_path: Path) -> None:
    populate(HOME, users=2)

    def deny(params: dict[str, Any], **_: Any) -> None:
        if DENIED in params["body"]["RoleArn"]:
            raise client_error("AccessDenied", "AssumeRole")

    accounts = [
        AwsAccount(id=DENIED, role_arn=f"arn:aws:iam::{DENIED}:role/evidencekit-audit"),
        AwsAccount(id=HOME),
    ]
    report = fetch(
        tmp_path / "out", accounts, Sessions([("before-call.sts.AssumeRole", deny)])
    )

    assert report.resources["roles"].problems == [
        f"account {DENIED}: nothing was fetched: AssumeRole: AccessDenied: denied"
    ]
    assert report.resources["credential_report"].status is SourceStatus.INCOMPLETE
    data = AwsIamCollector().read(tmp_path / "out", "aws")
    apply_fetch_report(report, data)
    assert len(data.resources["users"].records) == 2
    assert data.resources["users"].status is SourceStatus.INCOMPLETE
    assert "live fetch: account 222233334444" in data.resources["users"].warnings[-1]


def test_failure_part_way_keeps_the_pages_already_written(tmp_path: Path) -> None:
    populate(HOME)

    def throttle_second_page(params: dict[str, Any], **_: Any) -> None:
        if params["body"].get("Marker") == "6":
            raise client_error("ServiceFailure", "GetAccountAuthorizationDetails")

    hooks = [("before-call.iam.GetAccountAuthorizationDetails", throttle_second_page)]
    report = fetch(tmp_path / "out", [AwsAccount(id=HOME)], Sessions(hooks))

    assert report.resources["users"].pages == 2
    assert report.resources["policies"].problems == [
        f"account {HOME}: authorization details stopped after 2 page(s): "
        "GetAccountAuthorizationDetails: ServiceFailure: denied"
    ]
    assert report.resources["credential_report"].status is SourceStatus.COMPLETE
    data = AwsIamCollector().read(tmp_path / "out", "aws")
    assert data.resources["users"].status is SourceStatus.INCOMPLETE  # IsTruncated
    assert len(data.resources["users"].records) == 6


def test_credentials_of_another_account_are_refused(tmp_path: Path) -> None:
    populate(HOME, users=2)

    with pytest.raises(CollectionError, match="nothing could be fetched") as caught:
        fetch(tmp_path / "out", [AwsAccount(id="111122223333")], Sessions())

    assert "belong to account 123456789012, not 111122223333" in str(caught.value)
    assert not any((tmp_path / "out").iterdir())


def test_missing_external_id_stops_before_any_call(tmp_path: Path) -> None:
    account = AwsAccount.model_validate(
        {
            "id": AUDITED,
            "role_arn": f"arn:aws:iam::{AUDITED}:role/audit",
            "external_id": {"env": "NOT_SET_ANYWHERE"},
        }
    )
    sessions = Sessions()

    with pytest.raises(ConfigError, match="NOT_SET_ANYWHERE is not set"):
        fetch(tmp_path / "out", [account], sessions)

    assert sessions.calls == []


def test_unknown_profile_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot open AWS profile 'audit'"):
        fetch_aws(tmp_path / "out", [AwsAccount(id=HOME)], profile="audit")


def test_destination_must_be_empty(tmp_path: Path) -> None:
    (tmp_path / "old.json").write_text("{}")

    with pytest.raises(CollectionError, match="is not empty"):
        fetch(tmp_path, [AwsAccount(id=HOME)], Sessions())


def test_fetch_source_uses_the_configured_accounts(tmp_path: Path) -> None:
    populate(HOME, users=2)
    source = AwsSource.model_validate(
        {"name": "aws-prod", "type": "aws", "accounts": [{"id": HOME}]}
    )

    report = fetch_source(
        source, tmp_path / "out", session_factory=Sessions(), settings=settings()
    )

    assert report.source == "aws-prod"
    assert report.resources["users"].unique == 2
    assert report.window[0] <= report.window[1]
    assert origin(source) == f"aws-iam:{HOME}"


@pytest.mark.parametrize(
    "overrides", [{"page_size": 0}, {"page_size": 1001}, {"report_attempts": 0}]
)
def test_fetch_settings_are_checked(overrides: dict[str, Any]) -> None:
    with pytest.raises(ConfigError):
        FetchSettings(**overrides)


def test_access_denied_on_the_report_keeps_the_details(tmp_path: Path) -> None:
    populate(HOME, users=2)

    def deny(**_: Any) -> None:
        raise client_error("AccessDenied", "GenerateCredentialReport")

    hooks = [("before-call.iam.GenerateCredentialReport", deny)]
    report = fetch(tmp_path / "out", [AwsAccount(id=HOME)], Sessions(hooks))

    assert report.resources["credential_report"].problems == [
        f"account {HOME}: GenerateCredentialReport: AccessDenied: denied"
    ]
    assert report.resources["users"].status is SourceStatus.COMPLETE
    assert not (tmp_path / "out" / HOME / "credential_report.csv").exists()
