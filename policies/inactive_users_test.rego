# Unit tests for the inactive-users policy.
package evidencekit.policies.inactive_users_test

import data.evidencekit.lib.testdata as td
import data.evidencekit.policies.inactive_users as policy
import rego.v1

# 90 days before the period end (2026-10-01) is 2026-07-03T00:00:00Z.
last_seen(occurred) := object.union(td.index.last_event_by_user, {"Users-305": td.last_event("Events-90733", occurred)})

test_recently_active_team_members_pass if {
	policy.findings == set() with input as td.doc
	policy.tested == 4 with input as td.doc
}

test_last_event_exactly_at_the_threshold_passes if {
	policy.findings == set() with input as td.doc
		with input.index.last_event_by_user as last_seen("2026-07-03T00:00:00.000000Z")
}

test_last_event_just_before_the_threshold_fails if {
	findings := policy.findings with input as td.doc
		with input.index.last_event_by_user as last_seen("2026-07-02T23:59:59.999999Z")
	findings == {{
		"resource": "Users-305",
		"message": `active user Users-305 ("b.osei"), a member of Teams-14, is the actor of no audit event in the 90 days before 2026-10-01T00:00:00.000000Z; last activity: 2026-07-02T23:59:59.999999Z`,
		"evidence": ["octopus/users/Users-305", "octopus/teams/Teams-14", "octopus/events/Events-90733"],
	}}
}

test_user_with_no_audit_event_fails if {
	events := object.remove(td.index.last_event_by_user, ["Users-305"])
	finding := td.only(policy.findings, "Users-305") with input as td.doc
		with input.index.last_event_by_user as events
	endswith(finding.message, "last activity: no audit event at all")
	finding.evidence == ["octopus/users/Users-305", "octopus/teams/Teams-14"]
}

test_threshold_comes_from_settings if {
	# With 30 days the cutoff is 2026-09-01; Users-212 was last seen in July and
	# Users-305 in August.
	findings := policy.findings with input as td.doc with input.settings.inactivity_days as 30
	{finding.resource | some finding in findings} == {"Users-212", "Users-305"}
}

test_users_in_no_team_are_ignored if {
	memberships := object.remove(td.index.team_ids_by_user, ["Users-305"])
	events := object.remove(td.index.last_event_by_user, ["Users-305"])
	policy.findings == set() with input as td.doc
		with input.index.team_ids_by_user as memberships
		with input.index.last_event_by_user as events
	policy.tested == 3 with input as td.doc with input.index.team_ids_by_user as memberships
}

test_users_with_an_empty_team_list_are_ignored if {
	memberships := object.union(td.index.team_ids_by_user, {"Users-305": []})
	events := object.remove(td.index.last_event_by_user, ["Users-305"])
	policy.findings == set() with input as td.doc
		with input.index.team_ids_by_user as memberships
		with input.index.last_event_by_user as events
}

test_inactive_users_are_ignored if {
	memberships := object.union(td.index.team_ids_by_user, {"Users-90": ["Teams-12"]})
	policy.findings == set() with input as td.doc with input.index.team_ids_by_user as memberships
	policy.tested == 4 with input as td.doc with input.index.team_ids_by_user as memberships
}

test_user_without_username_still_fails if {
	# object.union merges deeply, so the record is replaced by removing it first.
	nameless := object.remove(td.user("Users-305", "b.osei", null, {}), ["Username"])
	users := object.union(object.remove(td.users, ["Users-305"]), {"Users-305": nameless})
	events := object.remove(td.index.last_event_by_user, ["Users-305"])
	finding := td.only(policy.findings, "Users-305") with input as td.doc
		with input.octopus.users as users
		with input.index.last_event_by_user as events
	startswith(finding.message, "active user Users-305 (empty), a member of Teams-14")
}

test_missing_threshold_setting_leaves_tested_undefined if {
	settings := object.remove(td.settings, ["inactivity_days"])
	not policy.tested with input as td.doc with input.settings as settings
}

# An event time the engine cannot compute with (a clock reset to 1601, the Windows
# epoch) is no sign of recent activity, and it must not stop the policy.
test_last_event_time_that_cannot_be_computed_with_fails_closed if {
	findings := policy.findings with input as td.doc
		with input.index.last_event_by_user as last_seen("1601-01-01T00:00:00.000000Z")
	count(findings) == 1
	finding := td.only(findings, "Users-305")
	endswith(finding.message, "last activity: 1601-01-01T00:00:00.000000Z")
}
