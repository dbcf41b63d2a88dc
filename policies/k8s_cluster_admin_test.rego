# Unit tests for the k8s-cluster-admin policy.
package evidencekit.policies.k8s_cluster_admin_test

import data.evidencekit.lib.k8s_testdata as td
import data.evidencekit.policies.k8s_cluster_admin as policy
import rego.v1

cluster_admin_rules(scope, from) := [
	td.perm(scope, "*", "*", null, ["*"], [], from),
	td.url_perm("*", ["*"], from),
]

masters := td.grant("Group", "system:masters", cluster_admin_rules(
	"cluster",
	td.cluster_via("cluster-admin", "cluster-admin"),
))

test_kubeadm_baseline_without_administrators_passes if {
	policy.findings == set() with input as td.doc
	policy.tested == 4 with input as td.doc
}

test_system_masters_bound_to_cluster_admin_is_reported_as_broad if {
	grants := td.with_grants([masters])
	findings := policy.findings with input as td.doc with input.kubernetes.grants as grants
	findings == {{
		"resource": "Group:system:masters",
		"message": "Group system:masters (a broad subject: its members bypass RBAC authorisation entirely) holds full administrative access: the cluster-admin role cluster-wide via ClusterRoleBinding cluster-admin -> ClusterRole cluster-admin",
		"evidence": [
			"k8s/grants/Group:system:masters",
			"k8s/clusterrolebindings/cluster-admin",
			"k8s/clusterroles/cluster-admin",
		],
	}}
	policy.tested == 5 with input as td.doc with input.kubernetes.grants as grants
}

test_cluster_admin_through_a_rolebinding_is_reported_with_its_namespace if {
	from := td.via("RoleBinding", "payments-prod/dev-admin", "ClusterRole", "cluster-admin")
	dana := td.grant("User", "dana.fox@harbourline.example", [td.perm("payments-prod", "*", "*", null, ["*"], [], from)])
	grants := td.with_grants([dana])
	finding := td.only(policy.findings, "User:dana.fox@harbourline.example") with input as td.doc
		with input.kubernetes.grants as grants
	finding.message == "User dana.fox@harbourline.example holds full administrative access: the cluster-admin role in namespace payments-prod via RoleBinding payments-prod/dev-admin -> ClusterRole cluster-admin"
	"k8s/rolebindings/payments-prod/dev-admin" in finding.evidence
}

test_cluster_admin_by_name_counts_even_when_its_rules_were_narrowed if {
	from := td.cluster_via("auditors", "cluster-admin")
	auditors := td.grant("Group", "oidc:auditors", [td.perm("cluster", "", "pods", null, ["get"], [], from)])
	grants := td.with_grants([auditors])
	td.only(policy.findings, "Group:oidc:auditors") with input as td.doc
		with input.kubernetes.grants as grants
}

test_custom_role_with_every_verb_on_every_resource_is_reported if {
	from := td.cluster_via("platform-ops", "platform-ops")
	ops := td.grant("Group", "oidc:platform-ops", [td.perm("cluster", "*", "*", null, ["*"], [], from)])
	grants := td.with_grants([ops])
	finding := td.only(policy.findings, "Group:oidc:platform-ops") with input as td.doc
		with input.kubernetes.grants as grants
	finding.message == `Group oidc:platform-ops holds full administrative access: every verb on every resource of API group "*" cluster-wide via ClusterRoleBinding platform-ops -> ClusterRole platform-ops`
}

test_wildcard_on_the_core_group_alone_still_counts if {
	from := td.via("RoleBinding", "batch/owner", "Role", "batch/owner")
	owner := td.grant("ServiceAccount", "batch/owner", [td.perm("batch", "", "*", null, ["*"], [], from)])
	grants := td.with_grants([owner])
	finding := td.only(policy.findings, "ServiceAccount:batch/owner") with input as td.doc
		with input.kubernetes.grants as grants
	contains(finding.message, `every verb on every resource of API group "" in namespace batch`)
}

test_partial_wildcards_are_not_full_administration if {
	from := td.cluster_via("wide", "wide")
	wide := td.grant("Group", "oidc:wide", [
		td.perm("cluster", "*", "*", null, ["get", "list", "watch"], [], from),
		td.perm("cluster", "*", "deployments", null, ["*"], [], from),
		td.perm("cluster", "*", "*", "exec", ["*"], [], from),
		td.url_perm("*", ["*"], from),
	])
	grants := td.with_grants([wide])
	policy.findings == set() with input as td.doc with input.kubernetes.grants as grants
}

test_subjects_named_in_the_setting_are_left_out if {
	grants := td.with_grants([masters])
	policy.findings == set() with input as td.doc
		with input.kubernetes.grants as grants
		with input.settings.kubernetes_ignored_subjects as ["Group:system:masters"]
	policy.tested == 4 with input as td.doc
		with input.kubernetes.grants as grants
		with input.settings.kubernetes_ignored_subjects as ["Group:system:masters"]
}

test_missing_setting_ignores_nothing if {
	grants := td.with_grants([masters])
	td.only(policy.findings, "Group:system:masters") with input as td.doc
		with input.kubernetes.grants as grants
		with input.settings as {}
}

test_binding_to_a_missing_role_grants_nothing_but_is_counted if {
	policy.tested == 4 with input as td.doc
	not td.only(policy.findings, "User:former.contractor@harbourline.example") with input as td.doc
}

test_no_grants_means_nothing_tested if {
	policy.tested == 0 with input as td.doc with input.kubernetes.grants as {}
}
