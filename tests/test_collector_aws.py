"""The AWS IAM export reader: pages, CLI output, report sentinels and bad input."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import regorus
from pydantic import ValidationError

from evidencekit.collectors.aws_iam import (
    AwsAccount,
    AwsIamCollector,
    AwsSource,
    decode_policy_document,
)
from evidencekit.collectors.base import SourceData
from evidencekit.errors import CollectionError
from evidencekit.results import SourceStatus

FIXTURE = Path(__file__).parent / "data" / "aws" / "export"
POLICIES = Path(__file__).parent.parent / "policies"
PROD = "111122223333"
SANDBOX = "012345678901"
MALFORMED_ROW = (
    "credential_report: source 'aws', file 111122223333/credential_report.csv, "
    "record line 8: the row has more cells than the 22 columns"
)


@pytest.fixture
def export(tmp_path: Path) -> Path:
    """A private copy of the recorded export that a test may change."""
    folder = tmp_path / "aws"
    shutil.copytree(FIXTURE, folder)
    return folder


def read(folder: Path) -> SourceData:
    return AwsIamCollector().read(folder, "aws")


def load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def save(path: Path, document: Any) -> None:
    path.write_text(json.dumps(document), encoding="utf-8")


def replace_in(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


def drop_malformed_row(folder: Path) -> None:
    report = folder / PROD / "credential_report.csv"
    lines = report.read_text(encoding="utf-8").splitlines(keepends=True)
    report.write_text("".join(line for line in lines if "temp-contractor" not in line))


def test_recorded_export_reads_every_account_and_resource() -> None:
    data = read(FIXTURE)

    counts = {name: len(resource.records) for name, resource in data.resources.items()}
    assert counts == {
        "users": 6,
        "groups": 2,
        "roles": 4,
        "policies": 4,
        "credential_report": 8,
    }
    assert sorted(data.resources["users"].records) == [
        "012345678901:dana.ishikawa",
        "111122223333:alice.ward",
        "111122223333:ben.okoro",
        "111122223333:legacy-reports",
        "111122223333:ops-breakglass",
        "111122223333:svc-deploy",
    ]
    for name in ("users", "groups", "roles", "policies"):
        assert data.resources[name].status is SourceStatus.COMPLETE
        assert data.resources[name].warnings == []


def test_malformed_csv_row_is_skipped_and_the_report_is_incomplete() -> None:
    report = read(FIXTURE).resources["credential_report"]

    assert report.status is SourceStatus.INCOMPLETE
    assert report.warnings == [MALFORMED_ROW]
    assert f"{PROD}:temp-contractor" not in report.records
    assert f"{PROD}:svc-deploy" in report.records


def test_without_the_malformed_row_the_export_is_complete(export: Path) -> None:
    drop_malformed_row(export)

    data = read(export)

    assert data.overall_status() is SourceStatus.COMPLETE


def test_leading_zeros_of_account_ids_are_kept() -> None:
    user = read(FIXTURE).resources["users"].records[f"{SANDBOX}:dana.ishikawa"]

    assert user["AccountId"] == "012345678901"
    assert user["_ref"] == "aws/users/012345678901:dana.ishikawa"
    assert user["_file"] == "012345678901/authorization_details.json"


def test_credential_report_keeps_every_sentinel_as_data() -> None:
    rows = read(FIXTURE).resources["credential_report"].records
    root, ben = rows[f"{PROD}:<root_account>"], rows[f"{PROD}:ben.okoro"]

    assert root["password_enabled"] == "not_supported"
    assert root["password_last_changed"] == "not_supported"
    assert root["password_next_rotation"] == "not_supported"
    assert root["access_key_1_last_rotated"] == "N/A"
    assert root["access_key_1_last_used_region"] == "N/A"
    assert ben["password_last_used"] == "no_information"
    assert ben["password_next_rotation"] == "N/A"


def test_credential_report_flags_become_booleans_and_dates_canonical() -> None:
    rows = read(FIXTURE).resources["credential_report"].records
    svc = rows[f"{PROD}:svc-deploy"]

    assert svc["password_enabled"] is False
    assert svc["mfa_active"] is False
    assert svc["access_key_1_active"] is True
    assert svc["access_key_2_active"] is True
    assert svc["access_key_1_last_rotated"] == "2025-01-04T12:00:00.000000Z"
    assert svc["access_key_1_last_used_date"] == "2026-09-29T07:45:00.000000Z"
    assert svc["access_key_1_last_used_region"] == "eu-west-2"
    assert svc["access_key_2_last_used_date"] == "N/A"
    assert svc["report_generated_at"] == "2026-09-30T22:14:09.000000Z"
    assert svc["AccountId"] == PROD
    assert svc["_ref"] == "aws/credential_report/111122223333:svc-deploy"


def test_url_encoded_policy_documents_are_decoded() -> None:
    data = read(FIXTURE)
    ben = data.resources["users"].records[f"{PROD}:ben.okoro"]
    role = data.resources["roles"].records[f"{PROD}:octopus-deployer"]

    statement = ben["UserPolicyList"][0]["PolicyDocument"]["Statement"][0]
    assert statement["Resource"] == "arn:aws:iam::111122223333:user/${aws:username}"
    trust = role["AssumeRolePolicyDocument"]["Statement"][0]
    assert trust["Action"] == "sts:AssumeRoleWithWebIdentity"


def test_managed_policy_keeps_the_default_version_document() -> None:
    policies = read(FIXTURE).resources["policies"].records
    developer = policies[f"{PROD}:arn:aws:iam::111122223333:policy/developer-access"]

    assert developer["DefaultDocument"]["Statement"][0]["Action"][0] == "ecs:*"
    assert [v["VersionId"] for v in developer["PolicyVersionList"]] == ["v2", "v1"]
    assert developer["UpdateDate"] == "2025-05-12T14:20:00.000000Z"


def test_principals_list_policy_names_groups_and_members() -> None:
    data = read(FIXTURE)
    users, groups = data.resources["users"].records, data.resources["groups"].records
    roles = data.resources["roles"].records

    assert users[f"{PROD}:alice.ward"]["Groups"] == [f"{PROD}:platform-admins"]
    assert users[f"{PROD}:ben.okoro"]["InlinePolicyNames"] == [
        "self-service-credentials"
    ]
    assert groups[f"{PROD}:developers"]["Members"] == [
        f"{PROD}:ben.okoro",
        f"{PROD}:legacy-reports",
    ]
    assert groups[f"{PROD}:platform-admins"]["AttachedPolicyArns"] == [
        "arn:aws:iam::aws:policy/AdministratorAccess"
    ]
    deployer = roles[f"{PROD}:octopus-deployer"]
    assert deployer["RoleLastUsed"]["LastUsedDate"] == "2026-09-29T21:02:10.000000Z"
    assert roles[f"{PROD}:OrganizationAccountAccessRole"]["RoleLastUsed"] == {
        "LastUsedDate": None
    }


def test_evidence_files_lists_exactly_what_is_read() -> None:
    files = AwsIamCollector().evidence_files(FIXTURE)

    assert [path.relative_to(FIXTURE).as_posix() for path in files] == [
        "012345678901/authorization_details.json",
        "012345678901/credential_report.csv",
        "012345678901/credential_report.json",
        "111122223333/authorization_details/page-0001.json",
        "111122223333/authorization_details/page-0002.json",
        "111122223333/credential_report.csv",
        "111122223333/credential_report.json",
    ]


def test_last_page_that_is_still_truncated_marks_details_incomplete(
    export: Path,
) -> None:
    (export / PROD / "authorization_details" / "page-0002.json").unlink()

    data = read(export)

    for name in ("users", "groups", "roles", "policies"):
        assert data.resources[name].status is SourceStatus.INCOMPLETE
        assert any(
            "pages after it are missing" in w for w in data.resources[name].warnings
        )
    assert f"{PROD}:alice.ward" in data.resources["users"].records


def test_hole_in_page_numbers_marks_details_incomplete(export: Path) -> None:
    folder = export / PROD / "authorization_details"
    (folder / "page-0002.json").rename(folder / "page-0003.json")

    warnings = read(export).resources["groups"].warnings

    assert warnings == [
        "groups: 111122223333/authorization_details/: page numbers 1, 3 are not 1 to "
        "2, so a page is missing"
    ]


def test_page_that_is_not_json_fails_its_resources_and_keeps_other_accounts(
    export: Path,
) -> None:
    (export / PROD / "authorization_details" / "page-0002.json").write_text("{oops")

    data = read(export)

    assert data.resources["roles"].status is SourceStatus.FAILED
    assert f"{SANDBOX}:sandbox-ci" in data.resources["roles"].records
    assert f"{PROD}:svc-deploy" in data.resources["users"].records


def test_bad_timestamp_in_the_report_is_kept_null_with_a_warning(export: Path) -> None:
    drop_malformed_row(export)
    replace_in(
        export / PROD / "credential_report.csv",
        "2024-05-10T08:00:00+00:00",
        "last spring",
    )

    report = read(export).resources["credential_report"]

    row = report.records[f"{PROD}:legacy-reports"]
    assert row["access_key_1_last_rotated"] is None
    assert report.status is SourceStatus.INCOMPLETE
    assert report.warnings == [
        "credential_report: source 'aws', file 111122223333/credential_report.csv, "
        "record 111122223333:legacy-reports, field 'access_key_1_last_rotated': "
        "expected an ISO-8601 timestamp or N/A, no_information or not_supported, "
        "got 'last spring'; the field is kept as null"
    ]


def test_bad_flag_in_the_report_is_kept_null(export: Path) -> None:
    drop_malformed_row(export)
    replace_in(
        export / PROD / "credential_report.csv",
        "2022-02-14T12:00:00+00:00,true,",
        "2022-02-14T12:00:00+00:00,yes,",
    )

    report = read(export).resources["credential_report"]

    assert report.records[f"{PROD}:ops-breakglass"]["password_enabled"] is None
    assert "field 'password_enabled'" in report.warnings[0]


def test_missing_generation_time_marks_the_report_incomplete(export: Path) -> None:
    drop_malformed_row(export)
    (export / SANDBOX / "credential_report.json").unlink()

    report = read(export).resources["credential_report"]

    assert report.status is SourceStatus.INCOMPLETE
    assert report.records[f"{SANDBOX}:dana.ishikawa"]["report_generated_at"] is None
    assert "its as-of time) is unknown" in report.warnings[0]


def test_missing_credential_report_is_missing(export: Path) -> None:
    (export / SANDBOX / "credential_report.csv").unlink()

    report = read(export).resources["credential_report"]

    assert report.status is SourceStatus.MISSING
    assert (
        "012345678901/credential_report.csv is not in the export"
        in (report.warnings[-1])
    )


def test_report_with_missing_columns_is_incomplete(export: Path) -> None:
    drop_malformed_row(export)
    save(
        export / SANDBOX / "credential_report.json",
        {"GeneratedTime": "2026-09-30T22:20:51+00:00"},
    )
    (export / SANDBOX / "credential_report.csv").write_text(
        "user,arn,password_enabled\n"
        "dana.ishikawa,arn:aws:iam::012345678901:user/dana.ishikawa,true\n"
    )

    report = read(export).resources["credential_report"]

    row = report.records[f"{SANDBOX}:dana.ishikawa"]
    assert row["password_enabled"] is True
    assert row["mfa_active"] is None
    assert report.status is SourceStatus.INCOMPLETE
    assert "the header lacks user_creation_time" in report.warnings[0]


def test_record_without_a_name_is_skipped(export: Path) -> None:
    path = export / SANDBOX / "authorization_details.json"
    document = load(path)
    document["RoleDetailList"].append({"RoleId": "AROANONAME0000000001"})
    save(path, document)

    roles = read(export).resources["roles"]

    assert roles.status is SourceStatus.INCOMPLETE
    assert "record RoleDetailList[1], field 'RoleName'" in roles.warnings[0]
    assert len(roles.records) == 4


def test_record_filed_under_the_wrong_account_is_flagged(export: Path) -> None:
    path = export / SANDBOX / "authorization_details.json"
    replace_in(
        path,
        "arn:aws:iam::012345678901:user/dana",
        "arn:aws:iam::999999999999:user/dana",
    )

    users = read(export).resources["users"]

    assert users.status is SourceStatus.INCOMPLETE
    assert (
        "the ARN is in account 999999999999, not in 012345678901" in users.warnings[0]
    )


def test_policy_without_a_default_version_keeps_a_null_document(export: Path) -> None:
    path = export / SANDBOX / "authorization_details.json"
    document = load(path)
    document["Policies"][0]["PolicyVersionList"][0]["IsDefaultVersion"] = False
    document["Policies"][0]["DefaultVersionId"] = "v113"
    save(path, document)

    policies = read(export).resources["policies"]

    key = f"{SANDBOX}:arn:aws:iam::aws:policy/ReadOnlyAccess"
    assert policies.records[key]["DefaultDocument"] is None
    assert policies.status is SourceStatus.INCOMPLETE


def test_folder_without_accounts_makes_every_resource_missing(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("exported by hand")

    data = read(tmp_path)

    assert {r.status for r in data.resources.values()} == {SourceStatus.MISSING}
    assert "users: ignored notes.txt: not a 12-digit account folder" in (
        data.resources["users"].warnings
    )


def test_a_file_instead_of_a_folder_raises(tmp_path: Path) -> None:
    path = tmp_path / "aws.json"
    path.write_text("{}")

    with pytest.raises(CollectionError, match="expected an export folder"):
        read(path)


@pytest.mark.parametrize(
    "value",
    [
        {"Version": "2012-10-17", "Statement": []},
        '{"Version": "2012-10-17", "Statement": []}',
        "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%5D%7D",
    ],
)
def test_policy_documents_decode_from_every_shape(value: Any) -> None:
    assert decode_policy_document(value) == {"Version": "2012-10-17", "Statement": []}


@pytest.mark.parametrize("value", ["%7Bnot json", "[1, 2]", 42, None])
def test_undecodable_policy_documents_raise_value_error(value: Any) -> None:
    with pytest.raises(ValueError, match="policy document"):
        decode_policy_document(value)


def test_config_keeps_account_ids_as_quoted_strings() -> None:
    source = AwsSource.model_validate(
        {
            "name": "aws",
            "type": "aws",
            "accounts": [
                {
                    "id": "012345678901",
                    "role_arn": "arn:aws:iam::012345678901:role/evidencekit-audit",
                    "external_id": {"env": "AWS_AUDIT_EXTERNAL_ID"},
                }
            ],
        }
    )

    assert source.accounts[0].id == "012345678901"
    assert source.accounts[0].region == "us-east-1"
    assert source.path is None
    assert source.is_live


@pytest.mark.parametrize(
    ("account", "message"),
    [
        ({"id": 111122223333}, "must be a quoted string of 12 digits"),
        ({"id": "12345"}, "should match pattern"),
        (
            {"id": "111122223333", "role_arn": "arn:aws:iam::222233334444:role/x"},
            "is not in account 111122223333",
        ),
        ({"id": "111122223333", "regoin": "eu-west-2"}, "Extra inputs"),
    ],
)
def test_config_rejects_bad_accounts(account: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        AwsAccount.model_validate(account)


def test_config_needs_a_path_or_accounts_and_unique_ids() -> None:
    with pytest.raises(ValidationError, match="give a path"):
        AwsSource.model_validate({"name": "aws", "type": "aws"})
    with pytest.raises(ValidationError, match="must be unique: 111122223333"):
        AwsSource.model_validate(
            {
                "name": "aws",
                "type": "aws",
                "accounts": [{"id": "111122223333"}, {"id": "111122223333"}],
            }
        )


def test_unreadable_inline_document_is_null_and_other_policies_are_kept(
    export: Path,
) -> None:
    path = export / SANDBOX / "authorization_details.json"
    document = load(path)
    role = document["RoleDetailList"][0]
    role["RolePolicyList"].append({"PolicyName": "torn", "PolicyDocument": "%7B%22Ver"})
    save(path, document)

    roles = read(export).resources["roles"]

    record = roles.records[f"{SANDBOX}:sandbox-ci"]
    assert record["InlinePolicyNames"] == ["sandbox-everything", "torn"]
    assert record["RolePolicyList"][1]["PolicyDocument"] is None
    assert record["RolePolicyList"][0]["PolicyDocument"]["Version"] == "2012-10-17"
    assert "field 'RolePolicyList.torn.PolicyDocument'" in roles.warnings[0]


def test_unreadable_attachment_list_becomes_null_not_empty(export: Path) -> None:
    path = export / SANDBOX / "authorization_details.json"
    document = load(path)
    document["UserDetailList"][0]["AttachedManagedPolicies"] = "ReadOnlyAccess"
    save(path, document)

    user = read(export).resources["users"].records[f"{SANDBOX}:dana.ishikawa"]

    assert user["AttachedManagedPolicies"] is None
    assert user["AttachedPolicyArns"] is None


AWS_PACKAGES = (
    "aws_access_key_rotation",
    "aws_admin_access",
    "aws_console_mfa",
    "aws_root_account",
    "aws_unused_access_keys",
)


def policy_engine(data: SourceData) -> Any:
    """A regorus engine holding the AWS policies, with the reader's records as input."""
    engine = regorus.Engine()
    paths = [*POLICIES.glob("aws_*.rego"), *POLICIES.glob("lib/aws*.rego")]
    for path in [*paths, POLICIES / "lib" / "util.rego"]:
        if not path.name.endswith("_test.rego"):
            engine.add_policy(str(path), path.read_text(encoding="utf-8"))
    engine.set_input(
        {
            "period": {
                "start": "2026-07-01T00:00:00.000000Z",
                "end": "2026-10-01T00:00:00.000000Z",
            },
            "settings": {"inactivity_days": 90},
            "aws": {name: r.records for name, r in data.resources.items()},
        }
    )
    return engine


def evaluate(engine: Any, packages: tuple[str, ...]) -> dict[str, set[str]]:
    """Evaluate packages in one query, as the runner does; return resources found."""
    query = "\n".join(
        f"findings_{n} := data.evidencekit.policies.{package}.findings"
        for n, package in enumerate(packages)
    )
    bindings = json.loads(engine.eval_query_as_json(query))["result"][0]["bindings"]
    return {
        package: {finding["resource"] for finding in bindings[f"findings_{n}"]}
        for n, package in enumerate(packages)
    }


def test_policies_find_what_the_recorded_export_plants() -> None:
    assert evaluate(policy_engine(read(FIXTURE)), AWS_PACKAGES) == {
        "aws_console_mfa": {f"{PROD}:ben.okoro"},
        "aws_access_key_rotation": {
            f"{SANDBOX}:<root_account>",
            f"{PROD}:legacy-reports",
            f"{PROD}:svc-deploy",
        },
        "aws_unused_access_keys": {f"{PROD}:legacy-reports"},
        "aws_root_account": {f"{SANDBOX}:<root_account>"},
        "aws_admin_access": {
            f"{SANDBOX}:sandbox-ci",
            f"{PROD}:OrganizationAccountAccessRole",
            f"{PROD}:iam-housekeeping",
            f"{PROD}:alice.ward",
            f"{PROD}:ops-breakglass",
        },
    }


def test_findings_do_not_depend_on_the_order_policies_are_evaluated() -> None:
    # A regorus quirk once made findings vanish depending on which AWS policy was
    # evaluated first in a joint query (see policies/lib/aws.rego).
    data = read(FIXTURE)
    expected = evaluate(policy_engine(data), AWS_PACKAGES)
    for package in AWS_PACKAGES:
        order = (package, *(other for other in AWS_PACKAGES if other != package))
        engine = policy_engine(data)
        assert evaluate(engine, order) == expected, f"{package} first"
        assert evaluate(engine, tuple(reversed(order))) == expected
