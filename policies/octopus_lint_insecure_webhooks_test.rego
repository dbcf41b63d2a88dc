# Unit tests for the octopus-insecure-webhooks policy.
package evidencekit.policies.octopus_insecure_webhooks_test

import data.evidencekit.policies.octopus_insecure_webhooks as policy
import rego.v1

subscription(id, uri, disabled) := {
	"Id": id, "Name": lower(id), "IsDisabled": disabled,
	"EventNotificationSubscription": {"WebhookURI": uri},
	"_ref": sprintf("octopus/subscriptions/%s", [id]),
}

doc := {"octopus": {"subscriptions": {
	"Subscriptions-1": subscription("Subscriptions-1", "https://chat.example.invalid/hooks?REDACTED", false),
	"Subscriptions-2": subscription("Subscriptions-2", "http://audit.example.invalid/octopus", false),
	"Subscriptions-3": subscription("Subscriptions-3", "http://pager.example.invalid/hook", true),
	"Subscriptions-4": subscription("Subscriptions-4", null, false),
}}}

test_enabled_plain_http_webhook_fails if {
	d := doc
	findings := policy.findings with input as d
	findings == {{
		"resource": "Subscriptions-2",
		"message": `subscription Subscriptions-2 ("subscriptions-2") posts to a plain HTTP webhook (http://audit.example.invalid/octopus)`,
		"evidence": ["octopus/subscriptions/Subscriptions-2"],
	}}
}

test_disabled_and_e_mail_only_subscriptions_are_not_in_scope if {
	d := doc
	policy.tested == 2 with input as d
}
