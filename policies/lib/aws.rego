# Shared rules for the AWS IAM policies: credential report values, key slots, and who
# holds administrator access through which policy.
package evidencekit.lib.aws

import data.evidencekit.lib.util
import rego.v1

# Regorus quirk met here: a rule that compared rows with a package-level constant
# (root_user := "...") made a later function call in another policy come back
# undefined, so a finding could silently vanish. Functions below therefore hold
# their constants as literals and take thresholds as arguments.

# True for the credential report row of the account's root user.
is_root(row) if row.user == "<root_account>"

# The record key of an account's root user in the credential report.
root_key(account) := sprintf("%s:<root_account>", [account])

# True for a canonical UTC timestamp (the reader turns real dates into this form).
timestamp(value) if {
	is_string(value)
	regex.match(`^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}[.][0-9]{6}Z$`, value)
}

# How long before the end of the period a canonical timestamp lies, in words:
# "90 days" when exact, else "more than 90 days".
age(ts) := sprintf("%v days", [days]) if {
	util.computable(ts)
	span := util.ns(input.period.end) - util.ns(ts)
	days := floor(span / util.day_ns)
	days * util.day_ns == span
} else := sprintf("more than %v days", [floor((util.ns(input.period.end) - util.ns(ts)) / util.day_ns)]) if {
	util.computable(ts)
} else := "longer than the engine can count (the date is before 1677)"

# True when a timestamp lies more than `days` days before the end of the period.
# A date too old for time arithmetic is older than any limit (fail closed); one too
# far in the future is not.
older_than(ts, days) if {
	timestamp(ts)
	util.computable(ts)
	util.ns(input.period.end) - util.ns(ts) > days * util.day_ns
}

older_than(ts, _) if {
	timestamp(ts)
	not util.computable(ts)
	not util.beyond_computable(ts)
}

# One column of an access key slot, e.g. column(row, "1", "last_rotated").
column(row, slot, name) := object.get(row, sprintf("access_key_%s_%s", [slot, name]), null)

# Key slots that are active. A flag that could not be read counts as active, so a
# damaged row cannot hide a key.
active_keys(row) := [slot | some slot in ["1", "2"]; column(row, slot, "active") != false]

# A value for a message: a timestamp or sentinel as it is, anything else shown.
shown(value) := value if is_string(value)

else := util.show(value)

# A JSON array, or [] for anything else (an absent or unreadable field).
list_of(value) := value if is_array(value)

else := []

# --- administrator access ----------------------------------------------------------

# AWS's own AdministratorAccess managed policy, in any partition.
administrator_access(arn) if {
	is_string(arn)
	startswith(arn, "arn:aws")
	endswith(arn, ":iam::aws:policy/AdministratorAccess")
}

statements(document) := document.Statement if is_array(document.Statement)

else := [document.Statement] if is_object(document.Statement)

else := []

# The values of an Action or Resource element, which may be a string or a list.
values(statement, name) := [value |
	some value in list_of(object.get(statement, name, []))
	is_string(value)
] if is_array(object.get(statement, name, null))

else := [statement[name]] if is_string(object.get(statement, name, null))

else := []

# The broad actions ("*" or "iam:*", in any case) a document allows on every resource.
# Conditions and permissions boundaries are not weighed: such a grant still counts.
admin_actions(document) := sort({lower(action) |
	some statement in statements(document)
	statement.Effect == "Allow"
	"*" in values(statement, "Resource")
	some action in values(statement, "Action")
	lower(action) in {"*", "iam:*"}
})

# Why a user, group or role has administrator access through its own policies: a
# list of {"why", "evidence"}. A policy that cannot be read counts, so a gap in the
# evidence cannot read as least privilege.
direct_grants(principal) := array.concat(
	array.concat(managed_grants(principal), inline_grants(principal)),
	unreadable_grants(principal),
)

# A list the reader could not read is null: it may hide a grant, so it counts as one.
unreadable_grants(principal) := [{"why": sprintf("its %s could not be read", [what]), "evidence": []} |
	some field, what in {
		"AttachedPolicyArns": "attached managed policies",
		"UserPolicyList": "inline policies",
		"GroupPolicyList": "inline policies",
		"RolePolicyList": "inline policies",
		"Groups": "group memberships",
	}
	field in object.keys(principal)
	not is_array(principal[field])
]

managed_grants(principal) := [grant |
	some arn in list_of(object.get(principal, "AttachedPolicyArns", []))
	grant := managed_grant(object.get(principal, "AccountId", ""), arn)
]

managed_grant(account, arn) := {"why": "AWS managed policy AdministratorAccess is attached", "evidence": policy_refs(account, arn)} if {
	administrator_access(arn)
} else := {"why": sprintf("attached policy %s is not in the evidence, so its access cannot be judged", [arn]), "evidence": []} if {
	not input.aws.policies[policy_key(account, arn)]
} else := {"why": sprintf("the default version of attached policy %s could not be read", [arn]), "evidence": policy_refs(account, arn)} if {
	not is_object(input.aws.policies[policy_key(account, arn)].DefaultDocument)
} else := {"why": sprintf("attached policy %s allows %s on every resource", [arn, quoted(actions)]), "evidence": policy_refs(account, arn)} if {
	actions := admin_actions(input.aws.policies[policy_key(account, arn)].DefaultDocument)
	count(actions) > 0
}

policy_key(account, arn) := sprintf("%s:%s", [account, arn])

policy_refs(account, arn) := util.refs([object.get(input.aws.policies, policy_key(account, arn), null)])

inline_grants(principal) := [grant |
	some field in ["UserPolicyList", "GroupPolicyList", "RolePolicyList"]
	some policy in list_of(object.get(principal, field, []))
	grant := inline_grant(policy)
]

inline_grant(policy) := {"why": sprintf("inline policy %s could not be read", [util.show(object.get(policy, "PolicyName", null))]), "evidence": []} if {
	not is_object(object.get(policy, "PolicyDocument", null))
} else := {"why": sprintf("inline policy %s allows %s on every resource", [util.show(policy.PolicyName), quoted(actions)]), "evidence": []} if {
	actions := admin_actions(policy.PolicyDocument)
	count(actions) > 0
}

# A user's grants: its own and those of each group it is in (UserDetail.GroupList).
user_grants(user) := array.concat(direct_grants(user), [grant |
	some group_key in list_of(object.get(user, "Groups", []))
	some grant in group_grants(group_key)
])

group_grants(group_key) := [{"why": sprintf("group %s is not in the evidence, so its access cannot be judged", [group_key]), "evidence": []}] if {
	not input.aws.groups[group_key]
} else := [{"why": sprintf("through group %s: %s", [group.GroupName, grant.why]), "evidence": array.concat([group._ref], grant.evidence)} |
	group := input.aws.groups[group_key]
	some grant in direct_grants(group)
]

# The principal's own reference first, then every other record a grant rests on.
grant_evidence(principal, grants) := array.concat(util.refs([principal]), sort({ref |
	some grant in grants
	some ref in grant.evidence
	ref != principal._ref
}))

# True when a user or role is on the optional allowlist (record key or ARN).
allowed(key, principal) if {
	some entry in object.get(input.settings, "aws_admin_allowlist", [])
	lower(entry) in {lower(key), lower(object.get(principal, "Arn", ""))}
}

# True for one of the credential report's sentinel strings: facts, not timestamps.
sentinel(value) if value in {"N/A", "no_information", "not_supported"}

# Who a credential report row is about, for messages.
who(row) := sprintf("root user of account %s", [account_of(row)]) if {
	is_root(row)
} else := sprintf("IAM user %s in account %s", [object.get(row, "user", "(unnamed)"), account_of(row)])

account_of(record) := object.get(record, "AccountId", "(unknown)")

# Action patterns for messages: "*" and "iam:*".
quoted(actions) := concat(" and ", [sprintf("%q", [action]) | some action in actions])
