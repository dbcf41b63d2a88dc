# METADATA
# title: Enabled Octopus deployment targets are healthy
# description: >-
#   No enabled deployment target has the HealthStatus Unhealthy or Unavailable. The
#   status is the one the server reported when the evidence was collected, not a
#   history over the period. Disabled targets are not examined.
# custom:
#   id: octopus-unhealthy-targets
#   lint: OctoLintUnhealthyTargets
#   severity: low
#   controls: [iso27001-2022:A.8.16, soc2-2017:CC7.2]
#   requires: [octopus.machines]
package evidencekit.policies.octopus_unhealthy_targets

import data.evidencekit.lib.octopus_lint as lint
import data.evidencekit.lib.util
import rego.v1

bad_health := {"Unhealthy", "Unavailable"}

in_scope[id] := machine if {
	some id, machine in input.octopus.machines
	lint.enabled(machine)
}

tested := count(in_scope)

findings contains finding if {
	some id, machine in in_scope
	bad_health[machine.HealthStatus]
	finding := {
		"resource": id,
		"message": sprintf("deployment target %s is enabled but its health is %s (status %s)", [
			lint.label(machine), machine.HealthStatus,
			util.show(object.get(machine, "Status", null)),
		]),
		"evidence": util.refs([machine]),
	}
}
