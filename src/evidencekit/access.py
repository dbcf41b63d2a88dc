"""Build the access review: who can deploy, change, approve or administer production.

Each system's evidence is turned into grants (an account holds an entitlement, with
where it applies, how it is granted and the records it rests on). Accounts are then
joined to people: first through ``config.identities``, then by lower-cased e-mail
(Octopus ``EmailAddress``, ServiceNow ``sys_user.email``, JSM approver e-mail, an AWS
user's ``email``/``Email`` tag, or an IAM user or Kubernetes ``User`` named like an
e-mail). An account that cannot be joined keeps ``person=None``; it is never
dropped. Grants of one person, account and entitlement become one row.

Known shortcomings, each erring towards listing access rather than hiding it:

- Kubernetes: every namespace is treated as production for now; the scope column
  names the namespace (or "all namespaces") so a reviewer can tell them apart. The
  members of Kubernetes groups come from the authenticator and are not seen: a group
  is listed as its own account.
- AWS: only identity policies are read. Deny statements, conditions (shown as
  "with conditions"), permission boundaries, SCPs and resource policies are not
  applied, so an account may be listed with access it cannot use. A managed policy
  whose document is not in the evidence is skipped with a WARNING, except
  ``AdministratorAccess``, which is recognised by its ARN alone.
- Octopus: space permissions in a role assigned at system level (``SpaceId`` empty)
  are counted as if they applied in every space. Members who come in through
  external (AD/OIDC) groups are not in ``MemberUserIds``: the group itself is listed
  as an unjoined account. A scoped role whose user role is not in the evidence
  grants nothing here (WARNING).
- A source that is incomplete or failed gives an incomplete review; this is logged
  as a WARNING and the reports show the evidence gaps beside the review.
"""

from __future__ import annotations

import logging
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from evidencekit.collectors.base import Record, SourceData
from evidencekit.config import Config
from evidencekit.errors import ConfigError
from evidencekit.policies.prepare import production_environment_ids
from evidencekit.results import AccessEntry, SourceStatus

logger = logging.getLogger(__name__)

ENTITLEMENTS: dict[str, str] = {
    "deploy-production": "can start a deployment or roll out a workload in production",
    "change-production-config": (
        "can change production variables, processes, secrets, configuration or "
        "infrastructure"
    ),
    "approve-changes": "can approve a change or a manual step that gates production",
    "administrator": "has full administrative control of the system",
}

_EMAIL = re.compile(r"^[^@\s:/]+@[^@\s:/]+\.[^@\s:/]+$")

Records = dict[str, Record]


@dataclass(frozen=True)
class Holder:
    """An account in one system, with what can join it to a person."""

    system: str
    account: str
    email: str | None = None
    aliases: tuple[str, ...] = ()  # other "<system>:<account>" spellings
    note: str | None = None  # shown after the grant paths ("account inactive")


@dataclass(frozen=True)
class Grant:
    """One way an account holds an entitlement, before grants become rows."""

    holder: Holder
    entitlement: str
    scope: str
    via: str
    evidence: tuple[str, ...]


def build_access_review(config: Config, sources: list[SourceData]) -> list[AccessEntry]:
    """Return one row per person, account and entitlement, in a stable order."""
    started = time.monotonic()
    identities = identity_index(config)
    grants: list[Grant] = []
    for source in sources:
        extract = _EXTRACTORS.get(source.type)
        if extract is None:
            continue
        _warn_if_incomplete(source)
        grants.extend(extract(config, source))
    entries = merge_grants(grants, identities)
    logger.info(
        "access review built rows=%d accounts=%d not_joined=%d elapsed=%.2fs",
        len(entries),
        len({(entry.system, entry.account) for entry in entries}),
        sum(1 for entry in entries if entry.person is None),
        time.monotonic() - started,
    )
    return entries


def identity_index(config: Config) -> dict[str, str]:
    """Map each configured ``<system>:<account>`` (lower-cased) to its person."""
    index: dict[str, str] = {}
    for mapping in config.identities:
        person = mapping.person.strip().lower()
        for account in mapping.accounts:
            alias = account.strip().lower()
            if index.get(alias, person) != person:
                raise ConfigError(
                    f"identities: account {account!r} is given to both "
                    f"{index[alias]} and {person}; an account belongs to one person"
                )
            index[alias] = person
    return index


def merge_grants(grants: list[Grant], identities: dict[str, str]) -> list[AccessEntry]:
    """Join grants to people and fold those of one account and entitlement."""
    groups: dict[tuple[str | None, str, str, str], list[Grant]] = {}
    for grant in sorted(grants, key=_grant_order):
        person = join_person(grant.holder, identities)
        key = (person, grant.holder.system, grant.holder.account, grant.entitlement)
        groups.setdefault(key, []).append(grant)
    entries = [_entry(key, items) for key, items in groups.items()]
    return sorted(entries, key=_entry_order)


def join_person(holder: Holder, identities: dict[str, str]) -> str | None:
    """Return the person an account belongs to, or None when it cannot be joined."""
    for alias in (f"{holder.system}:{holder.account}", *holder.aliases):
        person = identities.get(alias.lower())
        if person is not None:
            return person
    return holder.email


def _grant_order(grant: Grant) -> tuple[str, ...]:
    holder = grant.holder
    return holder.system, holder.account, grant.entitlement, grant.via, grant.scope


def _entry(key: tuple[str | None, str, str, str], grants: list[Grant]) -> AccessEntry:
    person, system, account, entitlement = key
    via = "; ".join(_unique(grant.via for grant in grants))
    note = grants[0].holder.note
    return AccessEntry(
        person=person,
        system=system,
        account=account,
        entitlement=entitlement,
        scope="; ".join(_unique(grant.scope for grant in grants)),
        via=f"{via} [{note}]" if note else via,
        evidence=sorted({ref for grant in grants for ref in grant.evidence}),
    )


_ENTITLEMENT_RANK = {name: rank for rank, name in enumerate(ENTITLEMENTS)}


def _entry_order(entry: AccessEntry) -> tuple[Any, ...]:
    rank = _ENTITLEMENT_RANK.get(entry.entitlement, len(_ENTITLEMENT_RANK))
    return entry.person is None, entry.person or "", entry.system, entry.account, rank


def _unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(value for value in values if value))


def _warn_if_incomplete(source: SourceData) -> None:
    status = source.overall_status()
    if status is not SourceStatus.COMPLETE:
        logger.warning(
            "access review uses evidence that is not complete source=%s status=%s; "
            "accounts or entitlements may be missing",
            source.name,
            status.value,
        )


def _records(source: SourceData, name: str) -> Records:
    resource = source.resources.get(name)
    return resource.records if resource is not None else {}


def _email(value: Any) -> str | None:
    if isinstance(value, str) and _EMAIL.match(value.strip()):
        return value.strip().lower()
    return None


def _refs(*records: Record | None) -> tuple[str, ...]:
    return tuple(
        record["_ref"]
        for record in records
        if record is not None and isinstance(record.get("_ref"), str)
    )


def _child(record: Record, name: str) -> Record:
    value = record.get(name)
    return value if isinstance(value, dict) else {}


def _text_list(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [item for item in value if isinstance(item, str)]
    return []


# --------------------------------------------------------------------------- Octopus

OCTOPUS = "octopus"
ADMIN_TEAM_NAMES = frozenset(
    {"Octopus Administrators", "Octopus Managers", "Space Managers"}
)
# Space permissions that give an entitlement when their scope covers production.
OCTOPUS_PERMISSIONS: dict[str, tuple[str, ...]] = {
    "deploy-production": ("DeploymentCreate",),
    "change-production-config": (
        "VariableEdit",
        "VariableEditUnscoped",
        "ProcessEdit",
        "EnvironmentEdit",
        "MachineEdit",
    ),
    "approve-changes": ("InterruptionSubmit",),
}
_OTHER_SCOPES = (
    ("ProjectIds", "projects"),
    ("ProjectGroupIds", "project groups"),
    ("TenantIds", "tenants"),
)

# (entitlement, scope, via, evidence) granted to every member of one team
TeamGrant = tuple[str, str, str, tuple[str, ...]]


def _octopus_grants(config: Config, source: SourceData) -> Iterator[Grant]:
    users = _records(source, "users")
    scoped_by_team: dict[str, list[Record]] = {}
    for scoped in _records(source, "scopeduserroles").values():
        if isinstance(scoped.get("TeamId"), str):
            scoped_by_team.setdefault(scoped["TeamId"], []).append(scoped)
    context = _OctopusContext(config, source)
    for team_id, team in sorted(_records(source, "teams").items()):
        team_grants = list(context.team_grants(team, scoped_by_team.get(team_id, [])))
        for user_id in _text_list(team.get("MemberUserIds")):
            user = users.get(user_id)
            holder = _octopus_holder(user_id, user)
            for entitlement, scope, via, evidence in team_grants:
                yield Grant(holder, entitlement, scope, via, (*evidence, *_refs(user)))
        for holder in _external_group_holders(team):
            for entitlement, scope, via, evidence in team_grants:
                yield Grant(holder, entitlement, scope, via, evidence)


class _OctopusContext:
    """What deciding a team's entitlements needs: roles and production environments."""

    def __init__(self, config: Config, source: SourceData) -> None:
        self.roles = _records(source, "userroles")
        self.environments = _records(source, "environments")
        self.configured = set(config.production_environments)
        self.production = set(
            production_environment_ids(
                self.environments, config.production_environments
            )
        )

    def team_grants(
        self, team: Record, scoped_roles: list[Record]
    ) -> Iterator[TeamGrant]:
        """Yield what membership of a team grants, through its name and its roles."""
        name = team.get("Name")
        if name in ADMIN_TEAM_NAMES:
            where = (
                f"space {team['SpaceId']}" if team.get("SpaceId") else "Octopus server"
            )
            via = f"built-in team {name} ({team.get('Id')})"
            yield "administrator", where, via, _refs(team)
        for scoped in sorted(scoped_roles, key=lambda item: str(item.get("Id"))):
            role = self.roles.get(str(scoped.get("UserRoleId")))
            if role is None:
                logger.warning(
                    "access review: scoped role %s of team %s names user role %s, "
                    "which is not in the evidence; it grants nothing here",
                    scoped.get("Id"),
                    team.get("Id"),
                    scoped.get("UserRoleId"),
                )
                continue
            yield from self._role_grants(team, scoped, role)

    def _role_grants(
        self, team: Record, scoped: Record, role: Record
    ) -> Iterator[TeamGrant]:
        path = (
            f"team {team.get('Name')} ({team.get('Id')}) -> role {role.get('Name')} "
            f"({scoped.get('Id')})"
        )
        evidence = _refs(team, scoped, role)
        system_permissions = _text_list(role.get("GrantedSystemPermissions"))
        if not scoped.get("SpaceId") and "AdministerSystem" in system_permissions:
            via = f"{path} [AdministerSystem, system-level]"
            yield "administrator", "Octopus server", via, evidence
        cover = self._production_cover(scoped)
        if cover is None:
            return
        scope, environment_refs = cover
        granted = set(_text_list(role.get("GrantedSpacePermissions")))
        for entitlement, permissions in OCTOPUS_PERMISSIONS.items():
            held = [permission for permission in permissions if permission in granted]
            if held:
                via = f"{path} [{', '.join(held)}]"
                yield entitlement, scope, via, (*evidence, *environment_refs)

    def _production_cover(self, scoped: Record) -> tuple[str, tuple[str, ...]] | None:
        """Describe the production part of a scoped role's environments, if any."""
        space = scoped.get("SpaceId")
        where = f" in {space}" if space else " in every space"
        narrowed = "".join(
            f"; only {label} {', '.join(_text_list(scoped.get(field)))}"
            for field, label in _OTHER_SCOPES
            if _text_list(scoped.get(field))
        )
        environment_ids = _text_list(scoped.get("EnvironmentIds"))
        if not environment_ids:
            return f"all environments{where} (unrestricted){narrowed}", ()
        hits = [
            env_id
            for env_id in environment_ids
            if env_id in self.production or env_id in self.configured
        ]
        if not hits:
            return None
        names = ", ".join(self._environment_label(env_id) for env_id in hits)
        return f"{names}{where}{narrowed}", _refs(*map(self.environments.get, hits))

    def _environment_label(self, env_id: str) -> str:
        environment = self.environments.get(env_id)
        name = environment.get("Name") if environment else None
        return f"{name} ({env_id})" if name else env_id


def _external_group_holders(team: Record) -> Iterator[Holder]:
    """List a team's external (AD/OIDC) groups, whose members Octopus does not list."""
    for group in team.get("ExternalSecurityGroups") or ():
        if isinstance(group, dict) and isinstance(group.get("Id"), str):
            name = group.get("DisplayName") or group["Id"]
            note = f"external group {name}: its members are not in the evidence"
            yield Holder(OCTOPUS, f"ExternalSecurityGroup:{group['Id']}", note=note)


def _octopus_holder(user_id: str, user: Record | None) -> Holder:
    if user is None:
        return Holder(OCTOPUS, user_id, note="user not in the evidence")
    notes = []
    if user.get("IsActive") is False:
        notes.append("account inactive")
    if user.get("IsService") is True:
        notes.append("service account")
    username = user.get("Username")
    aliases = (f"{OCTOPUS}:{username}",) if isinstance(username, str) else ()
    return Holder(
        OCTOPUS,
        user_id,
        email=_email(user.get("EmailAddress")),
        aliases=aliases,
        note=", ".join(notes) or None,
    )


# ------------------------------------------------------------------ ServiceNow, JSM

SERVICENOW = "servicenow"
JSM = "jsm"


def _servicenow_grants(config: Config, source: SourceData) -> Iterator[Grant]:
    users = _records(source, "sys_user")
    by_approver: dict[str, list[Record]] = {}
    for approval in _records(source, "sysapproval_approver").values():
        approver = approval.get("approver")
        if isinstance(approver, str) and approval.get("source_table") in (
            None,
            "change_request",
        ):
            by_approver.setdefault(approver, []).append(approval)
    for approver_id, approvals in sorted(by_approver.items()):
        user = users.get(approver_id)
        changes = {a.get("sysapproval") or a.get("document_id") for a in approvals}
        states = Counter(str(a.get("state") or "no state") for a in approvals)
        yield Grant(
            _servicenow_holder(approver_id, user),
            "approve-changes",
            f"{len(changes)} change request(s) in the evidence",
            f"approver in sysapproval_approver ({_counts(states)})",
            (*_refs(user), *_refs(*approvals)),
        )


def _servicenow_holder(sys_id: str, user: Record | None) -> Holder:
    if user is None:
        return Holder(SERVICENOW, sys_id, note="user not in the evidence")
    user_name = user.get("user_name")
    account = user_name if isinstance(user_name, str) and user_name else sys_id
    note = "account inactive" if user.get("active") is False else None
    return Holder(
        SERVICENOW,
        account,
        email=_email(user.get("email")),
        aliases=(f"{SERVICENOW}:{sys_id}",),
        note=note,
    )


def _jsm_grants(config: Config, source: SourceData) -> Iterator[Grant]:
    found: dict[str, tuple[str | None, list[Record], Counter[str]]] = {}
    for approval in _records(source, "approvals").values():
        for entry in approval.get("approvers") or ():
            account_id, email, decision = _jsm_approver(entry)
            account = account_id or email
            if account is None:
                continue
            _, approvals, decisions = found.setdefault(account, (email, [], Counter()))
            approvals.append(approval)
            decisions[decision or "no decision"] += 1
    for account, (email, approvals, decisions) in sorted(found.items()):
        requests = {approval.get("issueKey") for approval in approvals}
        aliases = (f"{JSM}:{email}",) if email else ()
        yield Grant(
            Holder(JSM, account, email=email, aliases=aliases),
            "approve-changes",
            f"{len(requests)} request(s) in the evidence",
            f"approver on JSM approvals ({_counts(decisions)})",
            _refs(*approvals),
        )


def _jsm_approver(entry: Any) -> tuple[str | None, str | None, str | None]:
    """Read an approver as the JSM collector keeps it, or as the API sends it."""
    if not isinstance(entry, dict):
        return None, None, None
    person = _child(entry, "approver") or entry
    account_id = person.get("accountId")
    email = _email(person.get("email") or person.get("emailAddress"))
    decision = entry.get("approverDecision")
    return (
        account_id if isinstance(account_id, str) and account_id else None,
        email,
        decision if isinstance(decision, str) else None,
    )


def _counts(counter: Counter[str]) -> str:
    return ", ".join(f"{name} {count}" for name, count in sorted(counter.items()))


# ------------------------------------------------------------------------------ AWS

ADMINISTRATOR_ACCESS = "arn:aws:iam::aws:policy/AdministratorAccess"
# Actions that give an entitlement; an administrator holds them all.
AWS_ACTIONS: dict[str, tuple[str, ...]] = {
    "deploy-production": ("ecs:UpdateService", "lambda:UpdateFunctionCode", "eks:*"),
    "change-production-config": ("ssm:PutParameter", "secretsmanager:PutSecretValue"),
}


@dataclass(frozen=True)
class _PolicySource:
    """One policy reaching a principal: its label, statements and records."""

    label: str
    statements: list[Record]
    evidence: tuple[str, ...]
    administrator_access: bool = False


def _aws_grants(config: Config, source: SourceData) -> Iterator[Grant]:
    policies = _PolicyIndex(_records(source, "policies"))
    groups = _records(source, "groups")
    for key, user in sorted(_records(source, "users").items()):
        holder = _aws_holder(key, user, "UserName")
        sources = [
            *policies.sources(user, "UserPolicyList", "", _refs(user)),
            *_group_sources(user, groups, policies),
        ]
        yield from _principal_grants(holder, sources)
    for key, role in sorted(_records(source, "roles").items()):
        holder = _aws_holder(key, role, "RoleName")
        yield from _principal_grants(
            holder, policies.sources(role, "RolePolicyList", "", _refs(role))
        )


class _PolicyIndex:
    """Find managed policy records by account and ARN."""

    def __init__(self, records: Records) -> None:
        self.by_arn: dict[tuple[str, str], Record] = {}
        for key, record in records.items():
            arn = record.get("Arn")
            if isinstance(arn, str):
                account = str(record.get("AccountId") or key.partition(":")[0])
                self.by_arn[(account, arn)] = record

    def sources(
        self, principal: Record, inline_field: str, prefix: str, refs: tuple[str, ...]
    ) -> list[_PolicySource]:
        """List a principal's inline and attached policies as policy sources."""
        found = [
            _PolicySource(
                f"{prefix}inline policy {policy.get('PolicyName')}",
                _statements(policy.get("PolicyDocument")),
                refs,
            )
            for policy in principal.get(inline_field) or ()
            if isinstance(policy, dict)
        ]
        account = _aws_account(principal)
        for attached in principal.get("AttachedManagedPolicies") or ():
            arn = attached.get("PolicyArn") if isinstance(attached, dict) else None
            if isinstance(arn, str):
                found.extend(self._attached(account, arn, attached, prefix, refs))
        return found

    def _attached(
        self,
        account: str,
        arn: str,
        attached: Record,
        prefix: str,
        refs: tuple[str, ...],
    ) -> list[_PolicySource]:
        record = self.by_arn.get((account, arn))
        label = f"{prefix}managed policy {attached.get('PolicyName') or arn}"
        if record is None and arn != ADMINISTRATOR_ACCESS:
            logger.warning(
                "access review: managed policy %s (account %s) is not in the "
                "evidence; the access it grants is not listed",
                arn,
                account,
            )
            return []
        document = record.get("DefaultDocument") if record else None
        return [
            _PolicySource(
                label,
                _statements(document),
                (*refs, *_refs(record)),
                administrator_access=arn == ADMINISTRATOR_ACCESS,
            )
        ]


def _group_sources(
    user: Record, groups: Records, policies: _PolicyIndex
) -> list[_PolicySource]:
    found: list[_PolicySource] = []
    for group_key in _text_list(user.get("Groups")):
        group = groups.get(group_key)
        if group is None:
            logger.warning(
                "access review: group %s of %s is not in the evidence; the access "
                "it grants is not listed",
                group_key,
                user.get("Arn"),
            )
            continue
        prefix = f"group {group.get('GroupName')} -> "
        refs = _refs(user, group)
        found.extend(policies.sources(group, "GroupPolicyList", prefix, refs))
    return found


def _principal_grants(holder: Holder, sources: list[_PolicySource]) -> Iterator[Grant]:
    for policy in sources:
        admin = _admin_actions(policy)
        if admin is not None:
            yield from _administrator_grants(holder, policy, admin)
            continue
        for entitlement, actions in AWS_ACTIONS.items():
            held, scopes = _allowed(policy.statements, actions)
            if held:
                via = f"{policy.label} [{', '.join(held)}]"
                scope = "; ".join(scopes)
                yield Grant(holder, entitlement, scope, via, policy.evidence)


def _administrator_grants(
    holder: Holder, policy: _PolicySource, admin: str
) -> Iterator[Grant]:
    """An administrator policy grants every entitlement AWS can give."""
    via = f"{policy.label} [{admin}]"
    everything = "all actions on all resources"
    yield Grant(holder, "administrator", everything, via, policy.evidence)
    for entitlement in AWS_ACTIONS:
        scope = "all resources (administrator)"
        yield Grant(holder, entitlement, scope, via, policy.evidence)


def _admin_actions(policy: _PolicySource) -> str | None:
    """Name what makes a policy administrative, or None."""
    if policy.administrator_access:
        return "AdministratorAccess"
    for statement in policy.statements:
        if statement.get("Effect") != "Allow" or "*" not in _text_list(
            statement.get("Resource")
        ):
            continue
        patterns = _text_list(statement.get("Action"))
        if any(pattern in ("*", "*:*") for pattern in patterns):
            return "Allow * on *"
        if any(_covers(pattern, "iam:*") for pattern in patterns):
            return "Allow iam:* on * (can grant itself any permission)"
    return None


def _allowed(
    statements: list[Record], actions: tuple[str, ...]
) -> tuple[list[str], list[str]]:
    held: list[str] = []
    scopes: list[str] = []
    for statement in statements:
        matched = [action for action in actions if _allows(statement, action)]
        if matched:
            held.extend(matched)
            scopes.append(_resource_text(statement))
    return _unique(held), _unique(scopes)


def _allows(statement: Record, action: str) -> bool:
    if statement.get("Effect") != "Allow":
        return False
    if "Action" in statement:
        return any(_covers(p, action) for p in _text_list(statement["Action"]))
    if "NotAction" in statement:
        return not any(_covers(p, action) for p in _text_list(statement["NotAction"]))
    return False


def _covers(pattern: str, action: str) -> bool:
    """Tell whether an IAM action pattern (``*``, ``?``) covers an action."""
    regex = "".join(
        ".*" if char == "*" else "." if char == "?" else re.escape(char)
        for char in pattern
    )
    return re.fullmatch(regex, action, flags=re.IGNORECASE) is not None


def _resource_text(statement: Record) -> str:
    if "NotResource" in statement:
        excluded = ", ".join(_text_list(statement["NotResource"]))
        text = f"all resources except {excluded}"
    else:
        resources = _text_list(statement.get("Resource"))
        text = "all resources" if "*" in resources else ", ".join(resources)
    return f"{text} (with conditions)" if statement.get("Condition") else text


def _statements(document: Any) -> list[Record]:
    statements = document.get("Statement") if isinstance(document, dict) else None
    if isinstance(statements, dict):
        return [statements]
    if isinstance(statements, list):
        return [item for item in statements if isinstance(item, dict)]
    return []


def _aws_account(record: Record) -> str:
    account = record.get("AccountId")
    if isinstance(account, str) and account:
        return account
    arn = str(record.get("Arn") or "")
    parts = arn.split(":")
    return parts[4] if len(parts) > 5 else "unknown"


def _aws_holder(key: str, record: Record, name_field: str) -> Holder:
    account = _aws_account(record)
    system = f"aws:{account}"
    name = str(record.get(name_field) or key.partition(":")[2])
    arn = record.get("Arn") if isinstance(record.get("Arn"), str) else None
    aliases = (f"{system}:{name}", f"aws:{name}", *((f"aws:{arn}",) if arn else ()))
    if name_field == "RoleName":
        return Holder(system, arn or key, aliases=aliases, note="IAM role")
    email = _tag_email(record.get("Tags")) or _email(name)
    return Holder(system, arn or key, email=email, aliases=aliases)


def _tag_email(tags: Any) -> str | None:
    if isinstance(tags, dict):
        return _email(tags.get("email") or tags.get("Email"))
    for tag in tags if isinstance(tags, list) else ():
        if isinstance(tag, dict) and tag.get("Key") in ("email", "Email"):
            return _email(tag.get("Value"))
    return None


# ----------------------------------------------------------------------- Kubernetes

# (apiGroups, resources, verbs) of whole resources that give an entitlement
RuleMatch = tuple[frozenset[str], frozenset[str], frozenset[str]]
_DEPLOY: RuleMatch = (
    frozenset({"apps", "extensions", "*"}),
    frozenset({"deployments", "statefulsets", "daemonsets", "*"}),
    frozenset({"create", "update", "patch", "*"}),
)
_CONFIG: RuleMatch = (
    frozenset({"", "*"}),
    frozenset({"configmaps", "secrets", "*"}),
    frozenset({"update", "patch", "*"}),
)


def _kubernetes_grants(config: Config, source: SourceData) -> Iterator[Grant]:
    system = f"kubernetes:{_cluster_name(config, source)}"
    for key, grant in sorted(_records(source, "grants").items()):
        holder = _kubernetes_holder(system, key, grant)
        for permission in grant.get("permissions") or ():
            if isinstance(permission, dict) and not permission.get("nonResourceURL"):
                yield from _permission_grants(holder, permission)


def _permission_grants(holder: Holder, permission: Record) -> Iterator[Grant]:
    via = _child(permission, "via")
    evidence = tuple(
        ref
        for ref in (via.get("binding"), via.get("role"), via.get("aggregated_from"))
        if isinstance(ref, str)
    )
    path = (
        f"{via.get('binding_kind')} {via.get('binding_name')} -> "
        f"{via.get('role_kind')} {via.get('role_name')}"
    )
    scope = _kubernetes_scope(permission)
    for entitlement, detail in _kubernetes_entitlements(permission, via):
        yield Grant(holder, entitlement, scope, f"{path} [{detail}]", evidence)


def _kubernetes_entitlements(
    permission: Record, via: Record
) -> Iterator[tuple[str, str]]:
    group = permission.get("apiGroup")
    resource = permission.get("resource")
    verbs = frozenset(_text_list(permission.get("verbs")))
    whole = not permission.get("subresource")  # deployments, not deployments/scale
    qualified = f"{resource}.{group}" if group else str(resource)  # deployments.apps
    label = f"{','.join(sorted(verbs))} on {qualified}"
    cluster_admin = via.get("role_kind") == "ClusterRole" and (
        via.get("role_name") == "cluster-admin"
    )
    everything = group == "*" and resource == "*" and "*" in verbs
    if cluster_admin or (everything and whole and not permission.get("resourceNames")):
        yield "administrator", label
    if whole and _matches(group, resource, verbs, _DEPLOY):
        yield "deploy-production", label
    if whole and _matches(group, resource, verbs, _CONFIG):
        yield "change-production-config", label


def _matches(group: Any, resource: Any, verbs: frozenset[str], rule: RuleMatch) -> bool:
    groups, resources, wanted = rule
    return group in groups and resource in resources and bool(verbs & wanted)


def _kubernetes_scope(permission: Record) -> str:
    scope = permission.get("scope")
    text = (
        "all namespaces (cluster-wide)" if scope == "cluster" else f"namespace {scope}"
    )
    names = _text_list(permission.get("resourceNames"))
    return f"{text} (only {', '.join(names)})" if names else text


def _kubernetes_holder(system: str, key: str, grant: Record) -> Holder:
    kind, name = grant.get("kind"), grant.get("name")
    name = name if isinstance(name, str) else key.partition(":")[2]
    username = grant.get("username")
    aliases = [f"{system}:{name}", f"kubernetes:{key}", f"kubernetes:{name}"]
    if isinstance(username, str) and username != name:
        aliases += [f"{system}:{username}", f"kubernetes:{username}"]
    broad = grant.get("broad_reason")
    return Holder(
        system,
        key,
        email=_email(name) if kind == "User" else None,
        aliases=tuple(aliases),
        note=f"broad subject: {broad}" if isinstance(broad, str) else None,
    )


def _cluster_name(config: Config, source: SourceData) -> str:
    for configured in config.sources:
        cluster = getattr(configured, "cluster", None)
        if configured.name == source.name and isinstance(cluster, str) and cluster:
            return cluster
    return source.name


_EXTRACTORS: dict[str, Callable[[Config, SourceData], Iterator[Grant]]] = {
    OCTOPUS: _octopus_grants,
    SERVICENOW: _servicenow_grants,
    JSM: _jsm_grants,
    "aws": _aws_grants,
    "kubernetes": _kubernetes_grants,
}
