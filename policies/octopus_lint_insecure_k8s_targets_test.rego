# Unit tests for the octopus-insecure-k8s-targets policy.
package evidencekit.policies.octopus_insecure_k8s_targets_test

import data.evidencekit.policies.octopus_insecure_k8s_targets as policy
import rego.v1

target(id, style, url, skip) := {
	"Id": id, "Name": lower(id), "IsDisabled": false,
	"Endpoint": {"CommunicationStyle": style, "ClusterUrl": url, "SkipTlsVerification": skip},
	"_ref": sprintf("octopus/machines/%s", [id]),
}

doc := {"octopus": {"machines": {
	"Machines-1": target("Machines-1", "Kubernetes", "https://aks.example.invalid", false),
	"Machines-2": target("Machines-2", "Kubernetes", "https://eks.example.invalid", true),
	"Machines-3": target("Machines-3", "Kubernetes", "http://k3s.example.invalid:6443", true),
	"Machines-4": target("Machines-4", "TentaclePassive", null, null),
}}}

test_skipped_verification_and_plain_http_fail if {
	d := doc
	findings := policy.findings with input as d
	findings == {
		{
			"resource": "Machines-2",
			"message": `Kubernetes target Machines-2 ("machines-2") skips TLS certificate verification`,
			"evidence": ["octopus/machines/Machines-2"],
		},
		{
			"resource": "Machines-3",
			"message": `Kubernetes target Machines-3 ("machines-3") skips TLS certificate verification; reaches its cluster over plain HTTP (http://k3s.example.invalid:6443)`,
			"evidence": ["octopus/machines/Machines-3"],
		},
	}
}

test_only_kubernetes_targets_are_in_scope if {
	d := doc
	policy.tested == 3 with input as d
}

test_a_target_without_cluster_url_fails_closed if {
	d := doc
	machines := {"Machines-5": target("Machines-5", "Kubernetes", null, false)}
	findings := policy.findings with input as d with input.octopus.machines as machines
	[f | some f in findings][0].message == `Kubernetes target Machines-5 ("machines-5") has no cluster URL in the evidence, so its transport cannot be shown to use TLS`
}
