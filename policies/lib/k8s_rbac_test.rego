# Unit tests for the shared Kubernetes grant helpers.
package evidencekit.lib.k8s_rbac_test

import data.evidencekit.lib.k8s_rbac as rbac
import data.evidencekit.lib.k8s_testdata as td
import rego.v1

entry(resource, subresource) := td.perm("cluster", "", resource, subresource, ["get"], [], td.cluster_via("b", "r"))

test_star_resource_matches_resources_and_subresources if {
	rbac.resource_allows(entry("*", null), "secrets", null)
	rbac.resource_allows(entry("*", null), "pods", "exec")
}

test_exact_resource_matches_only_itself if {
	rbac.resource_allows(entry("pods", null), "pods", null)
	not rbac.resource_allows(entry("pods", null), "pods", "exec")
	rbac.resource_allows(entry("pods", "exec"), "pods", "exec")
	not rbac.resource_allows(entry("pods", "exec"), "pods", null)
}

test_star_slash_subresource_matches_that_subresource_of_any_resource if {
	rbac.resource_allows(entry("*", "exec"), "pods", "exec")
	not rbac.resource_allows(entry("*", "exec"), "pods", "attach")
	not rbac.resource_allows(entry("*", "exec"), "pods", null)
}

test_resource_slash_star_is_not_a_wildcard if {
	not rbac.resource_allows(entry("pods", "*"), "pods", "exec")
	not rbac.resource_allows(entry("pods", "*"), "pods", null)
	not rbac.resource_allows(entry("*", "*"), "pods", "exec")
}

test_verb_and_group_wildcards if {
	star := td.perm("cluster", "*", "secrets", null, ["*"], [], td.cluster_via("b", "r"))
	rbac.verb_allows(star, "delete")
	rbac.group_allows(star, "apps")
	narrow := td.perm("cluster", "apps", "deployments", null, ["get"], [], td.cluster_via("b", "r"))
	rbac.verb_allows(narrow, "get")
	not rbac.verb_allows(narrow, "list")
	not rbac.group_allows(narrow, "")
}

test_every_subject_is_judged_by_default if {
	count(rbac.subjects) == 4 with input as td.doc
	count(rbac.subjects) == 4 with input as td.doc with input.settings as {}
}

test_subjects_are_ignored_by_key_or_user_name if {
	ignored := ["Group:system:authenticated", "system:serviceaccount:kube-system:coredns"]
	subjects := rbac.subjects with input as td.doc
		with input.settings.kubernetes_ignored_subjects as ignored
	object.keys(subjects) == {
		"Group:system:bootstrappers:kubeadm:default-node-token",
		"User:former.contractor@harbourline.example",
	}
}

test_a_group_is_not_ignored_by_its_bare_name if {
	count(rbac.subjects) == 4 with input as td.doc
		with input.settings.kubernetes_ignored_subjects as ["system:authenticated"]
}

test_route_names_scope_binding_role_and_aggregation if {
	from := object.union(
		td.via("RoleBinding", "payments-prod/devs", "ClusterRole", "edit"),
		{"aggregated_from": "k8s/clusterroles/system:aggregate-to-edit"},
	)
	permission := td.perm("payments-prod", "", "secrets", null, ["get"], ["db-password"], from)
	rbac.route(permission) == "in namespace payments-prod via RoleBinding payments-prod/devs -> ClusterRole edit (aggregated from ClusterRole system:aggregate-to-edit)"
	rbac.names_text(permission) == " only for names db-password"
	rbac.evidence(td.grant("Group", "devs", [permission]), [permission]) == [
		"k8s/grants/Group:devs",
		"k8s/clusterroles/edit",
		"k8s/clusterroles/system:aggregate-to-edit",
		"k8s/rolebindings/payments-prod/devs",
	]
}

test_subject_text_names_service_accounts_and_broad_groups if {
	rbac.subject_text(td.coredns) == "ServiceAccount kube-system/coredns"
	rbac.subject_text(td.authenticated) == "Group system:authenticated (a broad subject: every authenticated user and service account)"
}
