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

test_ns_of_a_far_future_expiry_is_undefined_not_an_error if {
	not util.ns("9999-12-31T00:00:00.000000Z")
	not util.ns("2300-01-01T00:00:00.000000Z")
	util.beyond_computable("9999-12-31T00:00:00.000000Z")
	util.beyond_computable("2300-01-01T00:00:00.000000Z")
}

test_ns_works_up_to_the_edges_of_the_computable_range if {
	util.ns("2262-04-10T23:59:59.999999Z") > util.ns("2026-07-01T00:00:00.000000Z")
	util.ns("1677-09-22T00:00:00.000000Z") < 0
	not util.ns("2262-04-11T00:00:00.000000Z")
	not util.ns("1677-09-21T23:59:59.999999Z")
	not util.beyond_computable("1677-09-21T23:59:59.999999Z")
}

test_ns_of_a_value_that_is_not_a_canonical_timestamp_is_undefined if {
	not util.ns("2026-07-01 09:00:00")
	not util.ns("2026-07-01T09:00:00+01:00")
	not util.ns("2026-13-01T00:00:00.000000Z")
	not util.ns("2026-02-29T00:00:00.000000Z")
	not util.ns("2026-04-31T00:00:00.000000Z")
	not util.ns(20260701)
	util.ns("2028-02-29T00:00:00.000000Z")
	util.ns("2000-02-29T00:00:00.000000Z")
	not util.ns("2100-02-29T00:00:00.000000Z")
	not util.beyond_computable("2026-07-01 09:00:00")
}
