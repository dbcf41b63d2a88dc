# METADATA
# title: Emergency changes are reviewed and closed promptly
# description: >-
#   Every emergency change linked to a production deployment in the audit period was
#   closed within the configured number of days after its planned end. A change that
#   is not closed, or that has no planned end to measure from, fails.
# custom:
#   id: emergency-change-review
#   severity: high
#   controls: [iso27001-2022:A.8.32, soc2-2017:CC8.1]
#   requires: [octopus.deployments, octopus.tasks, octopus.releases, octopus.projects,
#              octopus.environments, servicenow.change_request]
package evidencekit.policies.emergency_change_review

import data.evidencekit.lib.changelink
import data.evidencekit.lib.util
import rego.v1

# Emergency changes linked to production deployments in the period, by sys_id.
emergency[change_id] := change if {
	some change_id, _ in changelink.deployments_by_change
	change := input.servicenow.change_request[change_id]
	change.type == "emergency"
}

# Undefined (an evaluation error, never a pass) when the review days are not configured.
tested := count(emergency) if is_number(days)

days := input.settings.emergency_review_days

findings contains finding if {
	some change_id, change in emergency
	problem := late(change)
	deployment_ids := sort(changelink.deployments_by_change[change_id])
	finding := {
		"resource": changelink.label(change),
		"message": sprintf("emergency change %s, linked to production deployment(s) %s, %s", [
			changelink.label(change), concat(", ", deployment_ids), problem,
		]),
		"evidence": array.concat(
			util.refs([change]),
			util.refs([input.octopus.deployments[id] | some id in deployment_ids]),
		),
	}
}

late(change) := "has no planned end (end_date is empty), so its review deadline cannot be computed" if {
	not is_string(change.end_date)
} else := sprintf(
	"has not been closed (closed_at is empty), so no review within %v days of its planned end %s is shown",
	[days, change.end_date],
) if {
	not is_string(change.closed_at)
} else := msg if {
	unusable := [field | some field in ["end_date", "closed_at"]; not util.computable(change[field])]
	count(unusable) > 0
	field := unusable[0]
	msg := sprintf(
		"has %s %s, which is not a timestamp that can be computed with, so a review within %v days of its planned end cannot be shown",
		[field, change[field], days],
	)
} else := msg if {
	util.ns(change.closed_at) > util.ns(change.end_date) + (days * util.day_ns)
	msg := sprintf(
		"was closed at %s, more than %v days after its planned end %s",
		[change.closed_at, days, change.end_date],
	)
}
