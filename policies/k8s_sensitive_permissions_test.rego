# Unit tests for the k8s-sensitive-permissions policy.
package evidencekit.policies.k8s_sensitive_permissions_test

import data.evidencekit.lib.k8s_testdata as td
import data.evidencekit.policies.k8s_sensitive_permissions as policy
import rego.v1

crb := td.cluster_via("crb", "role")

ns_via := td.via("RoleBinding", "payments-prod/rb", "Role", "payments-prod/role")

# The findings when one subject holds the given permission entries.
findings_for(permissions) := result if {
	grants := td.with_grants([td.grant("User", "alice", permissions)])
	result := policy.findings with input as td.doc with input.kubernetes.grants as grants
}

message_for(permissions) := finding.message if {
	some finding in findings_for(permissions)
	finding.resource == "User:alice"
}

flagged(permissions) if message_for(permissions)

test_kubeadm_baseline_passes if {
	policy.findings == set() with input as td.doc
	policy.tested == 4 with input as td.doc
}

test_reading_secrets_with_any_read_verb_is_reported if {
	message_for([td.perm("cluster", "", "secrets", null, ["get"], [], crb)]) == "User alice can read secrets [get] cluster-wide via ClusterRoleBinding crb -> ClusterRole role"
	flagged([td.perm("cluster", "", "secrets", null, ["watch"], [], crb)])
	flagged([td.perm("cluster", "", "secrets", null, ["list", "create"], [], crb)])
	flagged([td.perm("cluster", "*", "*", null, ["get"], [], crb)])
}

test_other_secret_verbs_and_groups_are_not_reading if {
	not flagged([td.perm("cluster", "", "secrets", null, ["create", "delete"], [], crb)])
	not flagged([td.perm("cluster", "apps", "secrets", null, ["get"], [], crb)])
	not flagged([td.perm("cluster", "", "configmaps", null, ["get", "list"], [], crb)])
	not flagged([td.url_perm("/secrets", ["get"], crb)])
}

test_exec_and_attach_need_the_subresource if {
	message_for([td.perm("payments-prod", "", "pods", "exec", ["create"], [], ns_via)]) == "User alice can exec into pods [create] in namespace payments-prod via RoleBinding payments-prod/rb -> Role payments-prod/role"
	flagged([td.perm("cluster", "", "pods", "attach", ["create"], [], crb)])
	flagged([td.perm("cluster", "", "*", "exec", ["create"], [], crb)])
	not flagged([td.perm("cluster", "", "pods", null, ["create", "get"], [], crb)])
	not flagged([td.perm("cluster", "", "pods", "*", ["create", "get"], [], crb)])
	not flagged([td.perm("cluster", "", "pods", "exec", ["list", "watch"], [], crb)])
}

test_exec_over_websocket_with_get_is_reported if {
	message_for([td.perm("cluster", "", "pods", "exec", ["get"], [], crb)]) == "User alice can exec into pods [get] cluster-wide via ClusterRoleBinding crb -> ClusterRole role"
}

test_escalate_and_bind_on_roles_are_reported if {
	rbac_group := "rbac.authorization.k8s.io"
	message_for([td.perm("cluster", rbac_group, "clusterroles", null, ["bind", "escalate", "get"], [], crb)]) == "User alice can bind roles [bind] cluster-wide via ClusterRoleBinding crb -> ClusterRole role; escalate roles [escalate] cluster-wide via ClusterRoleBinding crb -> ClusterRole role"
	flagged([td.perm("payments-prod", rbac_group, "roles", null, ["bind"], [], ns_via)])
	not flagged([td.perm("cluster", rbac_group, "rolebindings", null, ["create", "update"], [], crb)])
	not flagged([td.perm("cluster", "", "pods", null, ["escalate", "bind"], [], crb)])
}

test_impersonation_of_each_identity_kind_is_reported if {
	flagged([td.perm("cluster", "", "users", null, ["impersonate"], [], crb)])
	flagged([td.perm("cluster", "", "groups", null, ["impersonate"], [], crb)])
	flagged([td.perm("payments-prod", "", "serviceaccounts", null, ["impersonate"], [], ns_via)])
	flagged([td.perm("cluster", "authentication.k8s.io", "uids", null, ["impersonate"], [], crb)])
	flagged([td.perm("cluster", "authentication.k8s.io", "userextras", "scopes", ["impersonate"], [], crb)])
	not flagged([td.perm("cluster", "", "users", null, ["get", "list"], [], crb)])
}

test_resource_names_are_shown if {
	message_for([td.perm("cluster", "", "users", null, ["impersonate"], ["support-readonly"], crb)]) == "User alice can impersonate [impersonate] only for names support-readonly cluster-wide via ClusterRoleBinding crb -> ClusterRole role"
}

test_creating_service_account_tokens_is_reported if {
	flagged([td.perm("cluster", "", "serviceaccounts", "token", ["create"], [], crb)])
	not flagged([td.perm("cluster", "", "serviceaccounts", null, ["create"], [], crb)])
	not flagged([td.perm("cluster", "", "serviceaccounts", "token", ["get"], [], crb)])
}

test_full_wildcard_lists_every_capability_once if {
	message := message_for([td.perm("cluster", "*", "*", null, ["*"], [], crb)])
	every capability in ["read secrets [*]", "exec into pods [*]", "attach to pods [*]", "escalate roles [*]", "bind roles [*]", "impersonate [*]", "create service account tokens [*]"] {
		contains(message, capability)
	}
	count(split(message, "; ")) == 7
}

test_one_finding_per_subject_cites_every_binding_and_role if {
	aggregated := object.union(td.via("RoleBinding", "payments-prod/devs", "ClusterRole", "edit"), {"aggregated_from": "k8s/clusterroles/system:aggregate-to-edit"})
	devs := td.grant("Group", "oidc:payments-devs", [
		td.perm("payments-prod", "", "secrets", null, ["get", "list", "watch"], [], aggregated),
		td.perm("cluster", "", "pods", "exec", ["create"], [], td.cluster_via("devs-exec", "exec-anywhere")),
	])
	grants := td.with_grants([devs])
	findings := policy.findings with input as td.doc with input.kubernetes.grants as grants
	count(findings) == 1
	some finding in findings
	finding.resource == "Group:oidc:payments-devs"
	finding.message == "Group oidc:payments-devs can exec into pods [create] cluster-wide via ClusterRoleBinding devs-exec -> ClusterRole exec-anywhere; read secrets [get, list, watch] in namespace payments-prod via RoleBinding payments-prod/devs -> ClusterRole edit (aggregated from ClusterRole system:aggregate-to-edit)"
	finding.evidence == [
		"k8s/grants/Group:oidc:payments-devs",
		"k8s/clusterrolebindings/devs-exec",
		"k8s/clusterroles/edit",
		"k8s/clusterroles/exec-anywhere",
		"k8s/clusterroles/system:aggregate-to-edit",
		"k8s/rolebindings/payments-prod/devs",
	]
}

test_system_subjects_are_reported_like_any_other if {
	controller := td.grant("User", "system:kube-controller-manager", [
		td.perm("cluster", "", "secrets", null, ["get"], [], td.cluster_via("system:kube-controller-manager", "system:kube-controller-manager")),
	])
	grants := td.with_grants([controller])
	td.only(policy.findings, "User:system:kube-controller-manager") with input as td.doc
		with input.kubernetes.grants as grants
	policy.findings == set() with input as td.doc
		with input.kubernetes.grants as grants
		with input.settings.kubernetes_ignored_subjects as ["system:kube-controller-manager"]
}
