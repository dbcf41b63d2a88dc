# METADATA
# title: Octopus Kubernetes targets verify TLS
# description: >-
#   Every Octopus Kubernetes deployment target reaches its cluster over https:// and
#   verifies the cluster's certificate (SkipTlsVerification is not true). A target
#   whose cluster URL is not in the evidence fails, because its transport cannot be
#   shown to be protected.
# custom:
#   id: octopus-insecure-k8s-targets
#   lint: OctoLintInsecureK8sTargets
#   severity: high
#   controls: [iso27001-2022:A.8.20, iso27001-2022:A.8.24, soc2-2017:CC6.6, soc2-2017:CC6.7]
#   requires: [octopus.machines]
package evidencekit.policies.octopus_insecure_k8s_targets

import data.evidencekit.lib.octopus_lint as lint
import data.evidencekit.lib.util
import rego.v1

in_scope[id] := machine if {
	some id, machine in input.octopus.machines
	machine.Endpoint.CommunicationStyle == "Kubernetes"
}

tested := count(in_scope)

findings contains finding if {
	some id, machine in in_scope
	problems := [text | some check in checks; text := problem(check, machine.Endpoint)]
	count(problems) > 0
	finding := {
		"resource": id,
		"message": sprintf("Kubernetes target %s %s", [lint.label(machine), concat("; ", problems)]),
		"evidence": util.refs([machine]),
	}
}

checks := ["tls", "url"]

problem("tls", endpoint) := "skips TLS certificate verification" if {
	endpoint.SkipTlsVerification == true
}

problem("url", endpoint) := sprintf("reaches its cluster over plain HTTP (%s)", [endpoint.ClusterUrl]) if {
	lint.plain_http(endpoint.ClusterUrl)
}

problem("url", endpoint) := "has no cluster URL in the evidence, so its transport cannot be shown to use TLS" if {
	not is_string(endpoint.ClusterUrl)
}
