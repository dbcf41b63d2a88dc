"""The access review: entitlements per system, joins to people, evidence, order."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from evidencekit.access import ENTITLEMENTS, build_access_review
from evidencekit.collectors.aws_iam import AwsIamCollector
from evidencekit.collectors.base import ResourceData, SourceData
from evidencekit.collectors.kubernetes_rbac import (
    KubernetesRbacCollector,
    KubernetesSource,
)
from evidencekit.collectors.octopus import OctopusExportCollector
from evidencekit.collectors.servicenow import ServiceNowExportCollector
from evidencekit.config import Config, IdentityMapping, parse_config
from evidencekit.errors import ConfigError
from evidencekit.results import AccessEntry, SourceStatus

ROOT = Path(__file__).parents[1]
HARBOURLINE = ROOT / "examples" / "harbourline" / "exports"
DATA = Path(__file__).parent / "data" / "access"
AWS_ACCOUNT = "210987654321"
CLUSTER = "harbour-prod-eu"

Key = tuple[str | None, str, str, str]


def _config(**extra: Any) -> Config:
    config = parse_config(
        {
            "organisation": "Harbourline Payments Ltd",
            "period": {"start": "2026-07-01", "end": "2026-09-30"},
            "production_environments": ["Production"],
            "sources": [
                {"name": "octopus", "type": "octopus", "path": "exports/octopus"},
                {"name": "servicenow", "type": "servicenow", "path": "exports/sn"},
            ],
            **extra,
        }
    )
    # The Kubernetes source is added as a model, so the review's cluster lookup is
    # tested without depending on how config.py parses or resolves that source.
    kubernetes = KubernetesSource(
        name="k8s-prod", type="kubernetes", path=DATA / "kubernetes", cluster=CLUSTER
    )
    return config.model_copy(update={"sources": [*config.sources, kubernetes]})


def _add_records(source: SourceData, path: Path) -> None:
    """Add the records of a JSON file ``{resource: [record, ...]}`` to a source."""
    for resource, records in json.loads(path.read_text(encoding="utf-8")).items():
        target = source.resources[resource].records
        id_field = "Id" if source.type == "octopus" else "sys_id"
        for record in records:
            record_id = record[id_field]
            record["_ref"] = f"{source.name}/{resource}/{record_id}"
            record["_file"] = f"{resource}.json"
            target[record_id] = record


def _jsm_source() -> SourceData:
    records = json.loads((DATA / "jsm-approvals.json").read_text(encoding="utf-8"))
    for key, record in records.items():
        record["_ref"] = f"jsm/approvals/{key}"
        record["_file"] = f"approvals/{record['issueKey']}.page-0001.json"
    resource = ResourceData(name="approvals", records=records)
    return SourceData("jsm", "jsm", "exports/jsm", {"approvals": resource})


@pytest.fixture(scope="module")
def sources() -> list[SourceData]:
    octopus = OctopusExportCollector().read(HARBOURLINE / "octopus", "octopus")
    _add_records(octopus, DATA / "octopus-extra.json")
    servicenow = ServiceNowExportCollector().read(
        HARBOURLINE / "servicenow", "servicenow"
    )
    _add_records(servicenow, DATA / "servicenow-extra.json")
    return [
        octopus,
        servicenow,
        _jsm_source(),
        AwsIamCollector().read(DATA / "aws", "aws-prod"),
        KubernetesRbacCollector().read(DATA / "kubernetes", "k8s-prod"),
    ]


@pytest.fixture(scope="module")
def review(sources: list[SourceData]) -> list[AccessEntry]:
    config = _config(
        identities=[
            {
                "person": "Kwame.Ashdown@harbourline.example",
                "accounts": [f"aws:{AWS_ACCOUNT}:kwame-ops", "octopus:svc-octopus-ci"],
            },
            {
                "person": "dmitri.saltmarsh@harbourline.example",
                "accounts": [f"kubernetes:{CLUSTER}:User:ops-oncall"],
            },
        ]
    )
    return build_access_review(config, sources)


def _by_key(review: list[AccessEntry]) -> dict[Key, AccessEntry]:
    rows = {(e.person, e.system, e.account, e.entitlement): e for e in review}
    assert len(rows) == len(review), "one row per person, account and entitlement"
    return rows


def _row(
    review: list[AccessEntry], system: str, account: str, entitlement: str
) -> AccessEntry:
    matches = [
        entry
        for entry in review
        if (entry.system, entry.account, entry.entitlement)
        == (system, account, entitlement)
    ]
    assert len(matches) == 1, f"{system} {account} {entitlement}: {matches}"
    return matches[0]


def _entitlements(review: list[AccessEntry], system: str, account: str) -> set[str]:
    return {e.entitlement for e in review if (e.system, e.account) == (system, account)}


# ---------------------------------------------------------------------------- Octopus


def test_production_deployers_come_from_environment_scoped_roles(
    review: list[AccessEntry],
) -> None:
    tomasz = _row(review, "octopus", "Users-5", "deploy-production")

    assert tomasz.person == "tomasz.brennan@harbourline.example"
    assert tomasz.scope == "Production (Environments-3) in Spaces-1"
    assert tomasz.via == (
        "team prod-deployers (Teams-4) -> role Deployment creator "
        "(ScopedUserRoles-4) [DeploymentCreate]"
    )
    assert tomasz.evidence == [
        "octopus/environments/Environments-3",
        "octopus/scopeduserroles/ScopedUserRoles-4",
        "octopus/teams/Teams-4",
        "octopus/userroles/userroles-deploymentcreator",
        "octopus/users/Users-5",
    ]
    # developers deploy to Development and Staging only: no production deployment
    assert "deploy-production" not in _entitlements(review, "octopus", "Users-10")
    # staging-operators hold DeploymentCreate and MachineEdit, but only in Staging
    assert _entitlements(review, "octopus", "Users-902") == {
        "deploy-production",
        "change-production-config",
    }
    owen = _row(review, "octopus", "Users-902", "deploy-production")
    assert (
        owen.scope
        == "Production (Environments-3) in Spaces-1; only projects Projects-2"
    )
    assert "staging-operators" not in owen.via


def test_an_empty_environment_list_is_unrestricted_and_includes_production(
    review: list[AccessEntry],
) -> None:
    priya = _row(review, "octopus", "Users-4", "deploy-production")
    developer = _row(review, "octopus", "Users-10", "change-production-config")

    assert priya.scope == "all environments in Spaces-1 (unrestricted)"
    assert "role Space manager (ScopedUserRoles-3) [DeploymentCreate]" in priya.via
    assert developer.via.endswith("[VariableEdit, ProcessEdit]")
    assert developer.scope == "all environments in Spaces-1 (unrestricted)"


def test_administrators_by_system_role_and_by_built_in_team(
    review: list[AccessEntry],
) -> None:
    rafael = _row(review, "octopus", "Users-2", "administrator")
    dmitri = _row(review, "octopus", "Users-3", "administrator")
    space_manager = _row(review, "octopus", "Users-4", "administrator")

    assert rafael.scope == "Octopus server"
    assert rafael.via == (
        "built-in team Octopus Administrators (teams-administrators); "
        "team Octopus Administrators (teams-administrators) -> role System "
        "administrator (ScopedUserRoles-1) [AdministerSystem, system-level]"
    )
    assert "octopus/userroles/userroles-systemadministrator" in rafael.evidence
    assert dmitri.via.startswith("team platform-oncall (Teams-7)")  # SpaceId ""
    assert space_manager.scope == "space Spaces-1"
    assert (
        space_manager.via
        == "built-in team Space Managers (teams-spacemanagers-Spaces-1)"
    )
    # a system-level role without AdministerSystem does not make an administrator
    assert _entitlements(review, "octopus", "Users-8") == {"deploy-production"}


def test_interruption_submit_in_production_is_approving(
    review: list[AccessEntry],
) -> None:
    noor = _row(review, "octopus", "Users-901", "approve-changes")

    assert noor.person == "noor.haddad@harbourline.example"  # e-mail lower-cased
    assert noor.scope == "Production (Environments-3) in Spaces-1"
    assert noor.via.endswith("(ScopedUserRoles-901) [InterruptionSubmit]")
    assert _entitlements(review, "octopus", "Users-901") == {"approve-changes"}


def test_inactive_service_and_unknown_members_are_kept_and_marked(
    review: list[AccessEntry],
) -> None:
    victor = _row(review, "octopus", "Users-20", "administrator")
    ci = _row(review, "octopus", "Users-9", "deploy-production")
    unknown = _row(review, "octopus", "Users-999", "deploy-production")

    assert victor.via.endswith("[account inactive]")
    assert ci.person == "kwame.ashdown@harbourline.example"  # by identities, username
    assert ci.via.endswith("[service account]")
    assert unknown.person is None
    assert unknown.via.endswith("[user not in the evidence]")
    assert "octopus/teams/Teams-903" in unknown.evidence
    assert not any(ref.startswith("octopus/users/") for ref in unknown.evidence)


def test_external_groups_of_a_team_are_listed_as_unjoined_accounts(
    review: list[AccessEntry],
) -> None:
    group = _row(
        review, "octopus", "ExternalSecurityGroup:S-1-5-21-1004", "deploy-production"
    )

    assert group.person is None
    assert group.scope == (
        "Production (Environments-3) in Spaces-1; only projects Projects-2"
    )
    assert group.via.endswith(
        "[external group AAD payments-maintainers: its members are not in the evidence]"
    )
    assert group.evidence == [
        "octopus/environments/Environments-3",
        "octopus/scopeduserroles/ScopedUserRoles-903",
        "octopus/teams/Teams-903",
        "octopus/userroles/userroles-environmentoperator",
    ]


def test_a_scoped_role_whose_role_is_missing_is_logged(
    sources: list[SourceData], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="evidencekit.access"):
        build_access_review(_config(), sources[:1])

    assert any(
        "ScopedUserRoles-904" in message and "userroles-retired" in message
        for message in caplog.messages
    )


# ------------------------------------------------------------------ ServiceNow, JSM


def test_servicenow_approvers_are_joined_by_email_whatever_the_case(
    review: list[AccessEntry],
) -> None:
    tomasz = _row(review, "servicenow", "tomasz.brennan", "approve-changes")
    beatrix = _row(review, "servicenow", "beatrix.okafor", "approve-changes")

    assert tomasz.person == "tomasz.brennan@harbourline.example"
    assert tomasz.via == "approver in sysapproval_approver (approved 1, cancelled 1)"
    assert tomasz.scope == "2 change request(s) in the evidence"
    assert tomasz.evidence[0] == "servicenow/sys_user/7148566e70931fbd03e8ef54222c58a0"
    assert len(tomasz.evidence) == 3
    # the catalogue item approval (sc_req_item) is not a change approval
    assert "servicenow/sysapproval_approver/a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4" not in (
        beatrix.evidence
    )


def test_an_approver_missing_from_sys_user_is_kept_unjoined(
    review: list[AccessEntry],
) -> None:
    ghost = _row(
        review, "servicenow", "0d9c8b7a6f5e4d3c2b1a09f8e7d6c5b4", "approve-changes"
    )

    assert ghost.person is None
    assert (
        ghost.via
        == "approver in sysapproval_approver (requested 1) [user not in the evidence]"
    )
    assert ghost.evidence == [
        "servicenow/sysapproval_approver/f1e2d3c4b5a69788796a5b4c3d2e1f00"
    ]


def test_jsm_approvers_by_account_id(review: list[AccessEntry]) -> None:
    chloe = _row(
        review, "jsm", "557058:0000aaaa-1111-2222-3333-444455556666", "approve-changes"
    )
    hidden = _row(
        review, "jsm", "557058:9999ffff-8888-7777-6666-555544443333", "approve-changes"
    )

    assert chloe.person == "chloe.marchetti@harbourline.example"
    assert chloe.scope == "2 request(s) in the evidence"
    assert chloe.via == "approver on JSM approvals (approved 1, declined 1)"
    assert chloe.evidence == ["jsm/approvals/OPS-812/44", "jsm/approvals/OPS-815/47"]
    assert hidden.person is None  # profile visibility hid the e-mail address


# -------------------------------------------------------------------------------- AWS


def _arn(path: str) -> str:
    return f"arn:aws:iam::{AWS_ACCOUNT}:{path}"


def test_aws_administrators_hold_every_aws_entitlement(
    review: list[AccessEntry],
) -> None:
    system = f"aws:{AWS_ACCOUNT}"
    account = _arn("user/rafael.quenby@harbourline.example")
    admin = _row(review, system, account, "administrator")

    assert admin.person == "rafael.quenby@harbourline.example"  # named like an e-mail
    assert admin.scope == "all actions on all resources"
    assert admin.via == "managed policy AdministratorAccess [AdministratorAccess]"
    assert admin.evidence == [
        "aws-prod/policies/210987654321:arn:aws:iam::aws:policy/AdministratorAccess",
        "aws-prod/users/210987654321:rafael.quenby@harbourline.example",
    ]
    assert _entitlements(review, system, account) == {
        "administrator",
        "deploy-production",
        "change-production-config",
    }
    assert _row(review, system, account, "deploy-production").scope == (
        "all resources (administrator)"
    )


def test_aws_deploy_through_a_group_policy_and_the_email_tag(
    review: list[AccessEntry],
) -> None:
    system = f"aws:{AWS_ACCOUNT}"
    priya = _row(review, system, _arn("user/priya"), "deploy-production")

    assert priya.person == "priya.lindqvist@harbourline.example"  # Email tag
    assert priya.scope == f"arn:aws:ecs:eu-west-2:{AWS_ACCOUNT}:service/payments-prod/*"
    assert priya.via == (
        "group release-engineers -> managed policy deploy-payments [ecs:UpdateService]"
    )
    assert priya.evidence == [
        f"aws-prod/groups/{AWS_ACCOUNT}:release-engineers",
        f"aws-prod/policies/{AWS_ACCOUNT}:{_arn('policy/deploy-payments')}",
        f"aws-prod/users/{AWS_ACCOUNT}:priya",
    ]
    # eks:Describe* is not eks:*, and only the default policy version counts
    assert _entitlements(review, system, _arn("user/priya")) == {"deploy-production"}


def test_aws_not_action_config_writes_and_roles(review: list[AccessEntry]) -> None:
    system = f"aws:{AWS_ACCOUNT}"
    kwame = _row(
        review, system, _arn("user/people/kwame-ops"), "change-production-config"
    )
    sync = _row(
        review, system, _arn("user/service/config-sync"), "change-production-config"
    )
    role = _row(
        review, system, _arn("role/octopus-lambda-deployer"), "deploy-production"
    )

    assert kwame.person == "kwame.ashdown@harbourline.example"  # by identities
    assert kwame.via == (
        "inline policy power-user [ssm:PutParameter, secretsmanager:PutSecretValue]"
    )
    assert _entitlements(review, system, _arn("user/people/kwame-ops")) == {
        "deploy-production",
        "change-production-config",
    }  # NotAction iam:* is powerful but not administrative
    assert sync.person is None
    assert sync.scope == (
        f"arn:aws:ssm:eu-west-2:{AWS_ACCOUNT}:parameter/prod/* (with conditions)"
    )
    assert role.person is None
    assert (
        role.via
        == "managed policy lambda-release [lambda:UpdateFunctionCode] [IAM role]"
    )
    assert role.scope == f"arn:aws:lambda:eu-west-2:{AWS_ACCOUNT}:function:settlement-*"
    # read-only access gives nothing
    assert _entitlements(review, system, _arn("user/auditor")) == set()


def test_aws_managed_policy_missing_from_the_evidence_is_logged(
    sources: list[SourceData], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="evidencekit.access"):
        build_access_review(_config(), [sources[3]])

    assert any(
        _arn("policy/legacy-deploy") in message and "not in the evidence" in message
        for message in caplog.messages
    )


# ------------------------------------------------------------------------ Kubernetes


def test_kubernetes_cluster_admin_and_broad_groups(review: list[AccessEntry]) -> None:
    system = f"kubernetes:{CLUSTER}"
    imogen = _row(
        review, system, "User:imogen.farrow@harbourline.example", "administrator"
    )
    masters = _row(review, system, "Group:system:masters", "administrator")

    assert imogen.person == "imogen.farrow@harbourline.example"
    assert imogen.scope == "all namespaces (cluster-wide)"
    assert (
        imogen.via
        == "ClusterRoleBinding platform-admins -> ClusterRole cluster-admin [* on *.*]"
    )
    assert imogen.evidence == [
        "k8s-prod/clusterrolebindings/platform-admins",
        "k8s-prod/clusterroles/cluster-admin",
    ]
    assert masters.person is None
    assert masters.via.endswith(
        "[broad subject: its members bypass RBAC authorisation entirely]"
    )
    # system:authenticated may only read: it is not in the review at all
    assert _entitlements(review, system, "Group:system:authenticated") == set()


def test_kubernetes_deployers_and_config_editors_per_namespace(
    review: list[AccessEntry],
) -> None:
    system = f"kubernetes:{CLUSTER}"
    deployer = _row(
        review, system, "ServiceAccount:octopus/octopus-deployer", "deploy-production"
    )
    tomasz = _row(
        review,
        system,
        "User:Tomasz.Brennan@harbourline.example",
        "change-production-config",
    )
    oncall = _row(review, system, "User:ops-oncall", "change-production-config")

    assert deployer.person is None
    assert deployer.scope == "namespace payments-prod"
    assert deployer.via == (
        "RoleBinding payments-prod/octopus-deployer -> ClusterRole workload-deployer "
        "[create,get,list,patch,update on deployments.apps]; RoleBinding "
        "payments-prod/octopus-deployer -> ClusterRole workload-deployer "
        "[create,get,list,patch,update on statefulsets.apps]"
    )
    assert tomasz.person == "tomasz.brennan@harbourline.example"
    assert (
        tomasz.scope
        == "namespace payments-prod (only payments-config); namespace payments-prod"
    )
    assert tomasz.evidence == [
        "k8s-prod/rolebindings/payments-prod/payments-config",
        "k8s-prod/roles/payments-prod/config-editor",
    ]
    assert oncall.person == "dmitri.saltmarsh@harbourline.example"  # by identities
    # a rule on deployments/scale does not deploy
    assert (
        _entitlements(review, system, "User:hannah.velasco@harbourline.example")
        == set()
    )


# --------------------------------------------------------------------- the whole review


def test_one_person_is_joined_across_systems(review: list[AccessEntry]) -> None:
    tomasz = {
        (entry.system, entry.entitlement)
        for entry in review
        if entry.person == "tomasz.brennan@harbourline.example"
    }

    assert tomasz == {
        ("octopus", "deploy-production"),
        ("servicenow", "approve-changes"),
        (f"kubernetes:{CLUSTER}", "change-production-config"),
    }


def test_every_row_rests_on_evidence_records_that_exist(
    review: list[AccessEntry], sources: list[SourceData]
) -> None:
    refs = {
        record["_ref"]
        for source in sources
        for resource in source.resources.values()
        for record in resource.records.values()
    }

    assert review
    for entry in review:
        assert entry.evidence, entry
        assert set(entry.evidence) <= refs, entry
        assert entry.entitlement in ENTITLEMENTS
        assert entry.evidence == sorted(set(entry.evidence))


def test_order_is_people_first_then_unjoined_and_does_not_depend_on_input(
    review: list[AccessEntry], sources: list[SourceData]
) -> None:
    config = _config(
        identities=[
            {
                "person": "Kwame.Ashdown@harbourline.example",
                "accounts": [f"aws:{AWS_ACCOUNT}:kwame-ops", "octopus:svc-octopus-ci"],
            },
            {
                "person": "dmitri.saltmarsh@harbourline.example",
                "accounts": [f"kubernetes:{CLUSTER}:User:ops-oncall"],
            },
        ]
    )
    reversed_review = build_access_review(config, list(reversed(sources)))
    people = [entry.person for entry in review]
    joined = [person for person in people if person is not None]

    assert reversed_review == review
    assert people == [*joined, *([None] * (len(people) - len(joined)))]
    assert joined == sorted(joined)
    assert len(_by_key(review)) == len(review)


def test_an_account_given_to_two_people_is_a_config_error(
    sources: list[SourceData],
) -> None:
    config = _config().model_copy(
        update={
            "identities": [
                IdentityMapping(
                    person="a@harbourline.example", accounts=["octopus:Users-9"]
                ),
                IdentityMapping(
                    person="b@harbourline.example", accounts=["OCTOPUS:users-9"]
                ),
            ]
        }
    )

    with pytest.raises(
        ConfigError, match=r"OCTOPUS:users-9.*a@harbourline\.example and b@"
    ):
        build_access_review(config, sources)


def test_incomplete_sources_are_reported_and_failed_ones_give_nothing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    failed = SourceData(
        "aws-prod", "aws", "exports/aws", status=SourceStatus.FAILED, error="denied"
    )

    with caplog.at_level(logging.WARNING, logger="evidencekit.access"):
        entries = build_access_review(_config(), [failed])

    assert entries == []
    assert any(
        "source=aws-prod status=failed" in message for message in caplog.messages
    )
