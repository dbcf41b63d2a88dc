# METADATA
# title: Octopus subscription webhooks use TLS
# description: >-
#   No enabled Octopus event subscription posts to a plain http:// webhook. The
#   notifications carry deployment and audit details, and often a token header.
#   Disabled subscriptions send nothing and are not examined.
# custom:
#   id: octopus-insecure-webhooks
#   lint: OctoLintInsecureWebhookUrls
#   severity: medium
#   controls: [iso27001-2022:A.8.20, iso27001-2022:A.8.24, soc2-2017:CC6.7]
#   requires: [octopus.subscriptions]
package evidencekit.policies.octopus_insecure_webhooks

import data.evidencekit.lib.octopus_lint as lint
import data.evidencekit.lib.util
import rego.v1

in_scope[id] := subscription if {
	some id, subscription in input.octopus.subscriptions
	lint.enabled(subscription)
	is_string(subscription.EventNotificationSubscription.WebhookURI)
	trim_space(subscription.EventNotificationSubscription.WebhookURI) != ""
}

tested := count(in_scope)

findings contains finding if {
	some id, subscription in in_scope
	uri := subscription.EventNotificationSubscription.WebhookURI
	lint.plain_http(uri)
	finding := {
		"resource": id,
		"message": sprintf("subscription %s posts to a plain HTTP webhook (%s)", [lint.label(subscription), uri]),
		"evidence": util.refs([subscription]),
	}
}
