# METADATA
# title: Few subjects hold full Kubernetes administration
# description: >-
#   Reports every subject bound to the cluster-admin ClusterRole, or to any role
#   that grants every verb ("*") on every resource ("*"), whether cluster-wide
#   (ClusterRoleBinding) or in one namespace (RoleBinding). Built-in system subjects
#   such as system:masters are reported like any other; a subject is left out only
#   when it is listed in settings.kubernetes_ignored_subjects.
# custom:
#   id: k8s-cluster-admin
#   severity: high
#   controls: [iso27001-2022:A.8.2, iso27001-2022:A.5.15, iso27001-2022:A.8.3,
#              soc2-2017:CC6.1, soc2-2017:CC6.3]
#   requires: [kubernetes.roles, kubernetes.clusterroles, kubernetes.rolebindings,
#              kubernetes.clusterrolebindings, kubernetes.grants]
package evidencekit.policies.k8s_cluster_admin

import data.evidencekit.lib.k8s_rbac as rbac
import rego.v1

# Every bound subject that is not ignored, including those whose bindings name a
# role that is not in the evidence (they hold nothing from it).
tested := count(rbac.subjects)

findings contains finding if {
	some key, grant in rbac.subjects
	entries := [entry | some entry in grant.permissions; full_admin(entry)]
	count(entries) > 0
	routes := {sprintf("%s%s %s", [what(entry), rbac.names_text(entry), rbac.route(entry)]) |
		some entry in entries
	}
	finding := {
		"resource": key,
		"message": sprintf("%s holds full administrative access: %s", [
			rbac.subject_text(grant),
			concat("; ", sort(routes)),
		]),
		"evidence": rbac.evidence(grant, entries),
	}
}

full_admin(entry) if cluster_admin_role(entry)

full_admin(entry) if wildcard(entry)

cluster_admin_role(entry) if {
	entry.via.role_kind == "ClusterRole"
	entry.via.role_name == "cluster-admin"
}

wildcard(entry) if {
	"*" in entry.verbs
	entry.resource == "*"
	entry.subresource == null
}

what(entry) := "the cluster-admin role" if cluster_admin_role(entry)

else := sprintf("every verb on every resource of API group %q", [entry.apiGroup])
