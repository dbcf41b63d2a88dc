# Shared reading of Kubernetes grants (input.kubernetes.grants): which subjects are
# judged, how a permission entry matches a request, and how to cite and describe it.
#
# A permission entry is one (apiGroup, resource[/subresource]) or non-resource URL of
# a rule, with its verbs, resourceNames, scope ("cluster" or a namespace) and `via`
# (the binding and role it comes from). Matching follows the API server:
# `*` as the resource matches every resource and subresource, `*/exec` matches the
# exec subresource of any resource, `pods` does not match `pods/exec`, and `pods/*`
# is not a wildcard (it matches nothing that exists).
package evidencekit.lib.k8s_rbac

import rego.v1

# Subjects left out on purpose (settings.kubernetes_ignored_subjects): a grant key
# such as "Group:system:masters" or a Kubernetes user name such as
# "system:serviceaccount:kube-system:coredns". Nothing is left out by default.
ignored := {entry | some entry in object.get(input, ["settings", "kubernetes_ignored_subjects"], [])}

ignored_subject(key, _) if key in ignored

ignored_subject(_, grant) if {
	is_string(grant.username)
	grant.username in ignored
}

# The grant records a policy judges, keyed as in the input.
subjects[key] := grant if {
	some key, grant in input.kubernetes.grants
	not ignored_subject(key, grant)
}

verb_allows(entry, verb) if verb in entry.verbs

verb_allows(entry, _) if "*" in entry.verbs

group_allows(entry, group) if entry.apiGroup == group

group_allows(entry, _) if entry.apiGroup == "*"

# True when the entry covers requests for resource (and subresource, null for none).
resource_allows(entry, _, _) if {
	entry.resource == "*"
	entry.subresource == null
}

resource_allows(entry, resource, subresource) if {
	entry.resource == resource
	entry.subresource == subresource
}

resource_allows(entry, _, subresource) if {
	is_string(subresource)
	entry.resource == "*"
	entry.subresource == subresource
}

# "cluster-wide" or "in namespace X".
scope_text(entry) := "cluster-wide" if entry.scope == "cluster"

else := sprintf("in namespace %s", [entry.scope])

# Where an entry comes from: the binding, the role and any aggregated component.
route(entry) := sprintf("%s via %s %s -> %s %s%s", [
	scope_text(entry),
	entry.via.binding_kind, entry.via.binding_name,
	entry.via.role_kind, entry.via.role_name,
	aggregated_text(entry.via),
])

aggregated_text(via) := sprintf(" (aggregated from ClusterRole %s)", [ref_name(via.aggregated_from)]) if {
	is_string(via.aggregated_from)
} else := ""

# The last part of a "<source>/<resource>/<name>" reference.
ref_name(ref) := name if {
	parts := split(ref, "/")
	name := parts[count(parts) - 1]
}

# " only for names a, b" when the entry is limited by resourceNames.
names_text(entry) := sprintf(" only for names %s", [concat(", ", entry.resourceNames)]) if {
	count(entry.resourceNames) > 0
} else := ""

# "User alice", "ServiceAccount ns/name", with the reason when the subject is broad.
subject_text(grant) := sprintf("%s %s%s", [grant.kind, subject_name(grant), broad_text(grant)])

subject_name(grant) := sprintf("%s/%s", [grant.namespace, grant.name]) if {
	grant.kind == "ServiceAccount"
} else := grant.name

broad_text(grant) := sprintf(" (a broad subject: %s)", [grant.broad_reason]) if {
	grant.broad == true
} else := ""

# The grant, then each binding, role and aggregated component behind the entries.
evidence(grant, entries) := array.concat([grant._ref], sort({ref |
	some entry in entries
	some ref in [entry.via.binding, entry.via.role, entry.via.aggregated_from]
	is_string(ref)
}))
