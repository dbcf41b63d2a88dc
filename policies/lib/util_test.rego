# Unit tests for the shared helpers.
package evidencekit.lib.util_test

import data.evidencekit.lib.testdata
import data.evidencekit.lib.util
import rego.v1

test_day_is_exact_nanoseconds if {
	util.ns("2026-07-02T00:00:00.000000Z") - util.ns("2026-07-01T00:00:00.000000Z") == util.day_ns
}

test_microseconds_survive_arithmetic if {
	util.ns("2026-07-01T00:00:00.000001Z") - util.ns("2026-07-01T00:00:00.000000Z") == 1000
}

test_ns_of_null_is_undefined if {
	not util.ns(null)
}

test_in_period_start_is_inclusive if {
	util.in_period("2026-07-01T00:00:00.000000Z") with input as testdata.doc
}

test_in_period_end_is_exclusive if {
	not util.in_period("2026-10-01T00:00:00.000000Z") with input as testdata.doc
	util.in_period("2026-09-30T23:59:59.999999Z") with input as testdata.doc
}

test_in_period_rejects_before_start_and_null if {
	not util.in_period("2026-06-30T23:59:59.999999Z") with input as testdata.doc
	not util.in_period(null) with input as testdata.doc
}

test_refs_skip_nulls_and_records_without_ref if {
	util.refs([{"_ref": "octopus/users/Users-1"}, null, {"Id": "x"}]) == ["octopus/users/Users-1"]
}

test_show_quotes_strings_and_names_gaps if {
	util.show("requested") == `"requested"`
	util.show(null) == "empty"
	util.show(-1) == "-1"
}

test_text_trims_and_rejects_blank if {
	util.text("  CHG0031337 ") == "CHG0031337"
	not util.text("   ")
	not util.text(null)
}
