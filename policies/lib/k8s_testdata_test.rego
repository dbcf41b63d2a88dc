# Kubernetes grant fixtures for the k8s policy unit tests (test-only, not shipped).
#
# Records are shaped as the kubernetes collector writes them (docs/data-model.md):
# input.kubernetes.grants[<kind>:<name>] with permission entries and their `via`.
# `doc` is a small kubeadm-like cluster in which neither k8s policy finds anything;
# each test adds the subject it is about with `with input.kubernetes.grants as ...`.
# As lib/testdata_test.rego explains, bind package values to a variable before
# using them in an expression that carries `with input as ...`.
package evidencekit.lib.k8s_testdata

import rego.v1

ref(resource, id) := sprintf("k8s/%s/%s", [resource, id])

resource_of(kind) := {
	"Role": "roles",
	"ClusterRole": "clusterroles",
	"RoleBinding": "rolebindings",
	"ClusterRoleBinding": "clusterrolebindings",
}[kind]

# The binding and role an entry comes from; role_name is "<ns>/<name>" for a Role.
via(binding_kind, binding_name, role_kind, role_name) := {
	"binding": ref(resource_of(binding_kind), binding_name),
	"binding_kind": binding_kind,
	"binding_name": binding_name,
	"role": ref(resource_of(role_kind), role_name),
	"role_kind": role_kind,
	"role_name": role_name,
	"aggregated_from": null,
}

cluster_via(binding, role) := via("ClusterRoleBinding", binding, "ClusterRole", role)

perm(scope, group, resource, subresource, verbs, names, from) := {
	"scope": scope,
	"apiGroup": group,
	"resource": resource,
	"subresource": subresource,
	"nonResourceURL": null,
	"verbs": verbs,
	"resourceNames": names,
	"via": from,
}

url_perm(url, verbs, from) := {
	"scope": "cluster",
	"apiGroup": null,
	"resource": null,
	"subresource": null,
	"nonResourceURL": url,
	"verbs": verbs,
	"resourceNames": [],
	"via": from,
}

broad_reasons := {
	"system:masters": "its members bypass RBAC authorisation entirely",
	"system:authenticated": "every authenticated user and service account",
	"system:unauthenticated": "every anonymous request",
}

key(kind, name) := sprintf("%s:%s", [kind, name])

# A grant record; for a ServiceAccount, name is "<namespace>/<account>".
grant(kind, name, permissions) := {
	"kind": kind,
	"name": account_name(kind, name),
	"namespace": account_namespace(kind, name),
	"username": username(kind, name),
	"broad": is_broad(kind, name),
	"broad_reason": broad_reason(kind, name),
	"bindings": sort({entry.via.binding | some entry in permissions}),
	"permissions": permissions,
	"unresolved": [],
	"_ref": ref("grants", key(kind, name)),
	"_file": null,
}

account_name(kind, name) := split(name, "/")[1] if kind == "ServiceAccount"

else := name

account_namespace(kind, name) := split(name, "/")[0] if kind == "ServiceAccount"

else := null

username(kind, name) := sprintf("system:serviceaccount:%s:%s", split(name, "/")) if {
	kind == "ServiceAccount"
} else := name if {
	kind == "User"
} else := null

is_broad(kind, name) if {
	kind == "Group"
	name in object.keys(broad_reasons)
} else := false

broad_reason(kind, name) := broad_reasons[name] if is_broad(kind, name) else := null

# A grants collection holding the given records, keyed as the collector keys them.
grants(records) := {key(record.kind, full_name(record)): record | some record in records}

full_name(record) := sprintf("%s/%s", [record.namespace, record.name]) if {
	record.kind == "ServiceAccount"
} else := record.name

# --- a kubeadm-like cluster in which nothing is found ---------------------------

coredns := grant("ServiceAccount", "kube-system/coredns", [
	perm("cluster", "", "pods", null, ["list", "watch"], [], cluster_via("system:coredns", "system:coredns")),
	perm("cluster", "", "services", null, ["list", "watch"], [], cluster_via("system:coredns", "system:coredns")),
	perm("cluster", "discovery.k8s.io", "endpointslices", null, ["list", "watch"], [], cluster_via("system:coredns", "system:coredns")),
])

authenticated := grant("Group", "system:authenticated", [
	perm("cluster", "authorization.k8s.io", "selfsubjectaccessreviews", null, ["create"], [], cluster_via("system:basic-user", "system:basic-user")),
	url_perm("/healthz", ["get"], cluster_via("system:public-info-viewer", "system:public-info-viewer")),
])

kubelet_config := grant("Group", "system:bootstrappers:kubeadm:default-node-token", [perm(
	"kube-system", "", "configmaps", null, ["get"], ["kubelet-config"],
	via("RoleBinding", "kube-system/kubeadm:kubelet-config", "Role", "kube-system/kubeadm:kubelet-config"),
)])

# A subject whose only binding names a role that is not in the evidence.
stale := object.union(grant("User", "former.contractor@harbourline.example", []), {
	"bindings": [ref("rolebindings", "staging/stale-release-manager")],
	"unresolved": [{
		"binding": ref("rolebindings", "staging/stale-release-manager"),
		"roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "release-manager"},
		"reason": "Role release-manager in namespace staging is not in the evidence",
	}],
})

baseline := [coredns, authenticated, kubelet_config, stale]

doc := {
	"settings": {"kubernetes_ignored_subjects": []},
	"kubernetes": {
		"roles": {},
		"clusterroles": {},
		"rolebindings": {},
		"clusterrolebindings": {},
		"grants": grants(baseline),
	},
}

# The baseline plus extra grant records.
with_grants(records) := grants(array.concat(baseline, records))

# The one finding about a resource, or undefined.
only(findings, resource) := finding if {
	matches := [finding | some finding in findings; finding.resource == resource]
	count(matches) == 1
	finding := matches[0]
}
