# Unit tests for the octopus-shared-git-usernames policy.
package evidencekit.policies.octopus_shared_git_usernames_test

import data.evidencekit.policies.octopus_shared_git_usernames as policy
import rego.v1

credential(id, name, username) := {
	"Id": id, "Name": name, "Details": {"Type": "UsernamePassword", "Username": username, "Password": {"HasValue": true}},
	"_ref": sprintf("octopus/gitcredentials/%s", [id]),
}

doc := {"octopus": {"gitcredentials": {
	"GitCredentials-1": credential("GitCredentials-1", "payments-repo", "octo-bot"),
	"GitCredentials-2": credential("GitCredentials-2", "ledger-repo", " Octo-Bot "),
	"GitCredentials-3": credential("GitCredentials-3", "docs-repo", "docs-reader"),
	"GitCredentials-4": {"Id": "GitCredentials-4", "Name": "mirror", "Details": {"Type": "Anonymous", "Username": null}, "_ref": "octopus/gitcredentials/GitCredentials-4"},
}}}

test_username_in_two_credentials_is_one_finding if {
	d := doc
	findings := policy.findings with input as d
	findings == {{
		"resource": "octo-bot",
		"message": `Git username "octo-bot" is stored in 2 credentials: GitCredentials-1 ("payments-repo"), GitCredentials-2 ("ledger-repo")`,
		"evidence": ["octopus/gitcredentials/GitCredentials-1", "octopus/gitcredentials/GitCredentials-2"],
	}}
}

test_anonymous_credentials_are_not_counted if {
	d := doc
	policy.tested == 3 with input as d
}

test_distinct_usernames_pass if {
	d := doc
	creds := {
		"GitCredentials-1": credential("GitCredentials-1", "payments-repo", "octo-bot"),
		"GitCredentials-3": credential("GitCredentials-3", "docs-repo", "docs-reader"),
	}
	policy.findings == set() with input as d with input.octopus.gitcredentials as creds
}

test_a_blank_username_is_not_shared if {
	d := doc
	creds := {
		"GitCredentials-5": credential("GitCredentials-5", "a", " "),
		"GitCredentials-6": credential("GitCredentials-6", "b", ""),
	}
	policy.findings == set() with input as d with input.octopus.gitcredentials as creds
	policy.tested == 0 with input as d with input.octopus.gitcredentials as creds
}
