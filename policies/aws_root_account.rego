# METADATA
# title: The AWS root user has MFA and no access keys
# description: >-
#   In every account seen in the evidence, the root user's credential report row shows
#   MFA active and no active access key. An account whose report has no root row
#   fails, as does a flag that could not be read.
# custom:
#   id: aws-root-account
#   severity: critical
#   controls: [iso27001-2022:A.8.2, iso27001-2022:A.8.5, iso27001-2022:A.5.17, soc2-2017:CC6.1]
#   requires: [aws.credential_report, aws.users]
package evidencekit.policies.aws_root_account

import data.evidencekit.lib.aws
import data.evidencekit.lib.util
import rego.v1

accounts contains account if {
	some row in input.aws.credential_report
	account := row.AccountId
}

accounts contains account if {
	some user in input.aws.users
	account := user.AccountId
}

roots[account] := row if {
	some row in input.aws.credential_report
	aws.is_root(row)
	account := row.AccountId
}

tested := count(accounts)

findings contains finding if {
	some account in accounts
	problems := root_problems(account)
	count(problems) > 0
	finding := {
		"resource": aws.root_key(account),
		"message": sprintf("root user of account %s: %s", [account, concat("; ", problems)]),
		"evidence": evidence(account),
	}
}

root_problems(account) := ["the credential report has no <root_account> row, so the root user cannot be checked"] if {
	not roots[account]
} else := array.concat(mfa_problems(roots[account]), key_problems(roots[account]))

mfa_problems(row) := [] if {
	row.mfa_active == true
} else := ["no MFA device is active"] if {
	row.mfa_active == false
} else := [sprintf("the MFA status is unknown (mfa_active is %s)", [aws.shown(object.get(row, "mfa_active", null))])]

key_problems(row) := [sprintf("access key %s is active (last used %s)", [slot, aws.shown(aws.column(row, slot, "last_used_date"))]) |
	some slot in aws.active_keys(row)
]

# The root row; without one, the account's report rows (or users) that show the gap.
evidence(account) := util.refs([roots[account]]) if {
	roots[account]
} else := report_refs(account) if {
	count(report_refs(account)) > 0
} else := user_refs(account)

report_refs(account) := sort({entry._ref | some entry in input.aws.credential_report; entry.AccountId == account})

user_refs(account) := sort({entry._ref | some entry in input.aws.users; entry.AccountId == account})
