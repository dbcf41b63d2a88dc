# Unit tests for the Octopus lint helpers.
package evidencekit.lib.octopus_lint_test

import data.evidencekit.lib.octopus_lint as lint
import rego.v1

period := {"start": "2026-07-01T00:00:00.000000Z", "end": "2026-10-01T00:00:00.000000Z"}

test_plain_http_ignores_case_and_blanks if {
	lint.plain_http(" HTTP://feed.example.invalid/")
	not lint.plain_http("https://feed.example.invalid/")
	not lint.plain_http(null)
	not lint.plain_http("httpx://odd.example.invalid")
}

test_records_are_enabled_unless_they_say_otherwise if {
	lint.enabled({"IsDisabled": false})
	lint.enabled({"IsDisabled": null})
	lint.enabled({})
	not lint.enabled({"IsDisabled": true})
}

test_label_names_id_and_name if {
	lint.label({"Id": "Machines-4", "Name": "web-01"}) == `Machines-4 ("web-01")`
	lint.label({"Id": "Machines-4"}) == "Machines-4 (empty)"
}

test_last_days_include_the_threshold_and_exclude_the_end if {
	p := period
	lint.in_last_days("2026-09-01T00:00:00.000000Z", 30) with input.period as p
	not lint.in_last_days("2026-08-31T23:59:59.999999Z", 30) with input.period as p
	not lint.in_last_days("2026-10-01T00:00:00.000000Z", 30) with input.period as p
	not lint.in_last_days(null, 30) with input.period as p
}
