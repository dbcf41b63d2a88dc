"""The Kubernetes RBAC collector: file shapes, RBAC resolution, gaps and policies."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import regorus
from pydantic import ValidationError

from evidencekit.collectors.base import Record, SourceData
from evidencekit.collectors.kubernetes_rbac import (
    KubernetesRbacCollector,
    KubernetesSource,
    selector_matches,
)
from evidencekit.errors import CollectionError
from evidencekit.policies.loader import load_modules
from evidencekit.resources import bundled_dir
from evidencekit.results import SourceStatus

FIXTURE = Path(__file__).parent / "data" / "kubernetes" / "export"
RBAC = "rbac.authorization.k8s.io"


@pytest.fixture(scope="module")
def data() -> SourceData:
    return read(FIXTURE)


@pytest.fixture
def export(tmp_path: Path) -> Path:
    """A private copy of the recorded export that a test may change."""
    folder = tmp_path / "k8s"
    shutil.copytree(FIXTURE, folder)
    return folder


def read(folder: Path) -> SourceData:
    return KubernetesRbacCollector().read(folder, "k8s")


def grant(data: SourceData, key: str) -> Record:
    return data.resources["grants"].records[key]


def permissions(data: SourceData, key: str) -> set[tuple[Any, ...]]:
    """The (scope, group, resource, subresource, url, verbs, names) of a subject."""
    return {
        (
            entry["scope"],
            entry["apiGroup"],
            entry["resource"],
            entry["subresource"],
            entry["nonResourceURL"],
            tuple(entry["verbs"]),
            tuple(entry["resourceNames"]),
        )
        for entry in grant(data, key)["permissions"]
    }


def write(folder: Path, name: str, text: str) -> None:
    (folder / name).write_text(text, encoding="utf-8")


# ------------------------------------------------------------------------ reading


def test_recorded_export_is_complete_with_every_resource(data: SourceData) -> None:
    counts = {name: len(resource.records) for name, resource in data.resources.items()}

    assert counts == {
        "roles": 4,
        "clusterroles": 20,
        "rolebindings": 9,
        "clusterrolebindings": 14,
        "grants": 23,
    }
    kinds = [r for n, r in data.resources.items() if n != "grants"]
    assert all(r.status is SourceStatus.COMPLETE and not r.warnings for r in kinds)
    # The recording binds two subjects to roles it does not hold: the export is
    # partial, so the derived grants (and the source) are incomplete.
    assert data.resources["grants"].status is SourceStatus.INCOMPLETE
    assert data.overall_status() is SourceStatus.INCOMPLETE


def test_each_shape_of_file_is_read_into_its_kinds(data: SourceData) -> None:
    files = {name: [f.path for f in r.files] for name, r in data.resources.items()}

    assert files["clusterroles"] == [
        "custom/monitoring.yaml",  # documents separated by ---
        "rbac-list.yaml",  # kind: List
        "single/deploy-operator.yml",  # one object
    ]
    assert files["clusterrolebindings"] == ["clusterrolebindings.json"]  # typed list
    assert files["roles"] == files["rolebindings"] == ["custom/team-roles.yaml"]
    assert files["grants"] == []


def test_records_are_keyed_by_namespace_and_name_with_refs(data: SourceData) -> None:
    role = data.resources["roles"].records["payments-prod/payments-debug"]
    binding = data.resources["clusterrolebindings"].records["system:coredns"]

    assert role["_ref"] == "k8s/roles/payments-prod/payments-debug"
    assert role["_file"] == "custom/team-roles.yaml"
    assert role["metadata"]["creationTimestamp"] == "2026-05-20T07:30:00.000000Z"
    assert binding["kind"] == "ClusterRoleBinding"  # taken from the typed list
    assert binding["apiVersion"] == f"{RBAC}/v1"
    assert binding["subjects"] == [
        {
            "kind": "ServiceAccount",
            "name": "coredns",
            "namespace": "kube-system",
            "apiGroup": None,
        }
    ]
    assert binding["roleRef"] == {
        "apiGroup": RBAC,
        "kind": "ClusterRole",
        "name": "system:coredns",
    }


def test_unquoted_yaml_timestamps_become_canonical(export: Path) -> None:
    write(
        export,
        "extra.yaml",
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\n"
        "metadata: {name: late, creationTimestamp: 2026-06-01T10:00:00+02:00}\n",
    )

    role = read(export).resources["clusterroles"].records["late"]

    assert role["metadata"]["creationTimestamp"] == "2026-06-01T08:00:00.000000Z"


def test_last_applied_annotation_is_dropped_from_the_record(export: Path) -> None:
    write(
        export,
        "applied.yaml",
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n"
        "  name: applied\n  annotations:\n"
        '    kubectl.kubernetes.io/last-applied-configuration: \'{"kind":"x"}\'\n'
        "    owner: platform\n",
    )

    role = read(export).resources["clusterroles"].records["applied"]

    assert role["metadata"]["annotations"] == {"owner": "platform"}


def test_evidence_files_lists_yaml_and_json_but_not_hidden_files(export: Path) -> None:
    write(export, ".scratch.yaml", "kind: Role\n")
    write(export, "notes.txt", "not evidence\n")

    listed = KubernetesRbacCollector().evidence_files(export)

    assert [path.relative_to(export).as_posix() for path in listed] == [
        "clusterrolebindings.json",
        "custom/monitoring.yaml",
        "custom/team-roles.yaml",
        "rbac-list.yaml",
        "single/deploy-operator.yml",
    ]


def test_a_file_instead_of_a_folder_raises(tmp_path: Path) -> None:
    path = tmp_path / "rbac.yaml"
    path.write_text("kind: List\n", encoding="utf-8")

    with pytest.raises(CollectionError, match="expected an export folder"):
        read(path)


# ---------------------------------------------------------------------- gaps


def test_a_kind_absent_from_the_export_is_missing(tmp_path: Path) -> None:
    shutil.copy(FIXTURE / "clusterrolebindings.json", tmp_path)
    shutil.copy(FIXTURE / "rbac-list.yaml", tmp_path)

    data = read(tmp_path)

    assert data.resources["roles"].status is SourceStatus.MISSING
    assert data.resources["rolebindings"].status is SourceStatus.MISSING
    assert "no Role object and no RoleList" in data.resources["roles"].warnings[0]
    assert data.resources["grants"].status is SourceStatus.INCOMPLETE
    assert any("derived from roles" in w for w in data.resources["grants"].warnings)
    assert data.overall_status() is SourceStatus.INCOMPLETE


def test_an_empty_typed_list_shows_the_kind_was_exported(tmp_path: Path) -> None:
    shutil.copy(FIXTURE / "clusterrolebindings.json", tmp_path)
    shutil.copy(FIXTURE / "rbac-list.yaml", tmp_path)
    empty = {"apiVersion": f"{RBAC}/v1", "metadata": {"resourceVersion": "9"}}
    for kind in ("RoleList", "RoleBindingList"):
        write(
            tmp_path, f"{kind}.json", json.dumps({**empty, "kind": kind, "items": []})
        )

    data = read(tmp_path)

    assert data.resources["roles"].status is SourceStatus.COMPLETE
    assert data.resources["roles"].records == {}
    assert [f.path for f in data.resources["roles"].files] == ["RoleList.json"]


def test_malformed_file_fails_every_kind_but_keeps_other_files(export: Path) -> None:
    write(export, "broken.yaml", "kind: Role\nmetadata: {name: [unclosed\n")

    data = read(export)

    for name in ("roles", "clusterroles", "rolebindings", "clusterrolebindings"):
        resource = data.resources[name]
        assert resource.status is SourceStatus.FAILED
        assert any(
            "broken.yaml" in w and "not valid YAML" in w for w in resource.warnings
        )
    assert len(data.resources["clusterroles"].records) == 20
    assert data.resources["grants"].status is SourceStatus.INCOMPLETE


def test_bad_record_is_skipped_and_named_while_the_rest_are_kept(export: Path) -> None:
    write(
        export,
        "bad.yaml",
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\n"
        "metadata: {name: no-namespace}\n"
        "roleRef: {kind: ClusterRole, name: view}\n---\n"
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\n"
        "metadata: {name: sa-without-namespace}\n"
        "subjects: [{kind: ServiceAccount, name: builder}]\n"
        "roleRef: {kind: ClusterRole, name: view}\n",
    )

    data = read(export)

    role_bindings = data.resources["rolebindings"]
    assert role_bindings.status is SourceStatus.INCOMPLETE
    assert (
        "file bad.yaml, record document 1, field 'metadata.namespace'"
        in (role_bindings.warnings[0])
    )
    cluster_bindings = data.resources["clusterrolebindings"]
    assert (
        "record sa-without-namespace, field 'subjects[0].namespace'"
        in (cluster_bindings.warnings[0])
    )
    assert len(role_bindings.records) == 9
    assert len(cluster_bindings.records) == 14


def test_bad_selector_operator_and_rule_type_are_named(export: Path) -> None:
    write(
        export,
        "selectors.yaml",
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\n"
        "metadata: {name: odd}\naggregationRule:\n  clusterRoleSelectors:\n"
        "  - matchExpressions: [{key: tier, operator: Like, values: [a]}]\n---\n"
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\n"
        "metadata: {name: odd, namespace: default}\n"
        "rules: [{apiGroups: [''], resources: pods, verbs: [get]}]\n",
    )

    data = read(export)

    assert (
        "field 'aggregationRule.clusterRoleSelectors[0].matchExpressions[0]"
        in (data.resources["clusterroles"].warnings[0])
    )
    assert "field 'rules[0].resources'" in data.resources["roles"].warnings[0]
    assert "odd" not in data.resources["clusterroles"].records


def test_same_object_in_two_files_counts_as_a_duplicate(export: Path) -> None:
    shutil.copy(export / "single" / "deploy-operator.yml", export / "copy.yaml")

    resource = read(export).resources["clusterroles"]

    assert resource.duplicates == 1
    assert resource.status is SourceStatus.COMPLETE


def test_objects_of_other_kinds_are_ignored_with_a_note(export: Path) -> None:
    write(
        export,
        "mixed.yaml",
        "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: x, namespace: a}\n",
    )

    data = read(export)

    kinds = [r for n, r in data.resources.items() if n != "grants"]
    assert all(r.status is SourceStatus.COMPLETE for r in kinds)
    assert "grants: ignored objects in mixed.yaml: v1 ServiceAccount (1)" in (
        data.resources["grants"].warnings
    )


# ------------------------------------------------------------------ resolution


def test_aggregated_role_with_empty_rules_gathers_its_selected_roles(
    data: SourceData,
) -> None:
    monitoring = data.resources["clusterroles"].records["monitoring"]

    assert monitoring["rules"] == []
    # matchLabels picks monitoring-endpoints; In picks metrics; DoesNotExist
    # excludes the deprecated logs role; traces is not In the values.
    assert monitoring["aggregatedFrom"] == [
        "monitoring-endpoints",
        "monitoring-metrics",
    ]
    assert permissions(data, "ServiceAccount:monitoring/prometheus") == {
        ("cluster", "", "endpoints", None, None, ("get", "list", "watch"), ()),
        ("cluster", "", "services", None, None, ("get", "list", "watch"), ()),
        ("cluster", "", "pods", None, None, ("get", "list"), ()),
        ("cluster", "", "nodes", None, None, ("get", "list"), ()),
        ("cluster", None, None, None, "/metrics", ("get",), ()),
    }
    origins = {
        entry["via"]["aggregated_from"]
        for entry in grant(data, "ServiceAccount:monitoring/prometheus")["permissions"]
    }
    assert origins == {
        "k8s/clusterroles/monitoring-endpoints",
        "k8s/clusterroles/monitoring-metrics",
    }


def test_nested_aggregation_reaches_through_edit_and_view(data: SourceData) -> None:
    admin = data.resources["clusterroles"].records["admin"]

    assert admin["aggregatedFrom"] == ["edit"]
    assert data.resources["clusterroles"].records["edit"]["aggregatedFrom"] == ["view"]
    assert data.resources["clusterroles"].records["view"]["aggregatedFrom"] == [
        "system:aggregate-to-view"
    ]
    edit_grants = permissions(data, "Group:oidc:payments-devs")
    assert (
        "payments-prod",
        "",
        "configmaps",
        None,
        None,
        ("get", "list", "watch"),
        (),
    ) in edit_grants  # from view, aggregated into edit


def test_an_aggregated_role_does_not_select_itself_and_cycles_end(
    export: Path,
) -> None:
    write(
        export,
        "cycle.yaml",
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\n"
        "metadata: {name: ring-a, labels: {ring: 'yes'}}\n"
        "aggregationRule: {clusterRoleSelectors: [{matchLabels: {ring: 'yes'}}]}\n"
        "rules: [{apiGroups: [''], resources: [configmaps], verbs: [get]}]\n---\n"
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\n"
        "metadata: {name: ring-b, labels: {ring: 'yes'}}\n"
        "aggregationRule: {clusterRoleSelectors: [{matchLabels: {ring: 'yes'}}]}\n"
        "rules: [{apiGroups: [''], resources: [secrets], verbs: [list]}]\n---\n"
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\n"
        "metadata: {name: ring}\nsubjects: [{kind: User, name: ringo}]\n"
        "roleRef: {kind: ClusterRole, name: ring-a}\n",
    )

    data = read(export)

    assert data.resources["clusterroles"].records["ring-a"]["aggregatedFrom"] == [
        "ring-b"
    ]
    assert permissions(data, "User:ringo") == {
        ("cluster", "", "configmaps", None, None, ("get",), ()),
        ("cluster", "", "secrets", None, None, ("list",), ()),
    }


def expression(operator: str, *values: str) -> dict[str, Any]:
    return {"matchExpressions": [{"key": "a", "operator": operator, "values": values}]}


@pytest.mark.parametrize(
    ("selector", "labels", "expected"),
    [
        ({}, {"any": "thing"}, True),  # an empty selector selects everything
        ({"matchLabels": {"a": "1"}}, {"a": "1", "b": "2"}, True),
        ({"matchLabels": {"a": "1"}}, {"a": "2"}, False),
        (expression("In", "1"), {}, False),
        (expression("In", "1", "2"), {"a": "2"}, True),
        (expression("NotIn", "1"), {}, True),
        (expression("NotIn", "1"), {"a": "1"}, False),
        (expression("Exists"), {"a": ""}, True),
        (expression("DoesNotExist"), {"a": "x"}, False),
    ],
)
def test_label_selectors_follow_kubernetes_semantics(
    selector: dict[str, Any], labels: dict[str, str], expected: bool
) -> None:
    full = {"matchLabels": {}, "matchExpressions": [], **selector}
    for item in full["matchExpressions"]:
        item["values"] = list(item["values"])

    assert selector_matches(full, labels) is expected


def test_rolebinding_to_clusterrole_grants_only_in_its_namespace(
    data: SourceData,
) -> None:
    dana = grant(data, "User:dana.fox@harbourline.example")

    assert permissions(data, "User:dana.fox@harbourline.example") == {
        ("payments-prod", "*", "*", None, None, ("*",), ()),
    }  # cluster-admin's nonResourceURLs are not granted by a RoleBinding
    assert dana["permissions"][0]["via"] == {
        "binding": "k8s/rolebindings/payments-prod/dev-admin",
        "binding_kind": "RoleBinding",
        "binding_name": "payments-prod/dev-admin",
        "role": "k8s/clusterroles/cluster-admin",
        "role_kind": "ClusterRole",
        "role_name": "cluster-admin",
        "aggregated_from": None,
    }


def test_clusterrolebinding_grants_cluster_wide_with_urls(data: SourceData) -> None:
    assert permissions(data, "Group:system:masters") == {
        ("cluster", "*", "*", None, None, ("*",), ()),
        ("cluster", None, None, None, "*", ("*",), ()),
    }


def test_subresources_are_split_and_star_forms_kept_literally(
    data: SourceData,
) -> None:
    assert permissions(data, "User:lee.park@harbourline.example") == {
        ("payments-prod", "", "pods", "*", None, ("create", "get"), ()),
        ("payments-prod", "", "pods", None, None, ("get",), ()),
    }
    assert ("cluster", "", "*", "exec", None, ("create",), ()) in permissions(
        data, "User:sre-bot"
    )


def test_resource_names_are_kept(data: SourceData) -> None:
    assert permissions(data, "Group:oidc:support") == {
        ("cluster", "", "users", None, None, ("impersonate",), ("support-readonly",)),
        ("cluster", "", "groups", None, None, ("impersonate",), ("support-readers",)),
    }


def test_service_account_subjects_and_their_user_names_are_one_subject(
    data: SourceData,
) -> None:
    runner = grant(data, "ServiceAccount:ci/runner")

    assert runner["username"] == "system:serviceaccount:ci:runner"
    assert runner["namespace"] == "ci"
    assert runner["bindings"] == [
        "k8s/clusterrolebindings/ci-token-minter",
        "k8s/rolebindings/payments-prod/ci-config",  # bound as User system:...
    ]
    assert (
        "User:system:serviceaccount:ci:runner" not in data.resources["grants"].records
    )


def test_broad_groups_are_flagged_on_grants_and_bindings(data: SourceData) -> None:
    grants = data.resources["grants"].records
    bindings = data.resources["clusterrolebindings"].records

    assert {key for key, g in grants.items() if g["broad"]} == {
        "Group:system:authenticated",
        "Group:system:masters",
        "Group:system:serviceaccounts:payments-prod",
        "Group:system:unauthenticated",
    }
    assert grants["Group:system:serviceaccounts:payments-prod"]["broad_reason"] == (
        "every service account in namespace payments-prod"
    )
    assert bindings["system:public-info-viewer"]["broadSubjects"] == [
        "Group system:authenticated",
        "Group system:unauthenticated",
    ]
    assert bindings["system:coredns"]["broad"] is False


def test_binding_to_a_missing_role_is_a_warning_and_grants_nothing(
    data: SourceData,
) -> None:
    ghost = grant(data, "User:ghost@harbourline.example")

    assert ghost["permissions"] == []
    assert ghost["unresolved"] == [
        {
            "binding": "k8s/clusterrolebindings/ghost-admin",
            "roleRef": {
                "apiGroup": RBAC,
                "kind": "ClusterRole",
                "name": "cluster-admin-old",
            },
            "reason": "ClusterRole cluster-admin-old is not in the evidence",
        }
    ]
    assert data.resources["grants"].status is SourceStatus.INCOMPLETE
    assert (
        "grants: RoleBinding staging/stale-release-manager: Role release-manager in "
        "namespace staging is not in the evidence; its subjects get nothing from it"
    ) in data.resources["grants"].warnings


def test_clusterrolebinding_to_a_role_grants_nothing(export: Path) -> None:
    write(
        export,
        "wrong-ref.yaml",
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\n"
        "metadata: {name: wrong}\nsubjects: [{kind: User, name: mallory}]\n"
        "roleRef: {kind: Role, name: payments-debug}\n",
    )

    mallory = read(export).resources["grants"].records["User:mallory"]

    assert mallory["permissions"] == []
    assert mallory["unresolved"][0]["reason"] == (
        "a ClusterRoleBinding cannot refer to a Role"
    )


def test_grants_record_carries_its_ref_and_no_single_file(data: SourceData) -> None:
    coredns = grant(data, "ServiceAccount:kube-system/coredns")

    assert coredns["_ref"] == "k8s/grants/ServiceAccount:kube-system/coredns"
    assert coredns["_file"] is None
    assert coredns["kind"] == "ServiceAccount"
    assert coredns["name"] == "coredns"


# ------------------------------------------------------------------ config model


def test_config_model_takes_a_folder_or_a_kubeconfig() -> None:
    folder = KubernetesSource.model_validate(
        {
            "name": "prod-k8s",
            "type": "kubernetes",
            "path": "exports/k8s",
            "cluster": "prod",
        }
    )
    live = KubernetesSource.model_validate(
        {
            "name": "prod-k8s",
            "type": "kubernetes",
            "kubeconfig": "~/.kube/config",
            "context": "prod-admin",
            "cluster": "prod-eu-west-1",
        }
    )

    assert folder.path == Path("exports/k8s")
    assert live.context == "prod-admin"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({}, "either path"),
        ({"path": "a", "kubeconfig": "b"}, "either path"),
        ({"path": "a", "context": "c"}, "context is only used with kubeconfig"),
        ({"path": "a", "colour": "blue"}, "Extra inputs"),
    ],
)
def test_config_model_rejects_unclear_origins(
    extra: dict[str, str], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        KubernetesSource.model_validate(
            {"name": "k8s", "type": "kubernetes", "cluster": "prod", **extra}
        )


# ------------------------------------------------------------ policies end to end


def evaluate(data: SourceData, settings: dict[str, Any]) -> dict[str, Any]:
    """Run both Kubernetes policies on the collector's records with regorus."""
    engine = regorus.Engine()
    for path, text in load_modules(bundled_dir("policies")):
        if path.startswith(("k8s_", "lib/k8s_")):
            engine.add_policy(path, text)
    collections = {name: r.records for name, r in data.resources.items()}
    engine.set_input_json(json.dumps({"settings": settings, "kubernetes": collections}))
    results = {}
    for package in ("k8s_cluster_admin", "k8s_sensitive_permissions"):
        prefix = f"data.evidencekit.policies.{package}"
        findings = json.loads(engine.eval_rule_as_json(f"{prefix}.findings"))
        results[package] = {
            "tested": engine.eval_rule(f"{prefix}.tested"),
            "findings": {f["resource"]: f for f in findings},
        }
    return results


def test_policies_on_the_recorded_cluster_find_the_planted_grants(
    data: SourceData,
) -> None:
    results = evaluate(data, {"kubernetes_ignored_subjects": []})

    admin, sensitive = (
        results["k8s_cluster_admin"],
        results["k8s_sensitive_permissions"],
    )
    assert admin["tested"] == sensitive["tested"] == 23
    assert set(admin["findings"]) == {
        "Group:kubeadm:cluster-admins",
        "Group:oidc:platform-admins",
        "Group:oidc:platform-ops",
        "Group:system:masters",
        "User:dana.fox@harbourline.example",
    }
    assert set(sensitive["findings"]) == set(admin["findings"]) | {
        "Group:oidc:payments-devs",
        "Group:oidc:payments-oncall",
        "Group:oidc:support",
        "ServiceAccount:ci/runner",
        "ServiceAccount:octopus/octopus-deployer",
        "ServiceAccount:platform/rbac-operator",
        "User:sre-bot",
        "User:system:kube-controller-manager",
    }  # not lee.park (pods/*) nor prometheus (the deprecated secrets role)


def test_policy_findings_cite_records_that_exist(data: SourceData) -> None:
    results = evaluate(data, {})
    refs = {
        record["_ref"]
        for resource in data.resources.values()
        for record in resource.records.values()
    }

    for policy in results.values():
        for finding in policy["findings"].values():
            assert finding["evidence"][0].startswith("k8s/grants/")
            assert set(finding["evidence"]) <= refs


def test_ignored_subjects_are_left_out_of_both_policies(data: SourceData) -> None:
    ignored = ["Group:system:masters", "system:kube-controller-manager"]

    results = evaluate(data, {"kubernetes_ignored_subjects": ignored})

    for policy in results.values():
        assert policy["tested"] == 21
        assert "Group:system:masters" not in policy["findings"]
    assert (
        "User:system:kube-controller-manager"
        not in (results["k8s_sensitive_permissions"]["findings"])
    )
