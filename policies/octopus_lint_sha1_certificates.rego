# METADATA
# title: Octopus targets, workers and certificates avoid SHA-1 signatures
# description: >-
#   No deployment target or worker presents a certificate signed with SHA-1 (its
#   endpoint's CertificateSignatureAlgorithm), and no certificate in the Octopus
#   certificate library that is not archived is signed with SHA-1. Items that report
#   no algorithm (Kubernetes and SSH endpoints) are not examined.
# custom:
#   id: octopus-sha1-certificates
#   lint: OctoLintSha1Certificates
#   severity: medium
#   controls: [iso27001-2022:A.8.24, soc2-2017:CC6.7]
#   requires: [octopus.machines, octopus.workers, octopus.certificates]
package evidencekit.policies.octopus_sha1_certificates

import data.evidencekit.lib.octopus_lint as lint
import data.evidencekit.lib.util
import rego.v1

# Everything that names a signature algorithm: {kind, record, algorithm}.
in_scope[id] := {"kind": "deployment target", "record": machine, "algorithm": algorithm} if {
	some id, machine in input.octopus.machines
	algorithm := machine.Endpoint.CertificateSignatureAlgorithm
	is_string(algorithm)
}

in_scope[id] := {"kind": "worker", "record": worker, "algorithm": algorithm} if {
	some id, worker in input.octopus.workers
	algorithm := worker.Endpoint.CertificateSignatureAlgorithm
	is_string(algorithm)
}

in_scope[id] := {"kind": "certificate", "record": certificate, "algorithm": algorithm} if {
	some id, certificate in input.octopus.certificates
	not is_string(certificate.Archived)
	algorithm := certificate.SignatureAlgorithmName
	is_string(algorithm)
}

tested := count(in_scope)

findings contains finding if {
	some id, entry in in_scope
	startswith(lower(entry.algorithm), "sha1")
	finding := {
		"resource": id,
		"message": sprintf("%s %s %s", [entry.kind, lint.label(entry.record), detail(entry)]),
		"evidence": util.refs([entry.record]),
	}
}

detail(entry) := sprintf("is signed with %s (valid until %s)", [
	entry.algorithm, util.show(object.get(entry.record, "NotAfter", null)),
]) if {
	entry.kind == "certificate"
} else := sprintf("presents a certificate signed with %s (thumbprint %s)", [
	entry.algorithm, util.show(object.get(entry.record, "Thumbprint", null)),
])
