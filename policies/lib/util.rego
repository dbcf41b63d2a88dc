# Small helpers every policy shares: time arithmetic, evidence lists and wording.
package evidencekit.lib.util

import rego.v1

# One day in nanoseconds, the unit of time.parse_rfc3339_ns. An integer, so that
# arithmetic on nanosecond timestamps stays exact.
day_ns := 86400000000000

# The nanosecond value of a canonical timestamp; undefined for anything else,
# including a canonical timestamp the engine cannot represent (see computable).
ns(ts) := time.parse_rfc3339_ns(ts) if computable(ts)

# The range of moments time.parse_rfc3339_ns can hold in a signed 64-bit count of
# nanoseconds since 1970, rounded inwards to whole days. Outside it the builtin
# raises "time outside of valid range", an evaluation error that would drop every
# finding of the policy, so it is never called on such a value.
earliest_computable := "1677-09-22T00:00:00.000000Z"

latest_computable := "2262-04-11T00:00:00.000000Z"

# A canonical UTC timestamp: the shape docs/data-model.md gives every time value.
canonical_pattern := `^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9][.][0-9]{6}Z$`

# True for a canonical timestamp. Whether its day exists is left to computable.
canonical(ts) if {
	is_string(ts)
	regex.match(canonical_pattern, ts)
}

# True for a canonical timestamp that time arithmetic can use. Canonical strings
# order as the moments they name, so the range is tested without parsing.
computable(ts) if {
	canonical(ts)
	earliest_computable <= ts
	ts < latest_computable
	real_day(ts)
}

# True when the day of a canonical timestamp exists: the builtin rejects
# 2026-02-30 or 2026-02-29 as out of range. Two-digit days order as numbers, and
# the year is a plain four-digit number inside the computable range.
real_day(ts) if substring(ts, 8, 2) <= month_days(to_number(substring(ts, 0, 4)), substring(ts, 5, 2))

month_days(year, month) := "30" if {
	month in {"04", "06", "09", "11"}
} else := "29" if {
	month == "02"
	leap_year(year)
} else := "28" if {
	month == "02"
} else := "31"

leap_year(year) if {
	year % 4 == 0
	year % 100 != 0
}

leap_year(year) if year % 400 == 0

# True for a canonical timestamp too late to compute with (an expiry of 9999-12-31
# or 2300-01-01): for any check against the audit period it is "never".
beyond_computable(ts) if {
	canonical(ts)
	ts >= latest_computable
}

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
