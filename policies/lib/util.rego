# Small helpers every policy shares: time arithmetic, evidence lists and wording.
package evidencekit.lib.util

import rego.v1

# One day in nanoseconds, the unit of time.parse_rfc3339_ns. An integer, so that
# arithmetic on nanosecond timestamps stays exact.
day_ns := 86400000000000

# The nanosecond value of a canonical timestamp; undefined for anything else.
ns(ts) := time.parse_rfc3339_ns(ts) if is_string(ts)

# True when a canonical timestamp lies in [start, end).
within(ts, start, end) if {
	is_string(ts)
	start <= ts
	ts < end
}

# True when a canonical timestamp lies in the audit period (its end is exclusive).
in_period(ts) if within(ts, input.period.start, input.period.end)

# The _ref of each record that has one, in the order given; undefined records are
# passed as null by the caller and skipped here.
refs(records) := [record._ref | some record in records; is_string(record._ref)]

# The _ref of the record stored under key in a collection, or null.
ref_of(collection, key) := object.get(collection, [key, "_ref"], null)

# A value for a message: quoted when it is a string, "empty" when it is absent.
show(value) := sprintf("%q", [value]) if is_string(value)

else := "empty" if value == null

else := sprintf("%v", [value])

# A possibly absent text value, trimmed; undefined when it is absent or blank.
text(value) := trimmed if {
	is_string(value)
	trimmed := trim_space(value)
	trimmed != ""
}

# The comma-separated list of strings, for messages.
listing(items) := concat(", ", items)
