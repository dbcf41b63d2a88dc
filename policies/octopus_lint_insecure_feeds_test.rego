# Unit tests for the octopus-insecure-feeds policy.
package evidencekit.policies.octopus_insecure_feeds_test

import data.evidencekit.policies.octopus_insecure_feeds as policy
import rego.v1

feed(id, kind, uri, username) := {
	"Id": id, "Name": lower(id), "FeedType": kind, "FeedUri": uri, "HasUsername": username,
	"Password": {"HasValue": username}, "_ref": sprintf("octopus/feeds/%s", [id]),
}

doc := {"octopus": {"feeds": {
	"Feeds-1": {"Id": "Feeds-1", "Name": "built-in", "FeedType": "BuiltIn", "FeedUri": null, "_ref": "octopus/feeds/Feeds-1"},
	"Feeds-2": feed("Feeds-2", "NuGet", "http://nexus.example.invalid/nuget/", true),
	"Feeds-3": feed("Feeds-3", "Docker", "https://ghcr.example.invalid", false),
	"Feeds-4": feed("Feeds-4", "Helm", " HTTP://charts.example.invalid", false),
}}}

test_plain_http_feeds_fail_and_tls_feeds_pass if {
	d := doc
	findings := policy.findings with input as d
	findings == {
		{
			"resource": "Feeds-2",
			"message": `NuGet feed Feeds-2 ("feeds-2") is reached over plain HTTP (http://nexus.example.invalid/nuget/); its stored credentials are sent in clear text`,
			"evidence": ["octopus/feeds/Feeds-2"],
		},
		{
			"resource": "Feeds-4",
			"message": `Helm feed Feeds-4 ("feeds-4") is reached over plain HTTP ( HTTP://charts.example.invalid)`,
			"evidence": ["octopus/feeds/Feeds-4"],
		},
	}
}

test_feeds_without_a_url_are_not_in_scope if {
	d := doc
	policy.tested == 3 with input as d
}

test_no_feeds_leaves_nothing_tested if {
	d := doc
	policy.tested == 0 with input as d with input.octopus.feeds as {}
}
