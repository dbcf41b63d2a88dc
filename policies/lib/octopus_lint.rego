# Helpers the Octopus lint policies share: plain-HTTP URLs, enabled records, labels.
package evidencekit.lib.octopus_lint

import data.evidencekit.lib.util
import rego.v1

# True when a URL is plain HTTP (any case, surrounding blanks ignored).
plain_http(url) if {
	is_string(url)
	startswith(lower(trim_space(url)), "http://")
}

# True unless the record says it is disabled; a record without the flag is in scope.
enabled(record) if not record.IsDisabled == true

# "<Id> ("<Name>")" for messages.
label(record) := sprintf("%s (%s)", [object.get(record, "Id", null), util.show(object.get(record, "Name", null))])

# The moment `days` days before the period's end, in nanoseconds.
days_before_end(days) := util.ns(input.period.end) - (days * util.day_ns)

# True when a canonical timestamp lies in the `days` days before the period's end.
in_last_days(ts, days) if {
	is_string(ts)
	ts < input.period.end
	util.ns(ts) >= days_before_end(days)
}
