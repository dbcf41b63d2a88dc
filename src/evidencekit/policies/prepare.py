"""Build the one input document every policy reads (docs/data-model.md, section 2).

Records are not copied: the document's collections hold the very dicts the collectors
returned. Each ``index`` map is built in one pass over its resource.

The raw Octopus audit events are left out of the document by default: the key
``octopus.events`` is absent, not empty. A year of events can be a million records;
handing them to the engine costs seconds and memory, and no shipped policy reads them,
because ``index.last_event_by_user`` holds what they need. (Their completeness still
matters: such a policy lists ``octopus.events`` in ``requires``.) Callers pass
``keep_events=reads_raw_events(modules)`` so a policy that reads the events itself
gets them. Known shortcoming: that check is textual, so a policy that reaches the
events through an alias (``octopus := input.octopus`` then ``octopus.events``) is not
noticed; it sees no events, and a rule that scans them finds nothing.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterable
from typing import Any

from evidencekit.collectors.base import Record, SourceData, registry
from evidencekit.config import Config
from evidencekit.errors import EvidenceError
from evidencekit.timeutil import month_windows, period_bounds, to_canonical, zone

log = logging.getLogger(__name__)


def known_resources() -> dict[str, tuple[str, ...]]:
    """Every ``type -> resource names`` that a registered collector declares."""
    return {
        source_type: tuple(spec.name for spec in collector.resources)
        for source_type, collector in sorted(registry().items())
    }


Collections = dict[str, dict[str, dict[str, Record]]]

_RAW_EVENTS_REF = re.compile(
    r"""input\s*\.\s*octopus\s*(\.\s*events\b|\[\s*"events"\s*\])"""
)


def build_input(
    config: Config, sources: list[SourceData], *, keep_events: bool = False
) -> dict[str, Any]:
    """Assemble period, settings, merged collections and indexes for one evaluation."""
    started = time.perf_counter()
    period = build_period(config)
    collections = merge_sources(sources)
    index = build_index(collections, config.production_environments, period["end"])
    if not keep_events:
        del collections["octopus"]["events"]
    document: dict[str, Any] = {
        "period": period,
        "settings": build_settings(config),
        **collections,
        "index": index,
    }
    log.info(
        "input built deployments=%d changes=%d users_with_events=%d elapsed=%.2fs",
        len(collections["octopus"]["deployments"]),
        len(collections["servicenow"]["change_request"]),
        len(index["last_event_by_user"]),
        time.perf_counter() - started,
    )
    return document


def reads_raw_events(modules: list[tuple[str, str]]) -> bool:
    """Tell whether any Rego module refers to ``input.octopus.events`` (comments too).

    A mention in a comment also counts: keeping the events by mistake only costs time.
    """
    return any(_RAW_EVENTS_REF.search(text) for _, text in modules)


def build_period(config: Config) -> dict[str, Any]:
    """Return the period as a half-open UTC interval with its calendar months."""
    tz = zone(config.period.timezone)
    start, end = period_bounds(config.period.start, config.period.end, tz)
    months = [
        {"month": month, "start": to_canonical(lower), "end": to_canonical(upper)}
        for month, lower, upper in month_windows(
            config.period.start, config.period.end, tz
        )
    ]
    return {
        "start": to_canonical(start),
        "end": to_canonical(end),
        "timezone": config.period.timezone,
        "months": months,
    }


def build_settings(config: Config) -> dict[str, Any]:
    """Return the policy parameters, with the privileged allowlist lower-cased."""
    settings = config.policies.model_dump()
    settings["privileged_allowlist"] = [
        entry.strip().lower() for entry in config.policies.privileged_allowlist
    ]
    return settings


def merge_sources(sources: list[SourceData]) -> Collections:
    """Merge the records of sources of the same type, every known resource present."""
    collections: Collections = {
        source_type: {name: {} for name in names}
        for source_type, names in known_resources().items()
    }
    for source in sources:
        by_resource = collections.setdefault(source.type, {})
        for name, resource in source.resources.items():
            target = by_resource.setdefault(name, {})
            if target:
                _merge_records(source, name, target, resource.records)
            else:
                target.update(resource.records)
    return collections


def _merge_records(
    source: SourceData,
    resource: str,
    target: dict[str, Record],
    records: dict[str, Record],
) -> None:
    for record_id, record in records.items():
        first = target.setdefault(record_id, record)
        if first is not record and _content(first) != _content(record):
            # Known shortcoming: sources of one type are merged by id, so two Octopus
            # instances (whose ids overlap) cannot be evaluated in one run. Rather
            # than let one instance's record hide the other's, the run stops here.
            raise EvidenceError(
                f"a different {source.type} {resource} record with this id was already "
                f"read from {first.get('_ref')}; sources of one type are merged by id, "
                "so configure one instance per run",
                source=source.name,
                file=record.get("_file"),
                record=record_id,
            )


def _content(record: Record) -> dict[str, Any]:
    return {key: value for key, value in record.items() if key not in ("_ref", "_file")}


def build_index(
    collections: Collections, production_environments: list[str], period_end: str
) -> dict[str, Any]:
    """Build every lookup map of ``input.index`` from the merged collections."""
    octopus, servicenow = collections["octopus"], collections["servicenow"]
    return {
        "production_environment_ids": production_environment_ids(
            octopus["environments"], production_environments
        ),
        "task_approval_by_task": _first_by(
            octopus["servertaskapprovals"], "ServerTaskId", "servertaskapprovals"
        ),
        "change_by_number": _first_by(
            servicenow["change_request"], "number", "change_request"
        ),
        "changes_by_short_description": _group_by(
            servicenow["change_request"].items(), "short_description"
        ),
        "approvals_by_change": approvals_by_change(servicenow["sysapproval_approver"]),
        "octopus_user_email": _emails(octopus["users"], "EmailAddress"),
        "servicenow_user_email": _emails(servicenow["sys_user"], "email"),
        "team_ids_by_user": team_ids_by_user(octopus["teams"]),
        "scoped_roles_by_team": _group_by(octopus["scopeduserroles"].items(), "TeamId"),
        "runbook_ids_by_name": _group_by(octopus["runbooks"].items(), "Name"),
        "runbook_runs_by_runbook": _group_by(
            octopus["runbookruns"].items(), "RunbookId"
        ),
        "last_event_by_user": last_event_by_user(octopus["events"], period_end),
        "account_modifications": account_modifications(
            octopus["events"], octopus["accounts"], period_end
        ),
    }


def production_environment_ids(
    environments: dict[str, Record], configured: list[str]
) -> dict[str, bool]:
    """Map the id of every environment whose Name or Id is configured as production."""
    wanted = set(configured)
    ids = {
        env_id: True
        for env_id, env in environments.items()
        if env_id in wanted or env.get("Name") in wanted
    }
    matched = set(ids) | {environments[env_id].get("Name") for env_id in ids}
    unmatched = sorted(wanted - matched)
    if unmatched and environments:
        log.warning(
            "production environments not in the evidence names=%s",
            ",".join(unmatched),
        )
    return ids


def approvals_by_change(approvals: dict[str, Record]) -> dict[str, list[str]]:
    """Group approval records by the record they approve (``sysapproval``)."""
    groups: dict[str, list[str]] = {}
    for approval_id, approval in approvals.items():
        target = approval.get("sysapproval") or approval.get("document_id")
        if isinstance(target, str):
            groups.setdefault(target, []).append(approval_id)
    return {key: sorted(ids) for key, ids in groups.items()}


def team_ids_by_user(teams: dict[str, Record]) -> dict[str, list[str]]:
    """Invert each team's ``MemberUserIds`` into the teams of each user."""
    groups: dict[str, list[str]] = {}
    for team_id, team in teams.items():
        for user_id in team.get("MemberUserIds") or ():
            groups.setdefault(user_id, []).append(team_id)
    return {user_id: sorted(ids) for user_id, ids in groups.items()}


def last_event_by_user(events: dict[str, Record], period_end: str) -> dict[str, Any]:
    """Find each user's latest audit event strictly before the end of the period."""
    latest: dict[str, tuple[str, Record]] = {}
    for event in events.values():
        user_id, occurred = event.get("UserId"), event.get("Occurred")
        if not user_id or occurred is None or occurred >= period_end:
            continue
        current = latest.get(user_id)
        if current is None or occurred > current[0]:
            latest[user_id] = (occurred, event)
    return {
        user_id: {"occurred": occurred, "ref": event.get("_ref")}
        for user_id, (occurred, event) in latest.items()
    }


def account_modifications(
    events: dict[str, Record], accounts: dict[str, Record], period_end: str
) -> dict[str, list[dict[str, Any]]]:
    """List the ``Modified`` audit events before the period's end for each account."""
    found: dict[str, list[dict[str, Any]]] = {}
    for event in events.values():
        occurred = event.get("Occurred")
        if event.get("Category") != "Modified" or occurred is None:
            continue
        if occurred >= period_end:
            continue
        for document in event.get("RelatedDocumentIds") or ():
            if document in accounts:
                entry = {"occurred": occurred, "ref": event.get("_ref")}
                found.setdefault(document, []).append(entry)
    return {
        account: sorted(entries, key=lambda entry: entry["occurred"])
        for account, entries in found.items()
    }


def _group_by(items: Iterable[tuple[str, Record]], field: str) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = {}
    for record_id, record in items:
        key = record.get(field)
        if isinstance(key, str) and key:
            groups.setdefault(key, []).append(record_id)
    return {key: sorted(ids) for key, ids in groups.items()}


def _first_by(records: dict[str, Record], field: str, resource: str) -> dict[str, str]:
    """Map a field to the first record id holding it; report values held twice."""
    # Known shortcoming: when two records share the value (two change requests with
    # one number, two approvals for one task), policies see only the first one read
    # and the others appear nowhere but in this WARNING log line.
    lookup: dict[str, str] = {}
    repeated = 0
    for record_id, record in records.items():
        key = record.get(field)
        if not isinstance(key, str) or not key:
            continue
        if key in lookup:
            repeated += 1
        else:
            lookup[key] = record_id
    if repeated:
        log.warning(
            "index keeps the first record for a repeated value resource=%s field=%s "
            "repeats=%d",
            resource,
            field,
            repeated,
        )
    return lookup


def _emails(users: dict[str, Record], field: str) -> dict[str, str]:
    emails = {}
    for user_id, user in users.items():
        address = user.get(field)
        if isinstance(address, str) and address.strip():
            emails[user_id] = address.strip().lower()
    return emails
