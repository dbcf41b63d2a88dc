# Unit tests for the octopus-sha1-certificates policy.
package evidencekit.policies.octopus_sha1_certificates_test

import data.evidencekit.policies.octopus_sha1_certificates as policy
import rego.v1

tentacle(resource, id, algorithm) := {
	"Id": id, "Name": lower(id), "Thumbprint": "AB12",
	"Endpoint": {"CommunicationStyle": "TentaclePassive", "CertificateSignatureAlgorithm": algorithm},
	"_ref": sprintf("octopus/%s/%s", [resource, id]),
}

certificate(id, algorithm, archived) := {
	"Id": id, "Name": lower(id), "SignatureAlgorithmName": algorithm, "Archived": archived,
	"NotAfter": "2028-01-01T05:00:00.000000Z", "_ref": sprintf("octopus/certificates/%s", [id]),
}

doc := {"octopus": {
	"machines": {
		"Machines-1": tentacle("machines", "Machines-1", "sha256RSA"),
		"Machines-2": tentacle("machines", "Machines-2", "sha1RSA"),
		"Machines-3": {"Id": "Machines-3", "Endpoint": {"CommunicationStyle": "Kubernetes", "CertificateSignatureAlgorithm": null}},
	},
	"workers": {"Workers-1": tentacle("workers", "Workers-1", "SHA1RSA")},
	"certificates": {
		"Certificates-1": certificate("Certificates-1", "sha256RSA", null),
		"Certificates-2": certificate("Certificates-2", "sha1RSA", null),
		"Certificates-3": certificate("Certificates-3", "sha1RSA", "2026-05-01T00:00:00.000000Z"),
	},
}}

test_sha1_targets_workers_and_certificates_fail if {
	d := doc
	findings := policy.findings with input as d
	findings == {
		{
			"resource": "Machines-2",
			"message": `deployment target Machines-2 ("machines-2") presents a certificate signed with sha1RSA (thumbprint "AB12")`,
			"evidence": ["octopus/machines/Machines-2"],
		},
		{
			"resource": "Workers-1",
			"message": `worker Workers-1 ("workers-1") presents a certificate signed with SHA1RSA (thumbprint "AB12")`,
			"evidence": ["octopus/workers/Workers-1"],
		},
		{
			"resource": "Certificates-2",
			"message": `certificate Certificates-2 ("certificates-2") is signed with sha1RSA (valid until "2028-01-01T05:00:00.000000Z")`,
			"evidence": ["octopus/certificates/Certificates-2"],
		},
	}
}

test_items_without_an_algorithm_and_archived_certificates_are_not_in_scope if {
	d := doc
	policy.tested == 5 with input as d
}
