"""Fetch AWS IAM evidence with boto3 into the export layout, one folder per account.

For each account: optionally assume its role (``sts:AssumeRole`` with a session name
that names evidencekit and the account), check that the credentials really belong to
that account, then write every ``GetAccountAuthorizationDetails`` page as
``<account>/authorization_details/page-0001.json`` ... and the credential report as
``<account>/credential_report.csv`` (the CSV as AWS sent it) with its
``GeneratedTime`` in ``<account>/credential_report.json``. The export reader
(``evidencekit.collectors.aws_iam``) reads the folder afterwards; pass the returned
report to ``apply_fetch_report`` so fetch gaps reach the evidence.

boto3's standard retry mode handles throttling. An account that fails (a role that
cannot be assumed, access denied, a report that never completes) keeps whatever was
written and is marked incomplete with the reason; the other accounts continue.

Known shortcomings: AWS regenerates the credential report at most every four hours
[unverified], so a report generated before the fetch may be reused; its
``GeneratedTime`` (kept in the evidence) says how old it is, but nothing here refuses
a stale one. Each details page holds all four resources, so it is counted once for
each of them in the report's page totals.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from evidencekit.collectors.aws_iam import (
    DETAIL_LISTS,
    DETAILS,
    REPORT_CSV,
    REPORT_META,
    AwsAccount,
    AwsSource,
    decode_policy_document,
)
from evidencekit.collectors.http import (
    FetchReport,
    ResourceFetch,
    log_fetch,
    prepare_destination,
    require_some_pages,
    window_strings,
    write_file,
)
from evidencekit.errors import CollectionError, ConfigError

LOG = logging.getLogger(__name__)

DEFAULT_PAGE_SIZE = 100  # MaxItems per GetAccountAuthorizationDetails call (max 1000)
REPORT_ATTEMPTS = 10  # GenerateCredentialReport calls before giving up
REPORT_INTERVAL = 2.0  # seconds between them
BOTO_CONFIG = Config(retries={"mode": "standard"})
RESOURCES = (*DETAIL_LISTS, "credential_report")
_DOCUMENT_FIELDS = ("PolicyDocument", "AssumeRolePolicyDocument", "Document")

SessionFactory = Callable[..., Any]


@dataclass(frozen=True)
class FetchSettings:
    """How hard to page and how long to wait for a credential report."""

    page_size: int = DEFAULT_PAGE_SIZE
    report_attempts: int = REPORT_ATTEMPTS
    report_interval: float = REPORT_INTERVAL
    sleep: Callable[[float], None] = field(default=time.sleep)

    def __post_init__(self) -> None:
        if not 1 <= self.page_size <= 1000:
            raise ConfigError(f"page_size must be 1 to 1000, not {self.page_size}")
        if self.report_attempts < 1 or self.report_interval < 0:
            raise ConfigError("report_attempts must be >= 1 and report_interval >= 0")


def fetch_source(
    source: AwsSource,
    dest: Path,
    *,
    session_factory: SessionFactory = boto3.Session,
    settings: FetchSettings | None = None,
) -> FetchReport:
    """Fetch every account of a configured AWS source into ``dest``."""
    return fetch_aws(
        dest,
        source.accounts,
        source_name=source.name,
        profile=source.profile,
        session_factory=session_factory,
        settings=settings,
    )


def origin(source: AwsSource) -> str:
    """Where a live AWS source is, for the manifest: its account ids, no credential."""
    return "aws-iam:" + ",".join(account.id for account in source.accounts)


def fetch_aws(
    dest: Path,
    accounts: Sequence[AwsAccount],
    *,
    source_name: str = "aws",
    profile: str | None = None,
    session_factory: SessionFactory = boto3.Session,
    settings: FetchSettings | None = None,
) -> FetchReport:
    """Fetch IAM details and the credential report of each account; report gaps.

    Credentials come from the standard boto3 chain (or ``profile``). Only a fetch
    that writes nothing at all raises ``CollectionError``.
    """
    started, began = time.monotonic(), datetime.now(UTC)
    settings = settings or FetchSettings()
    external_ids = {account.id: _external_id(account) for account in accounts}
    prepare_destination(dest, source_name)
    base = _base_session(session_factory, profile)
    report = FetchReport(source_name, str(dest), window_strings((began, began)))

    for account in accounts:
        fetcher = _AccountFetch(account, dest, settings)
        fetcher.run(base, session_factory, external_ids[account.id])
        for fetch in fetcher.fetches.values():
            report.add(fetch)

    report.window = window_strings((began, datetime.now(UTC)))
    require_some_pages(report)
    log_fetch(report, "aws", started)
    return report


def _external_id(account: AwsAccount) -> str | None:
    """Read the external id before any call, so a missing variable stops the run."""
    return account.external_id.resolve() if account.external_id else None


def _base_session(factory: SessionFactory, profile: str | None) -> Any:
    try:
        return factory(profile_name=profile) if profile else factory()
    except BotoCoreError as err:
        raise ConfigError(f"cannot open AWS profile {profile!r}: {err}") from err


def describe(err: ClientError | BotoCoreError) -> str:
    """Say why an AWS call failed, without the request's credentials."""
    if isinstance(err, ClientError):
        error = err.response.get("Error", {})
        operation = err.operation_name
        return f"{operation}: {error.get('Code', '?')}: {error.get('Message', '')}"
    return f"{type(err).__name__}: {err}"


class _AccountFetch:
    """Fetch one account into ``dest/<account>/``, keeping every gap it meets."""

    def __init__(self, account: AwsAccount, dest: Path, settings: FetchSettings):
        self.account = account
        self.dest = dest
        self.settings = settings
        self.fetches = {name: ResourceFetch(name) for name in RESOURCES}

    def run(self, base: Any, factory: SessionFactory, external_id: str | None) -> None:
        """Open the account's session, then fetch details and the report."""
        try:
            session = self._session(base, factory, external_id)
            iam = session.client(
                "iam", region_name=self.account.region, config=BOTO_CONFIG
            )
        except (ClientError, BotoCoreError) as err:
            self._gap(RESOURCES, f"nothing was fetched: {describe(err)}")
            return
        except CollectionError as err:
            self._gap(RESOURCES, f"nothing was fetched: {err.reason}")
            return
        self._details(iam)
        self._credential_report(iam)
        LOG.debug(
            "fetched account=%s pages=%d users=%d report_rows=%d gaps=%d",
            self.account.id,
            self.fetches["users"].pages,
            self.fetches["users"].records,
            self.fetches["credential_report"].records,
            sum(len(fetch.problems) for fetch in self.fetches.values()),
        )

    def _session(
        self, base: Any, factory: SessionFactory, external_id: str | None
    ) -> Any:
        session = base
        if self.account.role_arn is not None:
            session = factory(**self._assume_role(base, external_id))
        sts = session.client("sts", region_name=self.account.region, config=BOTO_CONFIG)
        identity = sts.get_caller_identity()
        if identity.get("Account") != self.account.id:
            raise CollectionError(
                f"the credentials belong to account {identity.get('Account')}, not "
                f"{self.account.id}",
                source=self.account.id,
            )
        return session

    def _assume_role(self, base: Any, external_id: str | None) -> dict[str, str]:
        sts = base.client("sts", region_name=self.account.region, config=BOTO_CONFIG)
        request = {
            "RoleArn": self.account.role_arn,
            "RoleSessionName": f"evidencekit-{self.account.id}",
        }
        if external_id is not None:
            request["ExternalId"] = external_id
        credentials = sts.assume_role(**request)["Credentials"]
        return {
            "aws_access_key_id": credentials["AccessKeyId"],
            "aws_secret_access_key": credentials["SecretAccessKey"],
            "aws_session_token": credentials["SessionToken"],
            "region_name": self.account.region,
        }

    def _details(self, iam: Any) -> None:
        paginator = iam.get_paginator("get_account_authorization_details")
        pages = paginator.paginate(
            PaginationConfig={"PageSize": self.settings.page_size}
        )
        written = 0
        names: dict[str, set[str]] = {name: set() for name in DETAIL_LISTS}
        try:
            for page in pages:
                written += 1
                self._write_details_page(written, page, names)
        except (ClientError, BotoCoreError) as err:
            self._gap(
                tuple(DETAIL_LISTS),
                f"authorization details stopped after {written} page(s): "
                f"{describe(err)}",
            )

    def _write_details_page(
        self, number: int, page: dict[str, Any], names: dict[str, set[str]]
    ) -> None:
        body = {key: value for key, value in page.items() if key != "ResponseMetadata"}
        relative = f"{self.account.id}/{DETAILS}/page-{number:04d}.json"
        write_file(self.dest, relative, _json_bytes(_decoded(body)))
        for name, (list_key, name_key) in DETAIL_LISTS.items():
            fetch, items = self.fetches[name], body.get(list_key) or []
            fetch.pages += 1
            fetch.records += len(items)
            fetch.files.append(relative)
            names[name].update(str(item.get(name_key)) for item in items)
            fetch.unique = len(names[name])

    def _credential_report(self, iam: Any) -> None:
        fetch = self.fetches["credential_report"]
        try:
            state = self._wait_for_report(iam)
            if state != "COMPLETE":
                self._gap(
                    ("credential_report",),
                    f"the credential report was still {state} after "
                    f"{self.settings.report_attempts} attempt(s); it was not fetched",
                )
                return
            response = iam.get_credential_report()
        except (ClientError, BotoCoreError) as err:
            self._gap(("credential_report",), describe(err))
            return
        content = response.get("Content")
        if not isinstance(content, bytes):
            self._gap(("credential_report",), "the credential report had no content")
            return
        generated = response.get("GeneratedTime")
        meta = {
            "GeneratedTime": _json_default(generated) if generated else None,
            "ReportFormat": response.get("ReportFormat"),
        }
        for name, body in ((REPORT_CSV, content), (REPORT_META, _json_bytes(meta))):
            write_file(self.dest, f"{self.account.id}/{name}", body)
            fetch.files.append(f"{self.account.id}/{name}")
        fetch.pages += 1
        fetch.records = max(len(content.splitlines()) - 1, 0)

    def _wait_for_report(self, iam: Any) -> str:
        state = "NOT STARTED"
        for attempt in range(1, self.settings.report_attempts + 1):
            state = str(iam.generate_credential_report().get("State"))
            if state == "COMPLETE":
                return state
            if attempt < self.settings.report_attempts:
                self.settings.sleep(self.settings.report_interval)
        return state

    def _gap(self, resources: Sequence[str], reason: str) -> None:
        LOG.warning("account=%s gap: %s", self.account.id, reason)
        for name in resources:
            self.fetches[name].mark_incomplete(f"account {self.account.id}: {reason}")


def _decoded(value: Any) -> Any:
    """Turn policy documents that arrived as (URL-encoded) JSON text into objects.

    A document that cannot be decoded is left as it came; the reader reports it.
    """
    if isinstance(value, list):
        return [_decoded(item) for item in value]
    if not isinstance(value, dict):
        return value
    return {key: _decoded_field(key, item) for key, item in value.items()}


def _decoded_field(key: str, item: Any) -> Any:
    if key in _DOCUMENT_FIELDS and isinstance(item, str):
        try:
            return decode_policy_document(item)
        except ValueError:
            LOG.debug("field=%s left undecoded for the reader to report", key)
            return item
    return _decoded(item)


def _json_bytes(body: Any) -> bytes:
    return json.dumps(body, default=_json_default, indent=1).encode("utf-8")


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    raise TypeError(f"cannot write {type(value).__name__} as JSON")
