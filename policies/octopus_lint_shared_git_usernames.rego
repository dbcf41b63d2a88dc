# METADATA
# title: Each Octopus Git credential has its own username
# description: >-
#   No Git username (compared trimmed and in lower case) is stored in more than one
#   Octopus Git credential. A shared username means a shared identity at the Git
#   host, so access cannot be traced to one use or revoked for one use alone.
# custom:
#   id: octopus-shared-git-usernames
#   lint: OctoLintSharedGitUsername
#   severity: medium
#   controls: [iso27001-2022:A.5.17, iso27001-2022:A.5.16, soc2-2017:CC6.1]
#   requires: [octopus.gitcredentials]
package evidencekit.policies.octopus_shared_git_usernames

import data.evidencekit.lib.octopus_lint as lint
import rego.v1

# Credentials that name a username (anonymous ones do not).
usernames[id] := lower(trim_space(credential.Details.Username)) if {
	some id, credential in input.octopus.gitcredentials
	is_string(credential.Details.Username)
	trim_space(credential.Details.Username) != ""
}

tested := count(usernames)

findings contains finding if {
	some username in {name | some name in usernames}
	ids := sort([id | some id, name in usernames; name == username])
	count(ids) > 1
	credentials := [input.octopus.gitcredentials[id] | some id in ids]
	finding := {
		"resource": username,
		"message": sprintf("Git username %q is stored in %v credentials: %s", [
			username, count(ids), concat(", ", [lint.label(c) | some c in credentials]),
		]),
		"evidence": [c._ref | some c in credentials],
	}
}
