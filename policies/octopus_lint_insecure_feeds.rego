# METADATA
# title: Octopus package feeds use TLS
# description: >-
#   No Octopus package feed (of any type) is reached over plain http://. Packages
#   fetched without TLS can be read or replaced in transit, and a feed's stored
#   credentials are sent with every request.
# custom:
#   id: octopus-insecure-feeds
#   lint: OctoLintInsecureFeedsTargets
#   severity: high
#   controls: [iso27001-2022:A.8.20, iso27001-2022:A.8.24, soc2-2017:CC6.7]
#   requires: [octopus.feeds]
package evidencekit.policies.octopus_insecure_feeds

import data.evidencekit.lib.octopus_lint as lint
import data.evidencekit.lib.util
import rego.v1

# Feeds with a URL (the built-in feed has none).
in_scope[id] := feed if {
	some id, feed in input.octopus.feeds
	is_string(feed.FeedUri)
	trim_space(feed.FeedUri) != ""
}

tested := count(in_scope)

findings contains finding if {
	some id, feed in in_scope
	lint.plain_http(feed.FeedUri)
	finding := {
		"resource": id,
		"message": sprintf("%s feed %s is reached over plain HTTP (%s)%s", [
			object.get(feed, "FeedType", "package"), lint.label(feed), feed.FeedUri,
			credentials_note(feed),
		]),
		"evidence": util.refs([feed]),
	}
}

credentials_note(feed) := "; its stored credentials are sent in clear text" if {
	sends_credentials(feed)
} else := ""

sends_credentials(feed) if feed.HasUsername == true

sends_credentials(feed) if feed.Password.HasValue == true
