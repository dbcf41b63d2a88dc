"""Read an AWS IAM export: authorization details and credential report per account.

Layout, one folder per account (named by its 12-digit id, leading zeros kept):
``<account>/authorization_details/page-0001.json ...`` (raw
``GetAccountAuthorizationDetails`` response bodies) or a single
``<account>/authorization_details.json`` (the merged output of ``aws iam
get-account-authorization-details``), plus ``<account>/credential_report.csv`` as AWS
returns it and ``<account>/credential_report.json`` holding its ``GeneratedTime``.

Records are keyed ``<account>:<name>`` (users, groups, roles), ``<account>:<Arn>``
(managed policies) and ``<account>:<user>`` (credential report rows; the root user is
``<root_account>``). Policy documents arrive URL-encoded from the raw API and as
objects from boto3 or the CLI; both become objects. The credential report's sentinel
strings (``N/A``, ``no_information``, ``not_supported``) are kept as they are: they are
facts ("never used", "not recorded"), not missing values.

A list that cannot be read (``AttachedManagedPolicies`` that is not a list, say)
becomes null rather than empty, with a warning, so a policy can tell "unreadable"
from "none"; an absent list counts as empty, as AWS leaves empty members out.

Known shortcomings: the pages hold no record count, so only a last page that still
says ``IsTruncated`` (or a hole in the page numbers) shows that pages are missing; a
live fetch reports the rest. Timestamps nested below the top level of a record
(inside ``InstanceProfileList``) are kept as AWS sent them. Users created after the
credential report was generated are in ``users`` but not in ``credential_report``;
nothing cross-checks the two.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar, Literal
from urllib.parse import unquote

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from evidencekit.collectors._files import (
    FieldProblem,
    ResourceBuilder,
    check_export_folder,
    find_resource_files,
    iter_csv_rows,
    page_of,
    preview,
    read_json,
    relative_name,
)
from evidencekit.collectors.base import (
    FileStats,
    Record,
    ResourceSpec,
    SourceData,
    register,
)
from evidencekit.errors import CollectionError, EvidenceError
from evidencekit.secrets import SecretRef
from evidencekit.timeutil import TimestampError, parse_iso_offset

logger = logging.getLogger(__name__)

ACCOUNT_ID = re.compile(r"^\d{12}$")
ROOT_USER = "<root_account>"
DETAILS = "authorization_details"
REPORT_CSV = "credential_report.csv"
REPORT_META = "credential_report.json"
SENTINELS = frozenset({"N/A", "no_information", "not_supported"})

# Resource name -> (list in the response body, field that names a record).
DETAIL_LISTS: dict[str, tuple[str, str]] = {
    "users": ("UserDetailList", "UserName"),
    "groups": ("GroupDetailList", "GroupName"),
    "roles": ("RoleDetailList", "RoleName"),
    "policies": ("Policies", "Arn"),
}
_TIMESTAMPS = ("CreateDate", "UpdateDate", "PasswordLastUsed")

REPORT_COLUMNS = (
    "user", "arn", "user_creation_time", "password_enabled", "password_last_used",
    "password_last_changed", "password_next_rotation", "mfa_active",
    "access_key_1_active", "access_key_1_last_rotated", "access_key_1_last_used_date",
    "access_key_1_last_used_region", "access_key_1_last_used_service",
    "access_key_2_active", "access_key_2_last_rotated", "access_key_2_last_used_date",
    "access_key_2_last_used_region", "access_key_2_last_used_service",
    "cert_1_active", "cert_1_last_rotated", "cert_2_active", "cert_2_last_rotated",
)  # fmt: skip
_REPORT_FLAGS = frozenset(
    {
        "password_enabled", "mfa_active", "access_key_1_active",
        "access_key_2_active", "cert_1_active", "cert_2_active",
    }
)  # fmt: skip
_REPORT_TIMES = frozenset(
    {
        "user_creation_time", "password_last_used", "password_last_changed",
        "password_next_rotation", "access_key_1_last_rotated",
        "access_key_1_last_used_date", "access_key_2_last_rotated",
        "access_key_2_last_used_date", "cert_1_last_rotated", "cert_2_last_rotated",
    }
)  # fmt: skip

_SPECS = (
    ResourceSpec(
        "users",
        "IAM users with their groups and attached and inline policies",
        files=(f"<account>/{DETAILS}/", f"<account>/{DETAILS}.json"),
    ),
    ResourceSpec(
        "groups",
        "IAM groups with their policies and members",
        files=(f"<account>/{DETAILS}/", f"<account>/{DETAILS}.json"),
    ),
    ResourceSpec(
        "roles",
        "IAM roles with their trust, policies and last use",
        files=(f"<account>/{DETAILS}/", f"<account>/{DETAILS}.json"),
    ),
    ResourceSpec(
        "policies",
        "Managed policies in use, with the default version's document",
        files=(f"<account>/{DETAILS}/", f"<account>/{DETAILS}.json"),
    ),
    ResourceSpec(
        "credential_report",
        "Credential report: passwords, MFA, access keys and their use, per user",
        files=(f"<account>/{REPORT_CSV}", f"<account>/{REPORT_META}"),
    ),
)


# ---------------------------------------------------------------------------- config


class AwsAccount(BaseModel):
    """One AWS account to read, optionally through a role assumed in it."""

    model_config = ConfigDict(extra="forbid", strict=False, frozen=True)

    id: str = Field(strict=True, pattern=r"^\d{12}$")
    role_arn: str | None = Field(
        default=None,
        max_length=2048,
        pattern=r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+$",
    )
    region: str = Field(default="us-east-1", pattern=r"^[a-z]{2}(-[a-z]+)+-\d{1,2}$")
    external_id: SecretRef | None = None

    @field_validator("id", mode="before")
    @classmethod
    def _quoted(cls, value: Any) -> Any:
        if isinstance(value, int):
            raise ValueError(
                "an account id must be a quoted string of 12 digits, such as "
                "'012345678901' (an unquoted number loses its leading zeros)"
            )
        return value

    @model_validator(mode="after")
    def _role_in_account(self) -> AwsAccount:
        if self.role_arn is not None and self.role_arn.split(":")[4] != self.id:
            raise ValueError(
                f"role_arn {self.role_arn} is not in account {self.id}; evidence "
                "would be filed under the wrong account"
            )
        return self


class AwsSource(BaseModel):
    """AWS IAM evidence: an export folder (``path``) or live accounts via boto3."""

    model_config = ConfigDict(extra="forbid", strict=False, frozen=True)

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    type: Literal["aws"]
    path: Path | None = None
    profile: str | None = Field(default=None, min_length=1)
    accounts: list[AwsAccount] = Field(default_factory=list)

    @model_validator(mode="after")
    def _accounts_to_read(self) -> AwsSource:
        ids = [account.id for account in self.accounts]
        repeated = sorted({account for account in ids if ids.count(account) > 1})
        if repeated:
            raise ValueError(f"account ids must be unique: {', '.join(repeated)}")
        if self.path is None and not self.accounts:
            raise ValueError("give a path to an export folder, or accounts to fetch")
        return self

    @property
    def is_live(self) -> bool:
        """True when the accounts are fetched with boto3, not read from a folder."""
        return self.path is None


# ------------------------------------------------------------------------- documents


def decode_policy_document(value: Any) -> dict[str, Any]:
    """Return a policy document as an object, from an object or (URL-encoded) JSON."""
    if isinstance(value, dict):
        return value
    if not isinstance(value, str):
        raise ValueError(f"expected a policy document, got {preview(value)}")
    try:
        document = json.loads(value)
    except ValueError:
        try:
            document = json.loads(unquote(value))
        except ValueError as err:
            raise ValueError(
                f"expected a JSON or URL-encoded JSON policy document, got "
                f"{preview(value)}"
            ) from err
    if not isinstance(document, dict):
        raise ValueError(f"expected a policy document object, got {preview(document)}")
    return document


# ------------------------------------------------------------------------- collector


@register
class AwsIamCollector:
    """Read IAM authorization details and credential reports of AWS accounts."""

    type: ClassVar[str] = "aws"
    description: ClassVar[str] = (
        "AWS IAM users, groups, roles, managed policies and the credential report, "
        "per account"
    )
    resources: ClassVar[tuple[ResourceSpec, ...]] = _SPECS
    permissions: ClassVar[tuple[str, ...]] = (
        "iam:GetAccountAuthorizationDetails",
        "iam:GenerateCredentialReport",
        "iam:GetCredentialReport",
        "sts:GetCallerIdentity",
        "sts:AssumeRole on each configured role_arn (when one is set)",
    )

    def evidence_files(self, folder: Path) -> list[Path]:
        """List the files of every account folder that ``read`` will use."""
        check_export_folder(folder, self.type)
        paths: list[Path] = []
        try:
            for account_dir in account_folders(folder)[0]:
                paths.extend(
                    find_resource_files(account_dir, DETAILS, (".json",)).paths
                )
                for name in (REPORT_CSV, REPORT_META):
                    if (account_dir / name).is_file():
                        paths.append(account_dir / name)
        except OSError as err:
            raise CollectionError(
                f"cannot list the folder ({err.strerror})", source=self.type
            ) from err
        return paths

    def read(self, folder: Path, source_name: str) -> SourceData:
        """Read and normalise every account folder of an AWS IAM export."""
        started = time.monotonic()
        check_export_folder(folder, source_name)
        data = SourceData(name=source_name, type=self.type, location=str(folder))
        reader = _ExportReader(folder, source_name)
        data.resources = reader.read()
        logger.info(
            "collected source=%s type=%s status=%s accounts=%d records=%d "
            "elapsed=%.2fs",
            data.name,
            data.type,
            data.overall_status().value,
            reader.accounts,
            sum(len(resource.records) for resource in data.resources.values()),
            time.monotonic() - started,
        )
        return data


def account_folders(folder: Path) -> tuple[list[Path], list[str]]:
    """Return the account folders (12-digit names) and the other entries, sorted."""
    accounts, others = [], []
    for path in sorted(folder.iterdir()):
        if path.name.startswith("."):
            continue
        if path.is_dir() and ACCOUNT_ID.fullmatch(path.name):
            accounts.append(path)
        else:
            others.append(path.name)
    return accounts, others


class _ExportReader:
    """Read every account folder into one builder per resource."""

    def __init__(self, folder: Path, source: str) -> None:
        self.folder = folder
        self.source = source
        self.builders = {
            spec.name: ResourceBuilder(source, spec.name) for spec in _SPECS
        }
        self.accounts = 0

    def read(self) -> dict[str, Any]:
        """Read all accounts; return the finished resources by name."""
        try:
            accounts, others = account_folders(self.folder)
        except OSError as err:
            raise CollectionError(
                f"cannot list the export folder ({err.strerror})", source=self.source
            ) from err
        self.accounts = len(accounts)
        for name in others:
            self.builders["users"].note(
                f"ignored {name}: not a 12-digit account folder"
            )
        if not accounts:
            for builder in self.builders.values():
                builder.missing("no account folder (named by a 12-digit id) in export")
        for account_dir in accounts:
            _DetailsReader(self, account_dir).read()
            _ReportReader(self, account_dir).read()
        _link_group_members(self.builders)
        return {name: builder.finish() for name, builder in self.builders.items()}

    def relative(self, path: Path) -> str:
        """Return a path relative to the source folder, with forward slashes."""
        return relative_name(path, self.folder)

    def problem(
        self,
        reason: str,
        file: str,
        record: str | None = None,
        field: str | None = None,
    ) -> EvidenceError:
        """Build the error that names where a problem is."""
        return EvidenceError(
            reason, source=self.source, file=file, record=record, field=field
        )


# ---------------------------------------------------------------- authorization details


class _DetailsReader:
    """Read one account's authorization details pages into four resources."""

    def __init__(self, export: _ExportReader, account_dir: Path) -> None:
        self.export = export
        self.account = account_dir.name
        self.account_dir = account_dir
        self.builders = [export.builders[name] for name in DETAIL_LISTS]
        self.last_page: dict[str, Any] | None = None
        self.last_file = ""

    def read(self) -> None:
        """Read the pages in order and check that none is missing at the end."""
        try:
            files = find_resource_files(self.account_dir, DETAILS, (".json",))
        except OSError as err:
            problem = self.export.problem(
                f"cannot list the folder ({err.strerror})", f"{self.account}/"
            )
            for builder in self.builders:
                builder.bad_file(problem)
            return
        where = f"{self.account}/{DETAILS}"
        if not files.paths:
            for builder in self.builders:
                builder.missing(f"{where}.json (or folder {where}/) is not in export")
            return
        for ignored in files.ignored:
            for builder in self.builders:
                builder.note(f"ignored {ignored}: it is not a *.json file")
        self._check_page_numbers(files.paths)
        for path in files.paths:
            self._read_page(path)
        self._check_last_page()

    def _read_page(self, path: Path) -> None:
        relative = self.export.relative(path)
        stats = [builder.open_file(path, relative) for builder in self.builders]
        try:
            document = read_json(path, relative, self.export.source)
            if not isinstance(document, dict) or not any(
                key in document for key, _ in DETAIL_LISTS.values()
            ):
                raise self.export.problem(
                    "expected a GetAccountAuthorizationDetails response with "
                    "UserDetailList, GroupDetailList, RoleDetailList and Policies",
                    relative,
                )
        except EvidenceError as err:
            for builder in self.builders:
                builder.bad_file(err)
            return
        self.last_page, self.last_file = document, relative
        for builder, file_stats in zip(self.builders, stats, strict=True):
            self._read_list(document, builder, file_stats)

    def _read_list(
        self, document: dict[str, Any], builder: ResourceBuilder, stats: FileStats
    ) -> None:
        list_key, name_key = DETAIL_LISTS[builder.data.name]
        items = document.get(list_key)
        if not isinstance(items, list):
            reason = (
                "is absent" if items is None else f"is not a list: {preview(items)}"
            )
            builder.gap(f"{stats.path}: {list_key} {reason}")
            return
        for index, raw in enumerate(items):
            where = f"{list_key}[{index}]"
            if not isinstance(raw, dict) or not _named(raw.get(name_key)):
                builder.bad_record(
                    self.export.problem(
                        f"expected an object with a non-empty {name_key}, got "
                        f"{preview(raw)}",
                        stats.path,
                        where,
                        name_key,
                    )
                )
                continue
            self._add(builder, raw, raw[name_key], stats)

    def _add(
        self, builder: ResourceBuilder, raw: dict[str, Any], name: str, stats: FileStats
    ) -> None:
        key = f"{self.account}:{name}"
        record, problems = _normalise_detail(builder.data.name, raw, self.account)
        for problem in problems:
            builder.bad_record(
                self.export.problem(
                    f"{problem.reason}; the field is kept as null",
                    stats.path,
                    key,
                    problem.field_name,
                )
            )
        owner = _arn_account(raw.get("Arn"))
        if owner not in (None, "aws", self.account):
            builder.bad_record(
                self.export.problem(
                    f"the ARN is in account {owner}, not in {self.account} whose "
                    "folder holds it",
                    stats.path,
                    key,
                    "Arn",
                )
            )
        builder.add(key, record, stats)

    def _check_page_numbers(self, paths: list[Path]) -> None:
        numbers = [page[1] for path in paths if (page := page_of(path.name))]
        expected = list(range(1, len(numbers) + 1))
        if numbers and sorted(numbers) != expected:
            for builder in self.builders:
                builder.gap(
                    f"{self.account}/{DETAILS}/: page numbers "
                    f"{', '.join(map(str, sorted(numbers)))} are not 1 to "
                    f"{len(numbers)}, so a page is missing"
                )

    def _check_last_page(self) -> None:
        page = self.last_page
        if page is None:
            return
        if page.get("IsTruncated") is True or page.get("NextToken"):
            for builder in self.builders:
                builder.gap(
                    f"{self.last_file}: the last page says more results follow "
                    "(IsTruncated or NextToken), so pages after it are missing"
                )


def _named(value: Any) -> bool:
    return isinstance(value, str) and bool(value)


def _arn_account(arn: Any) -> str | None:
    if not isinstance(arn, str) or not arn.startswith("arn:"):
        return None
    parts = arn.split(":")
    return parts[4] if len(parts) > 5 and parts[4] else None


def _normalise_detail(
    resource: str, raw: dict[str, Any], account: str
) -> tuple[Record, list[FieldProblem]]:
    """Normalise one user, group, role or managed policy; collect field problems."""
    problems: list[FieldProblem] = []
    record: Record = dict(raw)
    for name in _TIMESTAMPS:
        if name in record:
            record[name] = _guard(problems, name, _timestamp, record[name])
    if "AssumeRolePolicyDocument" in record:
        record["AssumeRolePolicyDocument"] = _guard(
            problems,
            "AssumeRolePolicyDocument",
            _document,
            record["AssumeRolePolicyDocument"],
        )
    record["AccountId"] = account
    _ADDITIONS[resource](record, problems, account)
    return record, problems


Convert = Callable[[str, Any], Any]


def _guard(
    problems: list[FieldProblem], name: str, convert: Convert, value: Any
) -> Any:
    try:
        return convert(name, value)
    except FieldProblem as problem:
        problems.append(problem)
        return None


def _timestamp(name: str, value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise FieldProblem(
            name, f"expected an ISO-8601 timestamp, got {preview(value)}"
        )
    try:
        return parse_iso_offset(value)
    except TimestampError as err:
        raise FieldProblem(
            name, f"expected an ISO-8601 timestamp with an offset, got {preview(value)}"
        ) from err


def _document(name: str, value: Any) -> dict[str, Any]:
    try:
        return decode_policy_document(value)
    except ValueError as err:
        raise FieldProblem(name, str(err)) from err


def _objects(record: Record, problems: list[FieldProblem], field: str) -> list[Any]:
    """Return a list-of-objects field; absent is []; anything else becomes null.

    A null list tells the policies that something could not be read, so an
    unreadable list of policies or groups cannot pass as an empty one.
    """
    items = record.setdefault(field, [])
    if isinstance(items, list) and all(isinstance(item, dict) for item in items):
        return items
    problems.append(
        FieldProblem(field, f"expected a list of objects, got {preview(items)}")
    )
    record[field] = None
    return []


def _add_principal(record: Record, problems: list[FieldProblem], inline: str) -> None:
    """Decode inline documents and list the policy names and ARNs of a principal."""
    attached = _objects(record, problems, "AttachedManagedPolicies")
    readable = record["AttachedManagedPolicies"] is not None
    record["AttachedPolicyNames"] = (
        [item.get("PolicyName") for item in attached] if readable else None
    )
    record["AttachedPolicyArns"] = (
        [item.get("PolicyArn") for item in attached] if readable else None
    )
    policies = _objects(record, problems, inline)
    if record[inline] is None:
        record["InlinePolicyNames"] = None
        return
    record[inline] = [
        {
            **policy,
            "PolicyDocument": _guard(
                problems,
                f"{inline}.{policy.get('PolicyName')}.PolicyDocument",
                _document,
                policy.get("PolicyDocument"),
            ),
        }
        for policy in policies
    ]
    record["InlinePolicyNames"] = [policy.get("PolicyName") for policy in policies]


def _add_user(record: Record, problems: list[FieldProblem], account: str) -> None:
    _add_principal(record, problems, "UserPolicyList")
    groups = record.setdefault("GroupList", [])
    if isinstance(groups, list) and all(_named(group) for group in groups):
        record["Groups"] = [f"{account}:{group}" for group in groups]
        return
    problems.append(
        FieldProblem("GroupList", f"expected group names, got {preview(groups)}")
    )
    record["GroupList"] = record["Groups"] = None


def _add_group(record: Record, problems: list[FieldProblem], account: str) -> None:
    _add_principal(record, problems, "GroupPolicyList")
    record["Members"] = []  # filled from the users' GroupList once all are read


def _add_role(record: Record, problems: list[FieldProblem], account: str) -> None:
    _add_principal(record, problems, "RolePolicyList")
    last_used = record.get("RoleLastUsed") or {}
    if not isinstance(last_used, dict):
        problems.append(
            FieldProblem(
                "RoleLastUsed", f"expected an object, got {preview(last_used)}"
            )
        )
        last_used = {}
    used = _guard(
        problems, "RoleLastUsed.LastUsedDate", _timestamp, last_used.get("LastUsedDate")
    )
    record["RoleLastUsed"] = {**last_used, "LastUsedDate": used}


def _add_policy(record: Record, problems: list[FieldProblem], account: str) -> None:
    versions = record.get("PolicyVersionList")
    if not isinstance(versions, list) or not all(isinstance(v, dict) for v in versions):
        problems.append(
            FieldProblem(
                "PolicyVersionList", f"expected a list, got {preview(versions)}"
            )
        )
        record["PolicyVersionList"], versions = None, []
    decoded = [_policy_version(version, problems) for version in versions]
    if versions:
        record["PolicyVersionList"] = decoded
    default = [
        version
        for version in decoded
        if version.get("IsDefaultVersion") is True
        or version.get("VersionId") == record.get("DefaultVersionId")
    ]
    record["DefaultDocument"] = default[0]["Document"] if default else None
    if not default:
        problems.append(
            FieldProblem(
                "DefaultDocument",
                f"no default version ({record.get('DefaultVersionId')}) is listed, so "
                "the policy's access cannot be read",
            )
        )


def _policy_version(version: dict[str, Any], problems: list[FieldProblem]) -> Record:
    name = f"PolicyVersionList.{version.get('VersionId')}"
    return {
        **version,
        "Document": _guard(
            problems, f"{name}.Document", _document, version.get("Document")
        ),
        "CreateDate": _guard(
            problems, f"{name}.CreateDate", _timestamp, version.get("CreateDate")
        ),
    }


_ADDITIONS: dict[str, Callable[[Record, list[FieldProblem], str], None]] = {
    "users": _add_user,
    "groups": _add_group,
    "roles": _add_role,
    "policies": _add_policy,
}


def _link_group_members(builders: dict[str, ResourceBuilder]) -> None:
    """Fill each group's ``Members`` with the keys of users that list it."""
    groups = builders["groups"].data.records
    for user_key, user in builders["users"].data.records.items():
        for group_key in user.get("Groups") or ():
            group = groups.get(group_key)
            if group is not None:
                group["Members"].append(user_key)
    for group in groups.values():
        group["Members"].sort()


# ------------------------------------------------------------------ credential report


class _ReportReader:
    """Read one account's credential report and its generation time."""

    def __init__(self, export: _ExportReader, account_dir: Path) -> None:
        self.export = export
        self.account = account_dir.name
        self.account_dir = account_dir
        self.builder = export.builders["credential_report"]
        self.generated_at: str | None = None
        self.columns_checked = False

    def read(self) -> None:
        """Read the CSV rows; a missing file or generation time is a gap."""
        csv_path = self.account_dir / REPORT_CSV
        if not csv_path.is_file():
            self.builder.missing(f"{self.account}/{REPORT_CSV} is not in the export")
            return
        self._read_meta()
        relative = self.export.relative(csv_path)
        stats = self.builder.open_file(csv_path, relative)
        try:
            for line, row, problem in iter_csv_rows(
                csv_path, relative, self.export.source
            ):
                if problem is not None:
                    self.builder.bad_record(
                        self.export.problem(problem, relative, f"line {line}")
                    )
                    continue
                self._add(row or {}, stats, line)
        except EvidenceError as err:
            self.builder.bad_file(err)

    def _read_meta(self) -> None:
        path = self.account_dir / REPORT_META
        relative = f"{self.account}/{REPORT_META}"
        if not path.is_file():
            self.builder.gap(
                f"{relative} is not in the export, so the time the credential report "
                "was generated (its as-of time) is unknown"
            )
            return
        self.builder.open_file(path, relative)
        try:
            meta = read_json(path, relative, self.export.source)
            value = meta.get("GeneratedTime") if isinstance(meta, dict) else None
            self.generated_at = _timestamp("GeneratedTime", value)
        except EvidenceError as err:
            self.builder.bad_file(err)
        except FieldProblem as problem:
            self.builder.bad_record(
                self.export.problem(problem.reason, relative, field="GeneratedTime")
            )
        if self.generated_at is None:
            self.builder.gap(f"{relative}: GeneratedTime is empty or unreadable")

    def _add(self, row: dict[str, str], stats: FileStats, line: int) -> None:
        user = row.get("user") or ""
        if not user:
            self.builder.bad_record(
                self.export.problem(
                    "the row has no user name", stats.path, f"line {line}", "user"
                )
            )
            return
        self._check_columns(row, stats.path)
        key = f"{self.account}:{user}"
        record: Record = {column: row.get(column) for column in REPORT_COLUMNS}
        for column, value in row.items():
            converted = _report_value(column, value)
            if isinstance(converted, FieldProblem):
                self.builder.bad_record(
                    self.export.problem(
                        f"{converted.reason}; the field is kept as null",
                        stats.path,
                        key,
                        column,
                    )
                )
                converted = None
            record[column] = converted
        record["AccountId"] = self.account
        record["report_generated_at"] = self.generated_at
        self.builder.add(key, record, stats)

    def _check_columns(self, row: dict[str, str], relative: str) -> None:
        if self.columns_checked:
            return
        self.columns_checked = True
        missing = [column for column in REPORT_COLUMNS if column not in row]
        if missing:
            self.builder.gap(
                f"{relative}: the header lacks {', '.join(missing)}; those fields "
                "are null"
            )


def _report_value(column: str, value: str) -> Any:
    """Convert one credential report cell; return a ``FieldProblem`` if it is bad."""
    if value in SENTINELS:
        return value
    if column in _REPORT_FLAGS:
        if value in ("true", "false"):
            return value == "true"
        return FieldProblem(column, f"expected 'true' or 'false', got {preview(value)}")
    if column in _REPORT_TIMES:
        try:
            return parse_iso_offset(value)
        except TimestampError:
            return FieldProblem(
                column,
                f"expected an ISO-8601 timestamp or N/A, no_information or "
                f"not_supported, got {preview(value)}",
            )
    return value
