# METADATA
# title: Sensitive Kubernetes permissions are held only where needed
# description: >-
#   Reports every subject that can read secrets (get, list or watch), run commands
#   in or attach to pods (create on pods/exec or pods/attach, or get, which clusters
#   before Kubernetes 1.31 accept for WebSocket connections), escalate or bind
#   roles, impersonate users, groups or service accounts, or create service
#   account tokens, with one finding per subject that lists each capability and
#   the binding and role it comes from. Built-in system subjects are reported like
#   any other; a subject is left out only when it is listed in
#   settings.kubernetes_ignored_subjects.
# custom:
#   id: k8s-sensitive-permissions
#   severity: high
#   controls: [iso27001-2022:A.8.2, iso27001-2022:A.5.15, iso27001-2022:A.8.3,
#              soc2-2017:CC6.1, soc2-2017:CC6.3]
#   requires: [kubernetes.roles, kubernetes.clusterroles, kubernetes.rolebindings,
#              kubernetes.clusterrolebindings, kubernetes.grants]
package evidencekit.policies.k8s_sensitive_permissions

import data.evidencekit.lib.k8s_rbac as rbac
import rego.v1

tested := count(rbac.subjects)

# Each capability and the verbs that give it.
capability_verbs := {
	"read secrets": ["get", "list", "watch"],
	"exec into pods": ["create", "get"],
	"attach to pods": ["create", "get"],
	"escalate roles": ["escalate"],
	"bind roles": ["bind"],
	"impersonate": ["impersonate"],
	"create service account tokens": ["create"],
}

findings contains finding if {
	some key, grant in rbac.subjects
	hits := [{"capability": capability, "entry": entry} |
		some entry in grant.permissions
		some capability, _ in capability_verbs
		count(held_verbs(capability, entry)) > 0
		targets(capability, entry)
	]
	count(hits) > 0
	lines := {line(hit) | some hit in hits}
	finding := {
		"resource": key,
		"message": sprintf("%s can %s", [rbac.subject_text(grant), concat("; ", sort(lines))]),
		"evidence": rbac.evidence(grant, [hit.entry | some hit in hits]),
	}
}

line(hit) := sprintf("%s [%s]%s %s", [
	hit.capability,
	concat(", ", held_verbs(hit.capability, hit.entry)),
	rbac.names_text(hit.entry),
	rbac.route(hit.entry),
])

held_verbs(capability, entry) := ["*"] if "*" in entry.verbs

else := [verb | some verb in capability_verbs[capability]; verb in entry.verbs]

targets("read secrets", entry) if {
	rbac.group_allows(entry, "")
	rbac.resource_allows(entry, "secrets", null)
}

targets("exec into pods", entry) if {
	rbac.group_allows(entry, "")
	rbac.resource_allows(entry, "pods", "exec")
}

targets("attach to pods", entry) if {
	rbac.group_allows(entry, "")
	rbac.resource_allows(entry, "pods", "attach")
}

targets(capability, entry) if {
	capability in {"escalate roles", "bind roles"}
	rbac.group_allows(entry, "rbac.authorization.k8s.io")
	some resource in ["roles", "clusterroles"]
	rbac.resource_allows(entry, resource, null)
}

targets("impersonate", entry) if {
	some target in impersonation_targets
	rbac.group_allows(entry, target.group)
	rbac.resource_allows(entry, target.resource, null)
}

# Extra user information is impersonated as userextras/<key>.
targets("impersonate", entry) if {
	rbac.group_allows(entry, "authentication.k8s.io")
	entry.resource == "userextras"
}

targets("create service account tokens", entry) if {
	rbac.group_allows(entry, "")
	rbac.resource_allows(entry, "serviceaccounts", "token")
}

impersonation_targets := [
	{"group": "", "resource": "users"},
	{"group": "", "resource": "groups"},
	{"group": "", "resource": "serviceaccounts"},
	{"group": "authentication.k8s.io", "resource": "uids"},
	{"group": "authentication.k8s.io", "resource": "userextras"},
]
