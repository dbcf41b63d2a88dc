"""Write the Harbourline Payments sample exports and the findings they must yield.

Harbourline Payments is an invented payments firm. This script builds one quarter
(Q3 2026, Europe/London) of Octopus Deploy and ServiceNow evidence in the shapes
the real APIs return, with a few deliberately constructed violations of each
policy and everything else compliant. ``expected-findings.json`` and
``EXPECTED.md`` are written from how each violation was built, never by running a
policy, so they can be used to check the policies.

Run it with no arguments to rewrite the committed files beside it, or with
``--output DIR`` to write a copy elsewhere. The output depends only on ``SEED``.
"""

from __future__ import annotations

import argparse
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

SEED = 27001
LONDON = ZoneInfo("Europe/London")
VIEWER_ZONE = ZoneInfo("Europe/Berlin")  # the ServiceNow account that exported (CET)
PERIOD_START = datetime(2026, 6, 30, 23, 0, tzinfo=UTC)  # 1 July 00:00 in London
PERIOD_END = datetime(2026, 9, 30, 23, 0, tzinfo=UTC)  # 1 October 00:00, exclusive
HISTORY_START = date(2026, 3, 2)
COLLECTED_AT = datetime(2026, 10, 6, 6, 15, tzinfo=UTC)
PAGE_CUTOFF = datetime(2026, 7, 6, tzinfo=UTC)  # older events are only in archives
ARCHIVE_UNTIL = datetime(2026, 7, 8, tzinfo=UTC)  # archives run two days into the pages
EVENT_PAGE_SIZE = 250
INACTIVITY_DAYS = 90
API_KEY_MAX_DAYS = 365
EMERGENCY_REVIEW_DAYS = 5
SPACE = "Spaces-1"
SNOW_URL = "https://harbourline.service-now.example.invalid"
MAIL_DOMAIN = "harbourline.example"
ALLOWLISTED_ADMIN = f"imogen.farrow@{MAIL_DOMAIN}"
BACKUP_RUNBOOKS = ("Nightly database backup", "Weekly ledger snapshot")
ENVIRONMENTS = ("Development", "Staging", "Production")
FORM_KEY = "Octopus.ServiceNow.ChangeRequest.Number"
JsonObject = dict[str, Any]


# --- people ------------------------------------------------------------------------

REGULAR = (("2026-03-02", "2026-10-05"),)


@dataclass(frozen=True)
class Person:
    """An Octopus user and, when they have one, their ServiceNow account."""

    number: int
    first: str
    last: str
    teams: tuple[str, ...] = ()
    active: bool = True
    service: bool = False
    snow_email: str | None = None  # as ServiceNow spells it; the case may differ
    activity: tuple[tuple[str, str], ...] = REGULAR  # days with audit events

    @property
    def user_id(self) -> str:
        """Return the Octopus id."""
        return f"Users-{self.number}"

    @property
    def username(self) -> str:
        """Return the Octopus login name."""
        return self.first if self.service else f"{self.first}.{self.last}".lower()

    @property
    def email(self) -> str | None:
        """Return the Octopus e-mail address (service accounts have none)."""
        return None if self.service else f"{self.username}@{MAIL_DOMAIN}"

    @property
    def display_name(self) -> str:
        """Return the name shown in both tools."""
        return "CI pipeline" if self.service else f"{self.first} {self.last}"


def _snow(first: str, last: str, case: str = "lower") -> str:
    local = f"{first}.{last}"
    domain = MAIL_DOMAIN.capitalize() if case == "title-domain" else MAIL_DOMAIN
    return f"{local if case != 'lower' else local.lower()}@{domain}"


PEOPLE = (
    Person(1, "Imogen", "Farrow", ("admins",), snow_email=_snow("imogen", "farrow")),
    Person(2, "Rafael", "Quenby", ("admins",)),
    Person(3, "Dmitri", "Saltmarsh", ("platform-oncall",)),
    Person(4, "Priya", "Lindqvist", ("space-managers",)),
    Person(
        5,
        "Tomasz",
        "Brennan",
        ("prod-deployers",),
        snow_email=_snow("Tomasz", "Brennan", "title-domain"),
    ),
    Person(
        6,
        "Aisling",
        "Moreau",
        ("prod-deployers",),
        snow_email=_snow("Aisling", "Moreau", "title"),
    ),
    Person(7, "Kwame", "Ashdown", ("prod-deployers",)),
    Person(8, "Hannah", "Velasco", ("prod-deployers", "platform-leads")),
    Person(
        9,
        "svc-octopus-ci",
        "",
        ("prod-deployers", "developers"),
        service=True,
        activity=(),
    ),
    Person(
        10,
        "Oliver",
        "Penhallow",
        ("developers",),
        snow_email=_snow("Oliver", "Penhallow", "title-domain"),
    ),
    Person(
        11,
        "Sunita",
        "Raghavan",
        ("developers",),
        snow_email=_snow("sunita", "raghavan"),
    ),
    Person(12, "Jonas", "Eklund", ("developers",), snow_email=_snow("jonas", "eklund")),
    Person(
        13,
        "Maeve",
        "Carrick",
        ("developers",),
        snow_email=_snow("Maeve", "Carrick", "title"),
    ),
    Person(
        14, "Felix", "Ambrose", ("developers",), snow_email=_snow("felix", "ambrose")
    ),
    Person(
        15,
        "Gareth",
        "Pollard",
        ("developers",),
        activity=(("2026-03-02", "2026-03-20"),),
    ),
    Person(
        16,
        "Beatrix",
        "Okafor",
        ("change-approvers",),
        snow_email=_snow("beatrix", "okafor"),
        activity=(),
    ),
    Person(
        17,
        "Lucia",
        "Fernhill",
        ("developers",),
        activity=(("2026-03-02", "2026-07-01"),),
    ),
    Person(
        18,
        "Nadia",
        "Castellane",
        ("auditors",),
        activity=(("2026-03-02", "2026-05-28"), ("2026-10-02", "2026-10-05")),
    ),
    Person(
        19,
        "Chloe",
        "Marchetti",
        ("change-approvers",),
        snow_email=_snow("chloe", "marchetti"),
    ),
    Person(20, "Victor", "Hale", ("admins",), active=False, activity=()),
    Person(21, "Samuel", "Oduya", (), activity=()),
    Person(
        22, "Rosa", "Delacroix", ("developers",), snow_email=_snow("rosa", "delacroix")
    ),
    Person(
        23,
        "Ethan",
        "Mowbray",
        ("developers",),
        active=False,
        activity=(("2026-03-02", "2026-04-30"),),
    ),
    Person(24, "Zara", "Whitlock", ("change-approvers",)),
    Person(
        25,
        "Leo",
        "Brightwater",
        ("developers",),
        snow_email=_snow("leo", "brightwater"),
    ),
)
BY_NUMBER = {person.number: person for person in PEOPLE}
PROD_DEPLOYERS = (5, 6, 7, 8)
STAGING_DEPLOYERS = (10, 11, 12, 13, 14, 22, 25)
SERVICE_ACCOUNT = 9


@dataclass(frozen=True)
class SnowUser:
    """A ServiceNow sys_user record."""

    sys_id: str
    name: str
    email: str
    title: str
    zone: str = "Europe/London"

    @property
    def user_name(self) -> str:
        """Return the ServiceNow login name."""
        return self.email.split("@")[0].lower()


# (key, id, name, system-level team?)
TEAMS = (
    ("admins", "teams-administrators", "Octopus Administrators", True),
    ("everyone", "teams-everyone", "Everyone", True),
    ("space-managers", "teams-spacemanagers-Spaces-1", "Space Managers", False),
    ("prod-deployers", "Teams-4", "prod-deployers", False),
    ("developers", "Teams-5", "developers", False),
    ("change-approvers", "Teams-6", "change-approvers", False),
    ("platform-oncall", "Teams-7", "platform-oncall", True),
    ("auditors", "Teams-8", "auditors", False),
    ("platform-leads", "Teams-9", "Platform Leads", True),
)
TEAM_IDS = {key: team_id for key, team_id, _, _ in TEAMS}

# (team key, user role, SpaceId, environment scope)
SCOPED_ROLES: tuple[tuple[str, str, str | None, tuple[str, ...]], ...] = (
    ("admins", "userroles-systemadministrator", None, ()),
    ("admins", "userroles-spacemanager", SPACE, ()),
    ("space-managers", "userroles-spacemanager", SPACE, ()),
    ("prod-deployers", "userroles-deploymentcreator", SPACE, ("Environments-3",)),
    ("prod-deployers", "userroles-projectviewer", SPACE, ()),
    ("developers", "userroles-projectcontributor", SPACE, ()),
    (
        "developers",
        "userroles-deploymentcreator",
        SPACE,
        ("Environments-1", "Environments-2"),
    ),
    ("change-approvers", "userroles-projectviewer", SPACE, ()),
    ("platform-oncall", "userroles-systemadministrator", "", ()),
    ("platform-oncall", "userroles-runbookconsumer", SPACE, ("Environments-3",)),
    ("auditors", "userroles-projectviewer", SPACE, ()),
    ("auditors", "userroles-environmentviewer", SPACE, ()),
    ("platform-leads", "userroles-systemmanager", None, ()),
)

USER_ROLES = (
    (
        "userroles-systemadministrator",
        "System administrator",
        "Full control of the Octopus server, including system settings.",
        (
            "AdministerSystem",
            "ConfigureServer",
            "SpaceCreate",
            "SpaceDelete",
            "SpaceEdit",
            "SpaceView",
            "TeamCreate",
            "TeamEdit",
            "TeamView",
            "UserEdit",
            "UserInvite",
            "UserRoleEdit",
            "UserRoleView",
            "UserView",
            "EventView",
        ),
        (),
    ),
    (
        "userroles-systemmanager",
        "System manager",
        "Manages spaces, teams and users without server administration.",
        (
            "SpaceCreate",
            "SpaceEdit",
            "SpaceView",
            "TeamCreate",
            "TeamEdit",
            "TeamView",
            "UserEdit",
            "UserView",
            "UserRoleView",
            "EventView",
        ),
        (),
    ),
    (
        "userroles-spacemanager",
        "Space manager",
        "Manages everything inside a space.",
        (),
        (
            "ProjectCreate",
            "ProjectEdit",
            "ProjectView",
            "EnvironmentEdit",
            "DeploymentCreate",
            "ReleaseCreate",
            "TeamEdit",
            "VariableEdit",
            "EventView",
        ),
    ),
    (
        "userroles-deploymentcreator",
        "Deployment creator",
        "Creates deployments of existing releases.",
        (),
        (
            "DeploymentCreate",
            "DeploymentView",
            "EnvironmentView",
            "ProjectView",
            "ReleaseView",
            "TaskView",
        ),
    ),
    (
        "userroles-projectcontributor",
        "Project contributor",
        "Edits projects, processes and variables and creates releases.",
        (),
        (
            "ProcessEdit",
            "ProjectEdit",
            "ProjectView",
            "ReleaseCreate",
            "ReleaseView",
            "VariableEdit",
            "VariableView",
            "TaskView",
        ),
    ),
    (
        "userroles-projectviewer",
        "Project viewer",
        "Reads projects, releases and deployments.",
        (),
        ("DeploymentView", "ProjectView", "ReleaseView", "TaskView"),
    ),
    (
        "userroles-environmentviewer",
        "Environment viewer",
        "Reads environments and their targets.",
        (),
        ("EnvironmentView", "MachineView"),
    ),
    (
        "userroles-runbookconsumer",
        "Runbook consumer",
        "Runs published runbooks.",
        (),
        ("RunbookRunCreate", "RunbookView", "ProjectView", "TaskView"),
    ),
)


# --- projects, releases, deployments, changes ------------------------------------

# (name, description, first version, change type its releases use)
PROJECTS = (
    (
        "payments-api",
        "Merchant-facing API that takes card and bank payments.",
        (4, 12, 0),
        "normal",
    ),
    (
        "ledger-service",
        "Double-entry ledger for customer and settlement accounts.",
        (2, 7, 0),
        "normal",
    ),
    (
        "card-gateway",
        "Connection to the card schemes and the acquiring bank.",
        (7, 3, 0),
        "normal",
    ),
    (
        "fraud-scoring",
        "Real-time fraud scoring of payment attempts.",
        (1, 18, 0),
        "normal",
    ),
    (
        "merchant-portal",
        "Web portal where merchants see payments and payouts.",
        (3, 4, 0),
        "normal",
    ),
    (
        "settlement-batch",
        "End-of-day settlement and payout files.",
        (5, 1, 0),
        "normal",
    ),
    (
        "notification-hub",
        "E-mail and webhook notifications to merchants.",
        (1, 9, 0),
        "standard",
    ),
    (
        "kyc-service",
        "Know-your-customer checks during merchant onboarding.",
        (2, 2, 0),
        "standard",
    ),
    (
        "platform-operations",
        "Operational runbooks for the payments platform.",
        None,
        "normal",
    ),
)
DEPLOYABLE = tuple(range(1, 9))  # project numbers that ship releases
REQUESTER_BY_PROJECT = {1: 10, 2: 11, 3: 12, 4: 13, 5: 14, 6: 22, 7: 25, 8: "declan"}


@dataclass
class Release:
    """An Octopus release of one project."""

    project: int
    created: datetime
    notes_lines: list[str]
    hotfix: bool = False
    version: str = ""
    id: str = ""
    mentions: Change | None = None  # a change named in the notes


@dataclass
class Deployment:
    """An Octopus deployment and the server task that ran it."""

    release: Release
    environment: int
    deployer: int
    created: datetime
    start: datetime | None
    completed: datetime | None
    state: str = "Success"
    scheduled_for: datetime | None = None
    link: str = "none"  # how it names its change: approval/form/comments/notes/...
    change: Change | None = None
    comment_change: Change | None = None
    comment_text: str | None = None
    error: str = ""
    id: str = ""
    task_id: str = ""
    scenario: str = "normal"

    @property
    def is_production(self) -> bool:
        """Say whether the deployment went to Production."""
        return self.environment == 3

    @property
    def in_period(self) -> bool:
        """Say whether the task started inside the audit period."""
        return self.start is not None and PERIOD_START <= self.start < PERIOD_END


@dataclass
class Approval:
    """One sysapproval_approver record."""

    approver: SnowUser
    state: str
    when: datetime
    sys_id: str = ""


@dataclass
class Change:
    """A ServiceNow change request."""

    kind: str
    state: int
    approval: str
    start: datetime | None
    end: datetime | None
    opened: datetime
    closed: datetime | None
    requester: SnowUser
    release: Release
    octopus_description: bool  # raised by Octopus, so it has the Octopus wording
    approvals: list[Approval] = field(default_factory=list)
    sys_id: str = ""
    number: str = ""

    @property
    def project(self) -> int:
        """Return the project number of the release it covers."""
        return self.release.project


@dataclass
class World:
    """Everything the generator builds before it renders files."""

    rng: random.Random
    snow_users: dict[Any, SnowUser] = field(default_factory=dict)
    releases: list[Release] = field(default_factory=list)
    deployments: list[Deployment] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    runs: list[RunbookRun] = field(default_factory=list)
    versions: dict[int, list[int]] = field(default_factory=dict)

    def hex_id(self) -> str:
        """Draw a ServiceNow-style 32-hex sys_id."""
        return f"{self.rng.getrandbits(128):032x}"


# Production slots in the period are the 66 business days of the quarter; these
# indices carry a deliberate violation or a trap, everything else is compliant.
SCENARIOS = {
    0: "emergency-midnight",
    4: "admin-queued",
    7: "late-finish",
    9: "requester-deploys",
    12: "no-change",
    15: "comments-over-notes",
    18: "failed-then-redeploy",
    21: "approval-requested",
    24: "emergency-late",
    27: "service-deploys",
    30: "early-start",
    33: "space-manager-queued",
    36: "state-new",
    38: "approver-deploys",
    41: "canceled-then-redeploy",
    44: "no-end-date",
    47: "emergency-ok",
    50: "approval-over-notes",
    52: "cancelled-approver",
    55: "failed-rejected",
    58: "admin-queued",
    61: "unknown-number",
    63: "emergency-open",
}
LINK_CYCLE = ("approval", "form", "comments", "notes", "description")
SCENARIO_LINK = {
    "approval-requested": "comments",
    "state-new": "description",
    "early-start": "form",
    "late-finish": "approval",
    "no-end-date": "notes",
    "failed-rejected": "approval",
    "unknown-number": "form",
    "no-change": "none",
    "comments-over-notes": "comments",
    "approval-over-notes": "approval",
    "service-deploys": "approval",
    "failed-then-redeploy": "form",
    "canceled-then-redeploy": "approval",
}
SCENARIO_DEPLOYER = {
    "admin-queued": 2,
    "requester-deploys": 6,
    "approver-deploys": 5,
    "cancelled-approver": 5,
    "service-deploys": SERVICE_ACCOUNT,
    "space-manager-queued": 4,
}
SCENARIO_PROJECT = {"no-change": 5, "emergency-midnight": 3, "emergency-late": 1}
UNKNOWN_NUMBER = "CHG0030417"
NOTE_PHRASES = (
    "Adds idempotency keys to refund requests",
    "Raises the connection pool limit for peak trading",
    "Fixes rounding of multi-currency fees",
    "Upgrades the TLS library to the current patch level",
    "Moves retry settings into configuration",
    "Improves logging of declined authorisations",
    "Removes the deprecated v1 webhook signature",
    "Speeds up the daily reconciliation query",
    "Adds a health check for the scheme connection",
    "Tightens input validation on merchant names",
    "Updates third-party dependencies",
    "Fixes a time-zone bug in payout cut-off times",
)
COMMENT_PHRASES = (
    "Routine release after sign-off in the release stand-up",
    "Scheduled evening rollout",
    None,
    None,
)


def business_days(first: date, last: date) -> list[date]:
    """List the weekdays from first to last inclusive."""
    days, cursor = [], first
    while cursor <= last:
        if cursor.weekday() < 5:
            days.append(cursor)
        cursor += timedelta(days=1)
    return days


def business_day_before(day: date, count: int) -> date:
    """Step back a number of weekdays."""
    while count:
        day -= timedelta(days=1)
        if day.weekday() < 5:
            count -= 1
    return day


def at(day: date, hour: int, minute: int, second: int = 0, micro: int = 0) -> datetime:
    """Build a UTC moment on a day."""
    return datetime(day.year, day.month, day.day, hour, minute, second, micro, UTC)


def jitter(world: World, moment: datetime, low_s: int, high_s: int) -> datetime:
    """Move a moment forward by a random number of seconds and microseconds."""
    seconds = world.rng.randint(low_s, high_s)
    return moment + timedelta(
        seconds=seconds, microseconds=world.rng.randint(0, 999999)
    )


def next_version(world: World, project: int, *, patch: bool = False) -> str:
    """Bump a project's version: a patch for hotfixes, else a minor release."""
    parts = world.versions.setdefault(project, list(PROJECTS[project - 1][2] or ()))
    if patch:
        parts[2] += 1
    else:
        parts[1], parts[2] = parts[1] + 1, 0
    return ".".join(str(part) for part in parts)


def new_release(
    world: World, project: int, created: datetime, *, hotfix: bool
) -> Release:
    """Create a release with a few lines of notes."""
    lines = world.rng.sample(NOTE_PHRASES, world.rng.randint(1, 3))
    if hotfix:
        lines = ["Hotfix: " + lines[0]]
    release = Release(project, created, lines, hotfix)
    world.releases.append(release)
    return release


def deploy(
    world: World,
    release: Release,
    environment: int,
    deployer: int,
    created: datetime,
    *,
    run_seconds: tuple[int, int] = (150, 900),
) -> Deployment:
    """Queue and run a deployment that succeeds."""
    start = jitter(world, created, 20, 150)
    completed = jitter(world, start, *run_seconds)
    deployment = Deployment(release, environment, deployer, created, start, completed)
    world.deployments.append(deployment)
    return deployment


def promote(world: World, release: Release, dev_day: date, staging_day: date) -> None:
    """Deploy a release to Development (by CI) and to Staging (by a developer)."""
    dev_created = jitter(world, release.created, 60, 300)
    dev = deploy(world, release, 1, SERVICE_ACCOUNT, dev_created)
    if world.rng.random() < 0.06:
        dev.state, dev.error = "Failed", "Step 'Run smoke tests' failed: 2 of 41 failed"
        deploy(
            world, release, 1, SERVICE_ACCOUNT, jitter(world, dev.created, 1500, 2400)
        )
    developer = world.rng.choice(STAGING_DEPLOYERS)
    staged = at(staging_day, world.rng.randint(12, 15), world.rng.randint(0, 59))
    if staged <= dev_created:
        staged = dev_created + timedelta(minutes=35)
    deploy(world, release, 2, developer, jitter(world, staged, 0, 600))


def ordinary_release(world: World, project: int, prod_day: date) -> Release:
    """Create a release three weekdays before its production day and promote it."""
    built = business_day_before(prod_day, 3)
    created = jitter(world, at(built, 10, 0), 0, 7200)
    release = new_release(world, project, created, hotfix=False)
    promote(world, release, built, business_day_before(prod_day, 1))
    return release


def hotfix_release(world: World, project: int, window_start: datetime) -> Release:
    """Create a hotfix release two hours before an emergency window."""
    created = jitter(world, window_start - timedelta(hours=2), 0, 600)
    release = new_release(world, project, created, hotfix=True)
    promote(world, release, created.date(), created.date())
    return release


# --- the production plan ------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    """A planned change window and when the production task ran in it."""

    start: datetime
    end: datetime | None
    queued: datetime


def standard_window(day: date) -> Window:
    """Return the usual 18:00 to 21:00 London evening window."""
    return Window(at(day, 17, 0), at(day, 20, 0), at(day, 17, 5))


def emergency_window(day: date, midnight: bool) -> Window:
    """Return a short out-of-hours window for an emergency change."""
    if midnight:  # 1 July 00:05 in London is 30 June 23:05 UTC: still in the period
        return Window(
            at(day, 22, 45), at(day + timedelta(days=1), 1, 0), at(day, 23, 3)
        )
    return Window(at(day, 20, 30), at(day, 23, 0), at(day, 20, 40))


def slot_window(day: date, scenario: str) -> Window:
    """Return the window and queue time a scenario needs."""
    if scenario == "emergency-midnight":
        return emergency_window(day - timedelta(days=1), midnight=True)
    if scenario.startswith("emergency"):
        return emergency_window(day, midnight=False)
    if scenario == "early-start":
        return Window(at(day, 18, 0), at(day, 20, 0), at(day, 17, 38))
    if scenario == "late-finish":
        return Window(at(day, 17, 0), at(day, 18, 0), at(day, 17, 40))
    window = standard_window(day)
    if scenario == "no-end-date":
        return Window(window.start, None, window.queued)
    return window


def change_kind(project: int, scenario: str) -> str:
    """Return the change type a production deployment is made under."""
    return "emergency" if scenario.startswith("emergency") else PROJECTS[project - 1][3]


def requester_for(world: World, project: int) -> SnowUser:
    """Return the product owner who raises changes for a project."""
    return world.snow_users[REQUESTER_BY_PROJECT[project]]


def cab_approvals(
    world: World, opened: datetime, window_start: datetime
) -> list[Approval]:
    """Approve a normal change by one or two CAB members before its window."""
    pool = ("chloe", "marcus", "yvonne", "beatrix")
    chosen = world.rng.sample(pool, world.rng.randint(1, 2))
    span = int((window_start - opened).total_seconds()) - 1800
    return [
        Approval(
            world.snow_users[key],
            "approved",
            opened + timedelta(seconds=world.rng.randint(600, max(span, 900))),
        )
        for key in chosen
    ]


def close_time(
    world: World, kind: str, scenario: str, end: datetime
) -> datetime | None:
    """Return when the change was closed, by scenario."""
    if scenario == "emergency-open":
        return None
    if scenario == "emergency-late":
        return end + timedelta(days=EMERGENCY_REVIEW_DAYS + 4, hours=2)
    if kind == "emergency":
        return end + timedelta(hours=world.rng.randint(10, 40))
    return at(end.date() + timedelta(days=world.rng.randint(1, 2)), 9, 0) + timedelta(
        seconds=world.rng.randint(0, 7200)
    )


def make_change(
    world: World, release: Release, window: Window, scenario: str, link: str
) -> Change:
    """Raise the change a production deployment runs under, as the scenario needs."""
    kind = change_kind(release.project, scenario)
    opened = window.start - (
        timedelta(minutes=95) if kind == "emergency" else timedelta(days=2, hours=6)
    )
    opened = jitter(world, opened, 0, 1800).replace(microsecond=0)
    requester = requester_for(world, release.project)
    if scenario == "requester-deploys":
        requester = world.snow_users[6]
    change = Change(
        kind,
        3,
        "approved",
        window.start,
        window.end,
        opened,
        None,
        requester,
        release,
        link in {"approval", "form", "description"},
    )
    change.approvals = initial_approvals(world, change, window)
    settle_change(world, change, scenario, window)
    world.changes.append(change)
    return change


def initial_approvals(world: World, change: Change, window: Window) -> list[Approval]:
    """Return the approver records of a compliant change of its type."""
    if change.kind == "standard":
        return []  # pre-authorised from a template
    if change.kind == "emergency":
        return [
            Approval(
                world.snow_users["marcus"],
                "approved",
                window.start - timedelta(minutes=world.rng.randint(10, 25)),
            )
        ]
    return cab_approvals(world, change.opened, window.start)


def settle_change(world: World, change: Change, scenario: str, window: Window) -> None:
    """Set the state, approval and closure a scenario calls for."""
    close_from = window.end or window.start + timedelta(hours=3)
    change.closed = close_time(world, change.kind, scenario, close_from)
    if scenario == "emergency-open":
        change.state = 0
    elif change.closed is not None and change.closed >= COLLECTED_AT:
        change.state, change.closed = 0, None
    elif window.start.date() >= date(2026, 9, 25) and change.kind != "emergency":
        change.state, change.closed = -1 if window.start.day % 2 else 0, None
    adjust_for_scenario(world, change, scenario)


def adjust_for_scenario(world: World, change: Change, scenario: str) -> None:
    """Break the change in the one way the scenario describes."""
    user = world.snow_users
    if scenario == "approval-requested":
        change.state, change.approval, change.closed = -3, "requested", None
        change.approvals = [
            Approval(user[key], "requested", change.opened + timedelta(minutes=7))
            for key in ("chloe", "yvonne")
        ]
    elif scenario == "state-new":
        change.state, change.approval, change.closed, change.approvals = (
            -5,
            "not requested",
            None,
            [],
        )
    elif scenario == "failed-rejected":
        change.state, change.approval = 4, "rejected"
        change.approvals = [
            Approval(user["marcus"], "rejected", change.opened + timedelta(hours=3))
        ]
    elif scenario == "approver-deploys":
        change.approvals = [
            Approval(user[5], "approved", change.opened + timedelta(hours=2)),
            Approval(user["marcus"], "approved", change.opened + timedelta(hours=4)),
        ]
    elif scenario == "cancelled-approver":
        change.approvals = [
            Approval(user[5], "cancelled", change.opened + timedelta(hours=5)),
            Approval(user["chloe"], "approved", change.opened + timedelta(hours=5)),
        ]


def production_run(
    world: World, release: Release, window: Window, deployer: int, scenario: str
) -> list[Deployment]:
    """Run the production deployment(s) of a slot inside (or not) its window."""
    if scenario == "late-finish":
        return [
            deploy(
                world,
                release,
                3,
                deployer,
                jitter(world, window.queued, 0, 60),
                run_seconds=(1900, 2000),
            )
        ]
    first = deploy(world, release, 3, deployer, jitter(world, window.queued, 0, 600))
    if scenario == "failed-rejected":
        first.state = "Failed"
        first.error = (
            "The ServiceNow change request is not approved, so the task stopped"
        )
        first.completed = first.start + timedelta(seconds=41) if first.start else None
    if scenario not in {"failed-then-redeploy", "canceled-then-redeploy"}:
        return [first]
    first.state = "Failed" if scenario.startswith("failed") else "Canceled"
    first.error = (
        "Step 'Verify payment health' failed: p99 latency above 800 ms"
        if first.state == "Failed"
        else "The task was canceled."
    )
    retry = jitter(world, first.completed or first.created, 900, 1200)
    return [first, deploy(world, release, 3, deployer, retry)]


def production_slot(world: World, index: int, day: date, project: int) -> None:
    """Build one production release, its change and its deployments."""
    scenario = SCENARIOS.get(index, "normal")
    project = SCENARIO_PROJECT.get(scenario, project)
    window = slot_window(day, scenario)
    deployer = SCENARIO_DEPLOYER.get(scenario, PROD_DEPLOYERS[index % 4])
    if scenario.startswith("emergency"):
        release = hotfix_release(world, project, window.start)
    else:
        release = ordinary_release(world, project, day)
    link = SCENARIO_LINK.get(scenario, LINK_CYCLE[index % len(LINK_CYCLE)])
    change = None
    if link != "none" and scenario != "unknown-number":
        change = make_change(world, release, window, scenario, link)
    for deployment in production_run(world, release, window, deployer, scenario):
        deployment.scenario, deployment.link, deployment.change = scenario, link, change


def plan_quarter(world: World) -> None:
    """Build the 66 production slots of the quarter and the releases behind them."""
    days = business_days(date(2026, 7, 1), date(2026, 9, 30))
    if len(days) != 66:
        raise RuntimeError(f"expected 66 business days in Q3 2026, got {len(days)}")
    for index, day in enumerate(days):
        production_slot(world, index, day, world.rng.choice(DEPLOYABLE))


def plan_june(world: World) -> None:
    """Add June production deployments, before the period."""
    june = (
        date(2026, 6, 16),
        date(2026, 6, 18),
        date(2026, 6, 22),
        date(2026, 6, 24),
        date(2026, 6, 26),
    )
    for offset, day in enumerate(june):
        production_slot(world, 100 + offset, day, DEPLOYABLE[offset])
    # The 26 June change becomes an emergency closed late: out of scope, no finding.
    june_emergency = world.changes[-1]
    june_emergency.kind = "emergency"
    june_emergency.closed = (
        june_emergency.end or june_emergency.start or june_emergency.opened
    ) + timedelta(days=12)


def plan_october(world: World) -> None:
    """Add October production deployments and two traps at the period's end."""
    for offset, day in enumerate(
        (date(2026, 10, 1), date(2026, 10, 2), date(2026, 10, 5))
    ):
        production_slot(world, 200 + offset, day, DEPLOYABLE[offset + 4])
    boundary_deployment(world)
    scheduled_deployment(world)


def boundary_deployment(world: World) -> None:
    """An admin's deployment with no change, started 1 October 00:10 London time."""
    release = ordinary_release(world, 4, date(2026, 10, 1))
    queued = at(date(2026, 9, 30), 23, 8, 12, 402211)
    deployment = Deployment(
        release,
        3,
        3,
        queued,
        queued + timedelta(seconds=108),
        queued + timedelta(seconds=611),
        scenario="after-period",
    )
    world.deployments.append(deployment)


def scheduled_deployment(world: World) -> None:
    """A production deployment queued in the period for 10 October, never started."""
    release = ordinary_release(world, 7, date(2026, 9, 30))
    created = at(date(2026, 9, 30), 16, 2, 44, 118734)
    deployment = Deployment(
        release,
        3,
        7,
        created,
        None,
        None,
        state="Queued",
        scheduled_for=at(date(2026, 10, 10), 8, 0),
        scenario="never-started",
    )
    world.deployments.append(deployment)


def plan_lower_only(world: World) -> None:
    """Add releases that never reached Production, one stuck in the queue."""
    days = business_days(date(2026, 7, 1), date(2026, 9, 29))
    for number, day in enumerate(sorted(world.rng.sample(days, 10))):
        project = world.rng.choice(DEPLOYABLE)
        created = jitter(world, at(day, 9, 30), 0, 9000)
        release = new_release(world, project, created, hotfix=False)
        deploy(world, release, 1, SERVICE_ACCOUNT, jitter(world, created, 60, 300))
        if number < 4:
            deploy(
                world,
                release,
                2,
                world.rng.choice(STAGING_DEPLOYERS),
                jitter(world, created, 4 * 3600, 6 * 3600),
            )
    stuck_release = world.releases[-1]
    queued = at(date(2026, 9, 29), 15, 21, 9, 552031)
    world.deployments.append(
        Deployment(
            stuck_release,
            2,
            12,
            queued,
            None,
            None,
            state="Queued",
            scenario="never-started",
        )
    )


# --- comments, notes and cross references ------------------------------------------


def link_texts(world: World) -> None:
    """Write the comments and release notes that carry change numbers."""
    previous: dict[int, Change] = {}
    for deployment in sorted(world.deployments, key=lambda item: item.created):
        change = deployment.change
        if deployment.is_production and change is not None:
            place_number(world, deployment, change, previous.get(change.project))
            previous[change.project] = change
        elif deployment.comment_text is None and deployment.is_production:
            deployment.comment_text = world.rng.choice(COMMENT_PHRASES)


def place_number(
    world: World, deployment: Deployment, change: Change, earlier: Change | None
) -> None:
    """Put the change number where the deployment's link rule will find it."""
    release = deployment.release
    if deployment.link == "comments":
        deployment.comment_change = change
    elif deployment.link == "notes":
        release.mentions = change
    else:
        deployment.comment_text = world.rng.choice(COMMENT_PHRASES)
    if deployment.scenario in {"comments-over-notes", "approval-over-notes"}:
        release.mentions = earlier  # an older change: a wrong link if read first


# --- runbooks ------------------------------------------------------------------------

RUNBOOKS = (
    ("Nightly database backup", 9, "Backs up the payments and ledger databases."),
    ("Weekly ledger snapshot", 2, "Takes a signed snapshot of the ledger for audit."),
    ("Restart card-gateway pods", 3, "Rolling restart of the card-gateway workers."),
    ("Refresh staging data", 9, "Reloads masked production data into Staging."),
)


@dataclass
class RunbookRun:
    """One run of a runbook and its task."""

    runbook: int
    environment: int
    created: datetime
    start: datetime
    completed: datetime
    state: str
    deployer: int | None  # None for the scheduled-trigger system user
    error: str = ""
    id: str = ""
    task_id: str = ""


def add_run(
    world: World,
    runbook: int,
    environment: int,
    moment: datetime,
    *,
    deployer: int | None = None,
) -> RunbookRun:
    """Record one runbook run."""
    created = jitter(world, moment, 0, 30)
    start = jitter(world, created, 5, 40)
    completed = jitter(world, start, 300, 1500)
    run = RunbookRun(
        runbook, environment, created, start, completed, "Success", deployer
    )
    world.runs.append(run)
    return run


def plan_runbooks(world: World) -> None:
    """Schedule the backup, snapshot and operational runbook runs."""
    day = date(2026, 6, 1)
    while day <= date(2026, 10, 5):
        night = add_run(world, 1, 3, at(day, 0, 30))
        if world.rng.random() < 0.05:
            night.state, night.error = "Failed", "pg_dump exited with code 1"
        if day.weekday() == 6:
            weekly_snapshot(world, day)
        if day.weekday() == 5:
            add_run(world, 4, 2, at(day, 6, 0))
        day += timedelta(days=1)
    for moment in (
        at(date(2026, 7, 14), 13, 12),
        at(date(2026, 8, 20), 9, 41),
        at(date(2026, 9, 8), 16, 3),
    ):
        add_run(world, 3, 3, moment, deployer=3)


def weekly_snapshot(world: World, day: date) -> None:
    """Run the weekly ledger snapshot; every August run fails (the built-in gap)."""
    run = add_run(world, 2, 3, at(day, 1, 0))
    if day.month == 8:
        run.state = "Failed"
        run.error = "Upload to ledger-archive.example.invalid was refused (HTTP 403)"


# --- numbering ------------------------------------------------------------------------


def assign_ids(world: World) -> None:
    """Number records in creation order, as Octopus and ServiceNow would."""
    for number, release in enumerate(sorted(world.releases, key=lambda r: r.created)):
        release.id = f"Releases-{801 + number}"
        release.version = next_version(world, release.project, patch=release.hotfix)
    for number, deployment in enumerate(
        sorted(world.deployments, key=lambda d: d.created)
    ):
        deployment.id = f"Deployments-{2101 + number}"
    for number, run in enumerate(sorted(world.runs, key=lambda r: r.created)):
        run.id = f"RunbookRuns-{501 + number}"
    executions: list[Deployment | RunbookRun] = [*world.deployments, *world.runs]
    for number, item in enumerate(sorted(executions, key=lambda e: e.created)):
        item.task_id = f"ServerTasks-{30001 + number}"
    for number, change in enumerate(sorted(world.changes, key=lambda c: c.opened)):
        change.sys_id, change.number = world.hex_id(), f"CHG{31001 + number:07d}"
        for approval in change.approvals:
            approval.sys_id = world.hex_id()


# --- timestamps -----------------------------------------------------------------------


def octopus_time(moment: datetime | None, key: int) -> str | None:
    """Render an Octopus timestamp: 7 fraction digits, sometimes in BST (+01:00)."""
    if moment is None:
        return None
    local = moment
    if key % 6 == 0 and moment.astimezone(LONDON).utcoffset() == timedelta(hours=1):
        local = moment.astimezone(LONDON)
    stamp = local.strftime("%Y-%m-%dT%H:%M:%S")
    offset = "+01:00" if local is not moment else "+00:00"
    return f"{stamp}.{moment.microsecond:06d}{key % 10}{offset}"


def number_of(identifier: str) -> int:
    """Return the number at the end of an id such as Deployments-12."""
    return int(identifier.rsplit("-", 1)[1])


def snow_value(moment: datetime | None) -> str:
    """Render a ServiceNow stored value (UTC, no offset) or ``""``."""
    return moment.strftime("%Y-%m-%d %H:%M:%S") if moment else ""


def snow_display(moment: datetime | None) -> str:
    """Render a ServiceNow display value for the CET exporting user (dd/MM/yyyy)."""
    return (
        moment.astimezone(VIEWER_ZONE).strftime("%d/%m/%Y %H:%M:%S") if moment else ""
    )


# --- audit events --------------------------------------------------------------------


@dataclass
class Event:
    """An audit event before it has an id."""

    occurred: datetime
    category: str
    actor: int | None  # None is the system user
    message: str
    related: list[str]
    id: str = ""


def deployment_events(world: World) -> Iterator[Event]:
    """Yield the queued, started and finished events of every deployment."""
    for deployment in world.deployments:
        release = deployment.release
        project = PROJECTS[release.project - 1][0]
        environment = ENVIRONMENTS[deployment.environment - 1]
        related = [
            deployment.id,
            f"Projects-{release.project}",
            release.id,
            f"Environments-{deployment.environment}",
            deployment.task_id,
            f"Channels-{release.project}",
        ]
        what = f"Deploy to {environment} for {project} release {release.version}"
        yield Event(
            deployment.created,
            "DeploymentQueued",
            deployment.deployer,
            f"{what} was queued",
            related,
        )
        if deployment.start is not None:
            yield Event(
                deployment.start,
                "DeploymentStarted",
                deployment.deployer,
                f"{what} started",
                related,
            )
        if deployment.completed is not None:
            category, verb = {
                "Success": ("DeploymentSucceeded", "succeeded"),
                "Failed": ("DeploymentFailed", "failed"),
                "Canceled": ("TaskCanceled", "was canceled"),
            }[deployment.state]
            yield Event(
                deployment.completed,
                category,
                deployment.deployer,
                f"{what} {verb}",
                related,
            )


def release_events(world: World) -> Iterator[Event]:
    """Yield the Created event of every release (CI creates them)."""
    for release in world.releases:
        project = PROJECTS[release.project - 1][0]
        yield Event(
            release.created,
            "Created",
            SERVICE_ACCOUNT,
            f"Release {release.version} of {project} was created",
            [release.id, f"Projects-{release.project}", f"Channels-{release.project}"],
        )


ACTIVITY_TARGETS = {
    "admins": ("Teams", "Users", "Environments"),
    "platform-oncall": ("Machines", "Environments", "Runbooks"),
    "space-managers": ("Projects", "Lifecycles", "Teams"),
    "prod-deployers": ("Projects", "Channels"),
    "developers": ("DeploymentProcesses", "Variables", "Projects"),
    "change-approvers": ("Interruptions",),
    "auditors": ("Subscriptions",),
    "platform-leads": ("Teams",),
}


def person_activity(world: World, person: Person) -> Iterator[Event]:
    """Yield a person's own edits: one to three a week in each active stretch."""
    kinds = ACTIVITY_TARGETS[person.teams[0]] if person.teams else ("Projects",)
    for first, last in person.activity:
        days = business_days(date.fromisoformat(first), date.fromisoformat(last))
        chosen = [day for day in days if world.rng.random() < 0.45]
        if days[-1] not in chosen:
            chosen.append(days[-1])  # the stretch's last day always has an event
        for day in chosen:
            kind = world.rng.choice(kinds)
            document = f"{kind}-{world.rng.randint(1, 40)}"
            category = "Modified" if world.rng.random() < 0.8 else "Created"
            moment = jitter(world, at(day, 8, 0), 0, 8 * 3600)
            yield Event(
                moment,
                category,
                person.number,
                f"{kind[:-1]} {document} was {category.lower()}",
                [document],
            )


def machine_events(world: World) -> Iterator[Event]:
    """Yield the system's daily target health checks."""
    day = HISTORY_START
    while day <= COLLECTED_AT.date():
        for _ in range(world.rng.randint(1, 3)):
            machine = world.rng.randint(1, 12)
            environment = 1 + machine % 3
            yield Event(
                jitter(world, at(day, 0, 0), 0, 86399),
                "MachineHealthy",
                None,
                f"Machines-{machine} is healthy",
                [f"Machines-{machine}", f"Environments-{environment}"],
            )
        day += timedelta(days=1)


def build_events(world: World) -> list[Event]:
    """Collect every event, drop those after collection, and number them by time."""
    events = [
        *deployment_events(world),
        *release_events(world),
        *machine_events(world),
        *account_events(),
    ]
    for person in PEOPLE:
        events.extend(person_activity(world, person))
    events = [event for event in events if event.occurred <= COLLECTED_AT]
    events.sort(key=lambda event: (event.occurred, event.category, event.message))
    for number, event in enumerate(events):
        event.id = f"Events-{150001 + number}"
    return events


# --- rendering: Octopus ------------------------------------------------------------


def envelope(item_type: str, items: list[JsonObject], route: str) -> JsonObject:
    """Wrap items in a single-page Octopus collection envelope."""
    take = 1000
    query = f"/api/{SPACE}/{route}"
    return {
        "ItemType": item_type,
        "TotalResults": len(items),
        "ItemsPerPage": take,
        "NumberOfPages": 1,
        "LastPageNumber": 0,
        "Items": items,
        "Links": {
            "Self": f"{query}?skip=0&take={take}",
            "Template": f"{query}{{?skip,take,ids,partialName}}",
            "Page.All": f"{query}?skip=0&take=2147483647",
            "Page.Current": f"{query}?skip=0&take={take}",
            "Page.Last": f"{query}?skip=0&take={take}",
        },
    }


def links(route: str, identifier: str) -> JsonObject:
    """Return a record's hypermedia links."""
    return {"Self": f"/api/{SPACE}/{route}/{identifier}"}


def render_user(person: Person) -> JsonObject:
    """Render an Octopus user."""
    identities = (
        []
        if person.service
        else [
            {
                "IdentityProviderName": "Azure AD",
                "Claims": {
                    "email": {"Value": person.email, "IsIdentifyingClaim": True},
                    "dn": {"Value": person.display_name, "IsIdentifyingClaim": False},
                },
            }
        ]
    )
    return {
        "Id": person.user_id,
        "Username": person.username,
        "DisplayName": person.display_name,
        "IsActive": person.active,
        "IsService": person.service,
        "EmailAddress": person.email,
        "CanPasswordBeEdited": False,
        "IsRequestor": False,
        "Identities": identities,
        "Links": {"Self": f"/api/users/{person.user_id}"},
    }


def render_teams() -> list[JsonObject]:
    """Render the teams with their members."""
    teams = []
    for key, team_id, name, system in TEAMS:
        members = [p.user_id for p in PEOPLE if key in p.teams]
        teams.append(
            {
                "Id": team_id,
                "Name": name,
                "MemberUserIds": members,
                "ExternalSecurityGroups": [],
                "CanBeDeleted": not team_id.startswith("teams-"),
                "CanBeRenamed": not team_id.startswith("teams-"),
                "CanChangeRoles": key != "everyone",
                "CanChangeMembers": key != "everyone",
                "SpaceId": None if system else SPACE,
                "Description": f"{name} team of Harbourline Payments",
                "Links": {"Self": f"/api/teams/{team_id}"},
            }
        )
    return teams


def render_scoped_roles() -> list[JsonObject]:
    """Render the scoped user roles that give teams their permissions."""
    return [
        {
            "Id": f"ScopedUserRoles-{number}",
            "TeamId": TEAM_IDS[team],
            "UserRoleId": role,
            "SpaceId": space,
            "EnvironmentIds": list(environments),
            "ProjectIds": [],
            "ProjectGroupIds": [],
            "TenantIds": [],
            "Links": {"Self": f"/api/scopeduserroles/ScopedUserRoles-{number}"},
        }
        for number, (team, role, space, environments) in enumerate(SCOPED_ROLES, 1)
    ]


def render_user_roles() -> list[JsonObject]:
    """Render the user roles and their permissions."""
    return [
        {
            "Id": role_id,
            "Name": name,
            "Description": text,
            "SupportedRestrictions": [],
            "SpacePermissionDescriptions": [],
            "SystemPermissionDescriptions": [],
            "GrantedSpacePermissions": list(space),
            "GrantedSystemPermissions": list(system),
            "CanBeDeleted": False,
            "Links": {"Self": f"/api/userroles/{role_id}"},
        }
        for role_id, name, text, system, space in USER_ROLES
    ]


# (user, purpose, created, lifetime in days or None for never)
API_KEYS: tuple[tuple[int, str, datetime, int | None], ...] = (
    (
        9,
        "Build server: create releases and deploy to Development",
        datetime(2025, 11, 3, 9, 14, 2, tzinfo=UTC),
        None,
    ),
    (12, "Local release scripts", datetime(2026, 2, 10, 16, 40, 55, tzinfo=UTC), None),
    (7, "Release tooling", datetime(2026, 1, 15, 10, 0, 0, tzinfo=UTC), 400),
    (20, "Terraform provider", datetime(2025, 5, 2, 11, 3, 9, tzinfo=UTC), None),
    (1, "Server configuration backups", datetime(2026, 8, 3, 8, 30, tzinfo=UTC), 90),
    (3, "On-call automation", datetime(2026, 6, 12, 7, 55, 31, tzinfo=UTC), 180),
    (8, "Deployment dashboard", datetime(2026, 5, 1, 9, 0, 0, tzinfo=UTC), 365),
    (11, "Pairing session", datetime(2026, 7, 20, 14, 2, 17, tzinfo=UTC), 30),
    (9, "Build server (rotated key)", datetime(2026, 9, 1, 6, 0, 0, tzinfo=UTC), 181),
    (13, "Local release scripts", datetime(2026, 4, 22, 12, 12, 12, tzinfo=UTC), 200),
)


def render_api_keys() -> list[JsonObject]:
    """Render API keys with masked secrets, as the per-user endpoints list them."""
    rendered = []
    for number, (user, purpose, created, days) in enumerate(API_KEYS, 1):
        expires = created + timedelta(days=days) if days is not None else None
        rendered.append(
            {
                "Id": f"APIKeys-{number}",
                "Purpose": purpose,
                "UserId": f"Users-{user}",
                "ApiKey": {
                    "HasValue": True,
                    "Hint": f"API-{chr(64 + number)}Q",
                    "NewValue": None,
                },
                "Created": octopus_time(created, number),
                "Expires": octopus_time(expires, number),
                "Links": {"Self": f"/api/users/Users-{user}/apikeys/APIKeys-{number}"},
            }
        )
    return rendered


def render_release(release: Release) -> JsonObject:
    """Render a release with its notes."""
    lines = [f"- {line}" for line in release.notes_lines]
    if release.mentions is not None:
        lines.append(f"- Change: {release.mentions.number}")
    key = number_of(release.id)
    return {
        "Id": release.id,
        "Version": release.version,
        "ProjectId": f"Projects-{release.project}",
        "ChannelId": f"Channels-{release.project}",
        "ReleaseNotes": "\n".join(lines),
        "Assembled": octopus_time(release.created, key),
        "IgnoreChannelRules": False,
        "SelectedPackages": [],
        "SpaceId": SPACE,
        "Links": links("releases", release.id),
    }


def comment_for(deployment: Deployment) -> str | None:
    """Return the deployment's comment, naming its change when that is the link."""
    if deployment.comment_change is not None:
        return f"Deploying under {deployment.comment_change.number}"
    return deployment.comment_text


def form_values(deployment: Deployment) -> JsonObject:
    """Return the prompted values, naming the change when that is the link."""
    if deployment.scenario == "unknown-number":
        return {FORM_KEY: UNKNOWN_NUMBER}
    if deployment.link == "form" and deployment.change is not None:
        return {FORM_KEY: deployment.change.number}
    return {}


def render_deployment(deployment: Deployment) -> JsonObject:
    """Render a deployment."""
    key = number_of(deployment.id)
    deployer = BY_NUMBER[deployment.deployer]
    environment = ENVIRONMENTS[deployment.environment - 1]
    project_id = f"Projects-{deployment.release.project}"
    return {
        "Id": deployment.id,
        "Name": f"Deploy to {environment}",
        "ProjectId": project_id,
        "ReleaseId": deployment.release.id,
        "EnvironmentId": f"Environments-{deployment.environment}",
        "ChannelId": f"Channels-{deployment.release.project}",
        "TenantId": None,
        "TaskId": deployment.task_id,
        "DeploymentProcessId": f"deploymentprocess-{project_id}",
        "DeployedBy": deployer.username,
        "DeployedById": deployer.user_id,
        "Created": octopus_time(deployment.created, key),
        "QueueTime": octopus_time(deployment.scheduled_for, key),
        "QueueTimeExpiry": None,
        "Comments": comment_for(deployment),
        "FormValues": form_values(deployment),
        "FailureEncountered": deployment.state == "Failed",
        "SkipActions": [],
        "SpecificMachineIds": [],
        "ExcludedMachineIds": [],
        "DeployedToMachineIds": deployed_machines(deployment),
        "ForcePackageDownload": False,
        "UseGuidedFailure": False,
        "SpaceId": SPACE,
        "Links": links("deployments", deployment.id),
    }


def render_task(
    item: Deployment | RunbookRun, name: str, description: str
) -> JsonObject:
    """Render the server task of a deployment or a runbook run."""
    key = number_of(item.task_id)
    done = item.completed is not None
    queued = getattr(item, "scheduled_for", None) or item.created
    duration = 0
    if item.completed is not None and item.start is not None:
        duration = int((item.completed - item.start).total_seconds()) // 60
    return {
        "Id": item.task_id,
        "SpaceId": SPACE,
        "Name": name,
        "Description": description,
        "Arguments": {
            ("DeploymentId" if name == "Deploy" else "RunbookRunId"): item.id
        },
        "State": item.state,
        "Completed": f"{duration} minutes" if done else "",
        "QueueTime": octopus_time(queued, key),
        "QueueTimeExpiry": None,
        "StartTime": octopus_time(item.start, key),
        "LastUpdatedTime": octopus_time(item.completed or item.created, key),
        "CompletedTime": octopus_time(item.completed, key),
        "ServerNode": "octopus-node-1" if key % 2 else "octopus-node-2",
        "Duration": f"{duration} minutes",
        "ErrorMessage": item.error,
        "HasBeenPickedUpByProcessor": item.start is not None,
        "IsCompleted": done,
        "FinishedSuccessfully": item.state == "Success",
        "HasPendingInterruptions": False,
        "CanRerun": done,
        "HasWarningsOrErrors": item.state != "Success" and done,
        "Links": {"Self": f"/api/tasks/{item.task_id}"},
    }


def deployment_task(deployment: Deployment) -> JsonObject:
    """Render the task of a deployment."""
    release = deployment.release
    project = PROJECTS[release.project - 1][0]
    environment = ENVIRONMENTS[deployment.environment - 1]
    return render_task(
        deployment,
        "Deploy",
        f"Deploy {project} release {release.version} to {environment}",
    )


def runbook_task(run: RunbookRun) -> JsonObject:
    """Render the task of a runbook run."""
    name = RUNBOOKS[run.runbook - 1][0]
    return render_task(
        run, "RunbookRun", f"Run {name} in {ENVIRONMENTS[run.environment - 1]}"
    )


def render_run(run: RunbookRun) -> JsonObject:
    """Render a runbook run."""
    name, project, _ = RUNBOOKS[run.runbook - 1]
    deployer = BY_NUMBER.get(run.deployer) if run.deployer else None
    return {
        "Id": run.id,
        "Name": name,
        "RunbookId": f"Runbooks-{run.runbook}",
        "RunbookSnapshotId": f"RunbookSnapshots-{run.runbook * 10 + 1}",
        "FrozenRunbookProcessId": f"RunbookProcess-Runbooks-{run.runbook}-s1",
        "ProjectId": f"Projects-{project}",
        "EnvironmentId": f"Environments-{run.environment}",
        "TenantId": None,
        "TaskId": run.task_id,
        "Created": octopus_time(run.created, number_of(run.id)),
        "DeployedBy": deployer.username if deployer else "system",
        "DeployedById": deployer.user_id if deployer else "users-system",
        "Comments": None,
        "FailureEncountered": run.state == "Failed",
        "SpaceId": SPACE,
        "Links": links("runbookRuns", run.id),
    }


def render_runbooks() -> list[JsonObject]:
    """Render the runbooks."""
    return [
        {
            "Id": f"Runbooks-{number}",
            "Name": name,
            "Description": text,
            "ProjectId": f"Projects-{project}",
            "RunbookProcessId": f"RunbookProcess-Runbooks-{number}",
            "PublishedRunbookSnapshotId": f"RunbookSnapshots-{number * 10 + 1}",
            "EnvironmentScope": "Specified",
            "Environments": ["Environments-2" if number == 4 else "Environments-3"],
            "MultiTenancyMode": "Untenanted",
            "DefaultGuidedFailureMode": "Off",
            "SpaceId": SPACE,
            "Links": links("runbooks", f"Runbooks-{number}"),
        }
        for number, (name, project, text) in enumerate(RUNBOOKS, 1)
    ]


def render_projects() -> list[JsonObject]:
    """Render the projects."""
    return [
        {
            "Id": f"Projects-{number}",
            "Name": name,
            "Slug": name,
            "Description": text,
            "ProjectGroupId": "ProjectGroups-1",
            "LifecycleId": "Lifecycles-1",
            "IsDisabled": False,
            "SpaceId": SPACE,
            "Links": links("projects", f"Projects-{number}"),
        }
        for number, name, text in [
            *((n, name, text) for n, (name, text, _, _) in enumerate(PROJECTS, 1)),
            SANDBOX,
        ]
    ]


def render_environments() -> list[JsonObject]:
    """Render the three environments."""
    return [
        {
            "Id": f"Environments-{number}",
            "Name": name,
            "Description": "",
            "SortOrder": number,
            "UseGuidedFailure": name == "Production",
            "AllowDynamicInfrastructure": name != "Production",
            "SpaceId": SPACE,
            "ExtensionSettings": [],
            "Links": links("environments", f"Environments-{number}"),
        }
        for number, name in enumerate(ENVIRONMENTS, 1)
    ]


def render_approvals(world: World) -> list[JsonObject]:
    """Render the server task approvals of deployments linked that way."""
    rendered = []
    linked = [d for d in world.deployments if d.link == "approval" and d.change]
    for number, deployment in enumerate(sorted(linked, key=lambda d: d.created), 1):
        change = deployment.change
        if change is None:
            continue
        rendered.append(
            {
                "Id": f"ServerTaskApprovals-{number}",
                "ServerTaskId": deployment.task_id,
                "SpaceId": SPACE,
                "ApprovalProviderId": "servicenow",
                "Name": deployment_task(deployment)["Description"],
                "ChangeRequest": {
                    "Id": change.sys_id,
                    "Number": change.number,
                    "Description": short_description(change),
                    "Active": change.state != 3,
                    "Type": change.kind,
                    "ChangeRequestApprovalState": (
                        "Approved" if change.approval == "approved" else "PreApproval"
                    ),
                    "Self": f"{SNOW_URL}/change_request.do?sys_id={change.sys_id}",
                },
                "Links": links("servertaskapprovals", f"ServerTaskApprovals-{number}"),
            }
        )
    return rendered


def event_json(event: Event) -> JsonObject:
    """Render an audit event."""
    person = BY_NUMBER.get(event.actor) if event.actor else None
    key = number_of(event.id)
    first = event.related[0]
    return {
        "Id": event.id,
        "Category": event.category,
        "UserId": person.user_id if person else "users-system",
        "Username": person.username if person else "system",
        "IsService": bool(person and person.service),
        "IdentityEstablishedWith": identity_of(person),
        "UserAgent": agent_of(person),
        "IpAddress": f"198.51.100.{10 + person.number}" if person else None,
        "Occurred": octopus_time(event.occurred, key),
        "Message": event.message,
        "MessageHtml": event.message.replace(first, f"<a href='#/{first}'>{first}</a>"),
        "MessageReferences": [],
        "RelatedDocumentIds": event.related,
        "ChangeDetails": {"Differences": None, "DocumentContext": None},
        "Comments": None,
        "Details": None,
        "SpaceId": SPACE,
        "Links": {"Self": f"/api/events/{event.id}"},
    }


def identity_of(person: Person | None) -> str:
    """Return how the actor authenticated."""
    if person is None:
        return ""
    return "API key" if person.service else "Session cookie"


def agent_of(person: Person | None) -> str:
    """Return the actor's user agent."""
    if person is None:
        return "Server"
    if person.service:
        return "OctopusClient-dotnet/14.3.1"
    return "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Edge/128.0"


def event_pages(events: list[Event]) -> list[JsonObject]:
    """Split the recent events into API pages with the quirks seen in practice.

    Page 2 repeats the last four items of page 1 (events shifted while paging),
    page 3 sends fewer items than its ItemsPerPage, and page 4 has no
    ``Page.Next`` link although more pages follow.
    """
    recent = [e for e in reversed(events) if e.occurred >= PAGE_CUTOFF]
    total, shift = len(recent), 4
    slices: list[tuple[list[Event], int]] = []
    skip = start = 0
    while start < total:
        size = 230 if len(slices) == 2 else EVENT_PAGE_SIZE
        items = recent[start : start + size]
        slices.append((items, skip))
        skip += len(items)
        start = skip - shift
    return [
        event_page(items, skip, total, number, len(slices))
        for number, (items, skip) in enumerate(slices)
    ]


def event_page(
    events: list[Event], skip: int, total: int, number: int, count: int
) -> JsonObject:
    """Render one page of the events API."""
    base = f"/api/events?spaces={SPACE}&includeSystem=true&to=2026-10-06T06%3A15%3A00Z"
    take = EVENT_PAGE_SIZE
    page_links = {
        "Self": f"{base}&skip={skip}&take={take}",
        "Page.All": f"{base}&skip=0&take=2147483647",
        "Page.Current": f"{base}&skip={skip}&take={take}",
        "Page.Last": f"{base}&skip={(total // take) * take}&take={take}",
    }
    if number not in {3, count - 1}:
        page_links["Page.Next"] = f"{base}&skip={skip + len(events)}&take={take}"
    return {
        "ItemType": "Event",
        "TotalResults": total,
        "ItemsPerPage": take,
        "NumberOfPages": -(-total // take),
        "LastPageNumber": -(-total // take) - 1,
        "Items": [event_json(event) for event in events],
        "Links": page_links,
    }


# --- rendering: Octopus infrastructure and configuration (the lint evidence) ------
#
# Twelve deployment targets (the Machines-N of the health-check events), two
# workers, feeds, accounts, subscriptions, Git credentials, deployment processes
# and certificates. Each lint policy gets a few planted violations and a trap;
# the rest complies. Nothing here draws from the random generator, so the other
# files stay as they were.

UNUSED_DAYS = 30  # octopus-unused-targets' default
ROTATION_DAYS = 90  # octopus-unrotated-accounts' default
MAX_STEPS = 20  # octopus-too-many-steps' default
PROJECT_ROLES = {1: ("web",), 5: ("web",), 7: ("web",), 3: ("app", "k8s")}
DEFAULT_ROLES = ("app",)


@dataclass(frozen=True)
class Target:
    """A deployment target (machine) and how it is set up."""

    number: int
    name: str
    role: str
    style: str = "TentaclePassive"
    health: str = "Healthy"
    disabled: bool = False
    algorithm: str | None = "sha256RSA"
    cluster_url: str | None = None
    skip_tls: bool = False

    @property
    def environment(self) -> int:
        """Return the environment number (as the health-check events have it)."""
        return 1 + self.number % 3


TARGETS = (
    Target(1, "stg-web-01", "web"),
    Target(2, "prod-web-01", "web"),
    Target(3, "dev-web-01", "web"),
    Target(4, "stg-app-01", "app", style="TentacleActive"),
    Target(5, "prod-batch-legacy", "legacy-batch"),
    Target(6, "dev-app-01", "app", style="TentacleActive"),
    Target(7, "stg-app-02", "app", health="Unavailable"),
    Target(8, "prod-app-01", "app", algorithm="sha1RSA"),
    Target(9, "dev-app-02", "app", health="Unhealthy", disabled=True),
    Target(10, "stg-web-02", "web", health="HasWarnings"),
    Target(
        11,
        "aks-prod-payments",
        "k8s",
        style="Kubernetes",
        algorithm=None,
        cluster_url="https://aks-prod-payments.harbourline.example.invalid:443",
    ),
    Target(
        12,
        "k3s-dev-lab",
        "k8s",
        style="Kubernetes",
        algorithm=None,
        cluster_url="http://k3s-dev-lab.harbourline.example.invalid:6443",
        skip_tls=True,
    ),
)
TARGET_BY_NUMBER = {target.number: target for target in TARGETS}
HEALTH_STATUS = {
    "Healthy": "Online",
    "HasWarnings": "Online",
    "Unavailable": "Offline",
    "Unhealthy": "Online",
}
# (name, steps); project 9 runs runbooks only, project 10 is an abandoned sandbox.
PROCESS_STEPS = {1: 19, 2: 9, 3: 11, 4: 7, 5: 6, 6: 20, 7: 4, 8: 8, 9: 0, 10: 0}
STEP_NAMES = (
    "Check change approval",
    "Acquire packages",
    "Run database migrations",
    "Deploy application",
    "Smoke test",
    "Swap traffic",
    "Notify merchants",
    "Record release",
)
SANDBOX = (10, "sandbox-demo", "Left over from a 2025 proof of concept.")
# (name, type, last modified, note); Accounts-4 is rotated by an audited edit.
ACCOUNTS = (
    ("aws-harbourline-prod", "AmazonWebServicesAccount", datetime(2026, 8, 20, 9)),
    ("azure-dr-subscription", "AzureServicePrincipal", datetime(2026, 3, 10, 14)),
    ("aws-oidc-ci", "AmazonWebServicesOidcAccount", datetime(2025, 11, 1, 10)),
    ("payments-db-ssh", "SshKeyPair", datetime(2026, 10, 2, 8)),
    ("legacy-ftp", "UsernamePassword", None),
)
ACCOUNT_ROTATION_EVENT = datetime(2026, 9, 5, 10, 30, tzinfo=UTC)


def deployed_machines(deployment: Deployment) -> list[str]:
    """Return the enabled targets of the deployment's environment with its roles."""
    roles = PROJECT_ROLES.get(deployment.release.project, DEFAULT_ROLES)
    if deployment.start is None:
        return []  # never ran, so it reached no target
    return [
        f"Machines-{target.number}"
        for target in TARGETS
        if target.environment == deployment.environment
        and target.role in roles
        and not target.disabled
    ]


def account_events() -> Iterator[Event]:
    """Yield the audited edit that shows Accounts-4 was rotated in the period."""
    yield Event(
        ACCOUNT_ROTATION_EVENT,
        "Modified",
        1,
        "Account Accounts-4 was modified",
        ["Accounts-4"],
    )


def utc(moment: datetime | None) -> datetime | None:
    """Attach UTC to a naive constant."""
    return moment.replace(tzinfo=UTC) if moment else None


def render_endpoint(target: Target) -> JsonObject:
    """Render a target's endpoint: a tentacle, or a Kubernetes cluster."""
    if target.style == "Kubernetes":
        return {
            "CommunicationStyle": "Kubernetes",
            "ClusterUrl": target.cluster_url,
            "SkipTlsVerification": target.skip_tls,
            "Namespace": "payments",
            "DefaultWorkerPoolId": "WorkerPools-1",
            "Authentication": {
                "AuthenticationType": "KubernetesStandard",
                "AccountId": "Accounts-1",
            },
            "ClusterCertificate": None,
            "Id": None,
            "Links": {},
        }
    host = f"{target.name}.harbourline.example.invalid"
    uri = f"https://{host}:10933/" if target.style == "TentaclePassive" else None
    return {
        "CommunicationStyle": target.style,
        "Uri": uri if uri else f"poll://{target.name}/",
        "Thumbprint": thumbprint(target.number),
        "CertificateSignatureAlgorithm": target.algorithm,
        "TentacleVersionDetails": {"Version": "8.1.2", "UpgradeSuggested": False},
        "Id": None,
        "Links": {},
    }


def thumbprint(number: int) -> str:
    """Return a fixed 40-hex thumbprint for a target or worker."""
    return f"{number * 7919:08X}" * 5


def render_target(target: Target) -> JsonObject:
    """Render a deployment target."""
    endpoint = render_endpoint(target)
    return {
        "Id": f"Machines-{target.number}",
        "Name": target.name,
        "Thumbprint": endpoint.get("Thumbprint"),
        "Uri": endpoint.get("Uri"),
        "IsDisabled": target.disabled,
        "MachinePolicyId": "MachinePolicies-1",
        "HealthStatus": target.health,
        "Status": "Disabled" if target.disabled else HEALTH_STATUS[target.health],
        "StatusSummary": f"Last health check: {target.health}.",
        "HasLatestCalamari": True,
        "IsInProcess": False,
        "Endpoint": endpoint,
        "EnvironmentIds": [f"Environments-{target.environment}"],
        "Roles": [target.role],
        "TenantedDeploymentParticipation": "Untenanted",
        "TenantIds": [],
        "TenantTags": [],
        "OperatingSystem": "Linux",
        "ShellName": "Bash",
        "SpaceId": SPACE,
        "Links": links("machines", f"Machines-{target.number}"),
    }


def render_workers() -> list[JsonObject]:
    """Render the two workers of the default pool."""
    workers = []
    for number in (1, 2):
        name = f"hl-worker-0{number}"
        endpoint = render_endpoint(Target(100 + number, name, "worker"))
        workers.append(
            {
                "Id": f"Workers-{number}",
                "Name": name,
                "Thumbprint": endpoint["Thumbprint"],
                "Uri": endpoint["Uri"],
                "IsDisabled": False,
                "MachinePolicyId": "MachinePolicies-1",
                "HealthStatus": "Healthy",
                "Status": "Online",
                "Endpoint": endpoint,
                "WorkerPoolIds": ["WorkerPools-1"],
                "SpaceId": SPACE,
                "Links": links("workers", f"Workers-{number}"),
            }
        )
    return workers


def sensitive(has_value: bool) -> JsonObject:
    """Render a sensitive value the way the API returns it: never the value."""
    return {"HasValue": has_value, "NewValue": None}


def render_feeds() -> list[JsonObject]:
    """Render the package feeds; the legacy Maven feed is plain HTTP."""
    feeds: list[JsonObject] = [
        {"Id": "Feeds-1", "Name": "Octopus Server (built-in)", "FeedType": "BuiltIn"}
    ]
    for number, name, kind, uri, user in (
        (2, "artifactory-nuget", "NuGet", "https://artifactory.{d}/nuget/", "octo"),
        (3, "legacy-maven", "Maven", "http://maven.{d}/releases/", "octo-reader"),
        (4, "ghcr", "Docker", "https://ghcr.{d}", "harbourline-ci"),
    ):
        feeds.append(
            {
                "Id": f"Feeds-{number}",
                "Name": name,
                "FeedType": kind,
                "FeedUri": uri.format(d="harbourline.example.invalid"),
                "Username": user,
                "Password": sensitive(True),
                "DownloadAttempts": 5,
                "DownloadRetryBackoffSeconds": 10,
            }
        )
    for feed in feeds:
        feed.update({"SpaceId": SPACE, "Links": links("feeds", feed["Id"])})
    return feeds


def render_accounts() -> list[JsonObject]:
    """Render the accounts; secrets appear only as HasValue, as the API sends them."""
    secret_field = {
        "AmazonWebServicesAccount": "SecretKey",
        "AzureServicePrincipal": "Password",
        "SshKeyPair": "PrivateKeyFile",
        "UsernamePassword": "Password",
    }
    accounts = []
    for number, (name, kind, modified) in enumerate(ACCOUNTS, 1):
        account: JsonObject = {
            "Id": f"Accounts-{number}",
            "Name": name,
            "AccountType": kind,
            "Description": "",
            "EnvironmentIds": ["Environments-3"],
            "TenantIds": [],
            "TenantedDeploymentParticipation": "Untenanted",
            "SpaceId": SPACE,
            "LastModifiedOn": octopus_time(utc(modified), number),
            "LastModifiedBy": "imogen.farrow" if modified else None,
            "Links": links("accounts", f"Accounts-{number}"),
        }
        if kind in secret_field:
            account[secret_field[kind]] = sensitive(True)
        if kind in {"SshKeyPair", "UsernamePassword"}:
            account["Username"] = "deploy"
        accounts.append(account)
    return accounts


def render_subscriptions() -> list[JsonObject]:
    """Render the event subscriptions; one enabled webhook is plain HTTP."""
    rows = (
        (1, "prod deployments to chat", "https://chat.{d}/hooks/octopus", False),
        (2, "change feed to ITSM bridge", "http://itsm-bridge.{d}/octopus", False),
        (3, "old pager", "http://pager.{d}/hook", True),
    )
    return [
        {
            "Id": f"Subscriptions-{number}",
            "Name": name,
            "Type": "Event",
            "IsDisabled": disabled,
            "EventNotificationSubscription": {
                "Filter": {"EventGroups": ["Deployment"], "Environments": []},
                "EmailTeams": [],
                "WebhookURI": uri.format(d="harbourline.example.invalid"),
                "WebhookTeams": [],
                "WebhookTimeout": "00:00:10",
                "WebhookHeaderKey": "",
                "WebhookHeaderValue": "",
            },
            "SpaceId": SPACE,
            "Links": links("subscriptions", f"Subscriptions-{number}"),
        }
        for number, name, uri, disabled in rows
    ]


def render_git_credentials() -> list[JsonObject]:
    """Render the Git credentials; two share one username in different case."""
    rows = (
        (1, "payments-api-repo", "harbourline-ci"),
        (2, "ledger-service-repo", "Harbourline-CI"),
        (3, "docs-site", "docs-bot"),
        (4, "public-templates", None),
    )
    credentials = []
    for number, name, username in rows:
        details: JsonObject = {"Type": "Anonymous"}
        if username is not None:
            details = {
                "Type": "UsernamePassword",
                "Username": username,
                "Password": sensitive(True),
            }
        credentials.append(
            {
                "Id": f"GitCredentials-{number}",
                "Name": name,
                "Description": "",
                "Details": details,
                "SpaceId": SPACE,
                "Links": links("git-credentials", f"GitCredentials-{number}"),
            }
        )
    return credentials


def render_processes() -> list[JsonObject]:
    """Render one deployment process per project with its planned step count."""
    processes = []
    for project, count in PROCESS_STEPS.items():
        steps = [
            {
                "Id": f"{project:04d}0000-0000-4000-8000-{step:012d}",
                "Name": f"{STEP_NAMES[(step - 1) % len(STEP_NAMES)]} {step}",
                "Condition": "Success",
                "StartTrigger": "StartAfterPrevious",
                "Actions": [],
            }
            for step in range(1, count + 1)
        ]
        process_id = f"deploymentprocess-Projects-{project}"
        processes.append(
            {
                "Id": process_id,
                "ProjectId": f"Projects-{project}",
                "Version": count + 1,
                "Steps": steps,
                "SpaceId": SPACE,
                "Links": links("deploymentprocesses", process_id),
            }
        )
    return processes


def render_certificates() -> list[JsonObject]:
    """Render the certificate library; one live certificate is signed with SHA-1."""
    rows = (
        (1, "payments-tls-2026", "sha256RSA", None, datetime(2027, 3, 31, 23)),
        (
            2,
            "partner-sftp-2019",
            "sha1RSA",
            datetime(2024, 2, 1, 9),
            datetime(2025, 1, 1),
        ),
        (3, "partner-sftp-client", "sha1RSA", None, datetime(2028, 1, 1)),
    )
    return [
        {
            "Id": f"Certificates-{number}",
            "Name": name,
            "SignatureAlgorithmName": algorithm,
            "Archived": octopus_time(utc(archived), number),
            "NotBefore": octopus_time(utc(datetime(2024, 1, 1)), number),
            "NotAfter": octopus_time(utc(not_after), number),
            "IsExpired": not_after < datetime(2026, 10, 6),
            "CertificateData": sensitive(True),
            "Password": sensitive(True),
            "HasPrivateKey": True,
            "Thumbprint": thumbprint(200 + number),
            "SubjectCommonName": f"{name}.harbourline.example.invalid",
            "EnvironmentIds": ["Environments-3"],
            "SpaceId": SPACE,
            "Links": links("certificates", f"Certificates-{number}"),
        }
        for number, name, algorithm, archived, not_after in rows
    ]


def write_octopus_lint(folder: Path) -> None:
    """Write the optional configuration resources the lint policies read."""
    resources = (
        ("machines", "DeploymentTarget", [render_target(t) for t in TARGETS]),
        ("workers", "Worker", render_workers()),
        ("feeds", "Feed", render_feeds()),
        ("accounts", "Account", render_accounts()),
        ("subscriptions", "Subscription", render_subscriptions()),
        ("gitcredentials", "GitCredential", render_git_credentials()),
        ("deploymentprocesses", "DeploymentProcess", render_processes()),
        ("certificates", "Certificate", render_certificates()),
    )
    for name, item_type, items in resources:
        route = "git-credentials" if name == "gitcredentials" else name
        write_json(folder / f"{name}.json", envelope(item_type, items, route))


# --- rendering: ServiceNow ----------------------------------------------------------

STATE_LABELS = {
    -5: "New",
    -4: "Assess",
    -3: "Authorize",
    -2: "Scheduled",
    -1: "Implement",
    0: "Review",
    3: "Closed",
    4: "Canceled",
}
APPROVAL_LABELS = {
    "approved": "Approved",
    "requested": "Requested",
    "rejected": "Rejected",
    "not requested": "Not Yet Requested",
}
GROUP_ID = "9d1e4f0a7b2c43d58e6f70819a2b3c4d"


def short_description(change: Change) -> str:
    """Return the change's short description (Octopus wording if Octopus raised it)."""
    project = PROJECTS[change.project - 1][0]
    if change.octopus_description:
        version = change.release.version
        return f'Octopus: Deploy "{project}" version {version} to "Production"'
    return f"Release {project} {change.release.version} to production"


def shown(value: str, display: str | None = None) -> JsonObject:
    """Render a field as ``sysparm_display_value=all`` returns it."""
    return {"display_value": value if display is None else display, "value": value}


def shown_time(moment: datetime | None) -> JsonObject:
    """Render a date-time field: UTC value, CET display value."""
    return {"display_value": snow_display(moment), "value": snow_value(moment)}


def shown_ref(user: SnowUser | None, table: str = "sys_user") -> JsonObject:
    """Render a reference field with its link."""
    if user is None:
        return {"display_value": "", "value": ""}
    return {
        "display_value": user.name,
        "link": f"{SNOW_URL}/api/now/table/{table}/{user.sys_id}",
        "value": user.sys_id,
    }


def render_change(world: World, change: Change) -> JsonObject:
    """Render a change request with value and display value for every field."""
    implementer = world.snow_users["marcus"] if change.kind == "emergency" else None
    closed_by = world.snow_users["marcus"] if change.closed else None
    closed = change.closed is not None
    return {
        "sys_id": shown(change.sys_id),
        "number": shown(change.number),
        "short_description": shown(short_description(change)),
        "description": shown(
            f"Deploy {change.release.version} of "
            f"{PROJECTS[change.project - 1][0]} to Production."
        ),
        "type": shown(change.kind, change.kind.capitalize()),
        "category": shown("software", "Software"),
        "state": shown(str(change.state), STATE_LABELS[change.state]),
        "approval": shown(change.approval, APPROVAL_LABELS[change.approval]),
        "risk": shown("3", "Moderate")
        if change.kind != "standard"
        else shown("4", "Low"),
        "impact": shown("2", "2 - Medium"),
        "priority": shown("4", "4 - Low"),
        "cab_required": shown(str(change.kind == "normal").lower()),
        "start_date": shown_time(change.start),
        "end_date": shown_time(change.end),
        "opened_at": shown_time(change.opened),
        "closed_at": shown_time(change.closed),
        "sys_created_on": shown_time(change.opened),
        "sys_updated_on": shown_time(change.closed or change.opened),
        "requested_by": shown_ref(change.requester),
        "opened_by": shown_ref(change.requester),
        "assigned_to": shown_ref(implementer),
        "closed_by": shown_ref(closed_by),
        "assignment_group": {
            "display_value": "Payments Platform",
            "link": f"{SNOW_URL}/api/now/table/sys_user_group/{GROUP_ID}",
            "value": GROUP_ID,
        },
        "close_code": shown(
            "successful" if closed and change.state == 3 else "",
            "Successful" if closed and change.state == 3 else "",
        ),
        "close_notes": shown(
            "Deployed by Octopus; see the linked server task."
            if closed and change.state == 3
            else ""
        ),
        "active": shown(str(not closed).lower()),
        "on_hold": shown("false"),
    }


def render_snow_approvals(change: Change) -> list[JsonObject]:
    """Render a change's approver records as plain values with reference links."""

    def ref(table: str, sys_id: str) -> JsonObject:
        return {"link": f"{SNOW_URL}/api/now/table/{table}/{sys_id}", "value": sys_id}

    return [
        {
            "sys_id": approval.sys_id,
            "sysapproval": ref("task", change.sys_id),
            "document_id": ref("change_request", change.sys_id),
            "source_table": "change_request",
            "approver": ref("sys_user", approval.approver.sys_id),
            "state": approval.state,
            "comments": "",
            "group": "",
            "sys_created_on": snow_value(change.opened + timedelta(minutes=2)),
            "sys_updated_on": snow_value(approval.when),
        }
        for approval in change.approvals
    ]


def render_snow_user(user: SnowUser) -> JsonObject:
    """Render a sys_user record (plain values)."""
    first, _, last = user.name.partition(" ")
    return {
        "sys_id": user.sys_id,
        "user_name": user.user_name,
        "name": user.name,
        "first_name": first,
        "last_name": last,
        "email": user.email,
        "title": user.title,
        "active": "true",
        "locked_out": "false",
        "time_zone": user.zone,
        "department": "",
        "manager": "",
        "last_login_time": "2026-10-05 08:12:40",
        "sys_created_on": "2024-01-15 09:00:00",
        "sys_updated_on": "2026-09-01 10:00:00",
    }


def make_snow_users(world: World) -> None:
    """Create the ServiceNow accounts of Octopus people and ServiceNow-only staff."""
    for person in PEOPLE:
        if person.snow_email:
            world.snow_users[person.number] = SnowUser(
                world.hex_id(), person.display_name, person.snow_email, "Engineer"
            )
    for key, name, title, zone in (
        ("marcus", "Marcus Thorne", "Change manager", "Europe/London"),
        ("yvonne", "Yvonne Achterberg", "CAB member", "Europe/Amsterdam"),
        ("declan", "Declan Firth", "Product owner", "Europe/London"),
        ("reader", "Evidence Reader", "Integration account", "Europe/Berlin"),
    ):
        email = f"{name.lower().replace(' ', '.')}@{MAIL_DOMAIN}"
        world.snow_users[key] = SnowUser(world.hex_id(), name, email, title, zone)
    world.snow_users["chloe"] = world.snow_users[19]
    world.snow_users["beatrix"] = world.snow_users[16]


# --- expected findings ---------------------------------------------------------------


def finding(policy: str, resource: str, why: str) -> JsonObject:
    """Return one expected finding."""
    return {"policy": policy, "resource": resource, "why": why}


LINK_LABELS = {
    "approval": "server task approval",
    "form": "form value",
    "comments": "deployment comments",
    "notes": "release notes",
    "description": "short description",
}
CHANGE_REASONS = {
    "no-change": "{what} has no change: no server task approval, form value or CHG "
    "number in the comments or release notes, and no change with the Octopus "
    "short description",
    "approval-requested": "{number} (from the {rule}) is 'requested', not "
    "approved, and in state -3 Authorize",
    "state-new": "{number} (from the {rule}) is in state -5 New and its approval "
    "was never requested",
    "early-start": "task {task} started at {start} UTC, before the window of "
    "{number} (from the {rule}) opened at 18:00:00 UTC",
    "late-finish": "task {task} completed at {end} UTC, after the window of "
    "{number} (from the {rule}) closed at 18:00:00 UTC",
    "no-end-date": "{number} (from the {rule}) has no planned end date, so its "
    "window cannot cover task {task}",
    "failed-rejected": "task {task} failed at the change gate; {number} (from the "
    "{rule}) was rejected and is in state 4 Canceled",
    "unknown-number": "its form value names {unknown}, which is not in the "
    "ServiceNow evidence",
}


def facts(deployment: Deployment) -> dict[str, str]:
    """Return the ids, numbers and times a finding's explanation quotes."""
    release = deployment.release
    change = deployment.change
    return {
        "what": f"{PROJECTS[release.project - 1][0]} {release.version}",
        "task": deployment.task_id,
        "start": f"{deployment.start:%Y-%m-%d %H:%M:%S}",
        "end": f"{deployment.completed:%Y-%m-%d %H:%M:%S}",
        "number": change.number if change else "",
        "rule": LINK_LABELS.get(deployment.link, ""),
        "unknown": UNKNOWN_NUMBER,
    }


def change_findings(world: World) -> Iterator[JsonObject]:
    """Yield the change-approval findings built into production slots."""
    for deployment in production_in_period(world):
        reason = CHANGE_REASONS.get(deployment.scenario)
        if reason is not None:
            why = reason.format(**facts(deployment))
            yield finding("change-approval", deployment.id, why)


def production_in_period(world: World) -> list[Deployment]:
    """Return the production deployments whose task started in the period."""
    return [d for d in world.deployments if d.is_production and d.in_period]


DUTY_REASONS = {
    "requester-deploys": (
        "segregation-of-duties",
        "Aisling Moreau (Users-6) requested {number} and deployed it",
    ),
    "approver-deploys": (
        "segregation-of-duties",
        "Tomasz Brennan (Users-5) approved {number} and deployed it; his e-mail "
        "differs only in case between the tools",
    ),
    "service-deploys": (
        "segregation-of-duties",
        "the CI service account (Users-9) deployed under {number} and has no "
        "e-mail address, so segregation cannot be shown",
    ),
    "admin-queued": (
        "admin-deployments",
        "Rafael Quenby (Users-2), a member of Octopus Administrators, queued "
        "{what} to Production",
    ),
    "space-manager-queued": (
        "admin-deployments",
        "Priya Lindqvist (Users-4), a member of Space Managers, queued {what} "
        "to Production",
    ),
}


def duty_findings(world: World) -> Iterator[JsonObject]:
    """Yield the segregation-of-duties and admin-deployments findings."""
    for deployment in production_in_period(world):
        if deployment.scenario in DUTY_REASONS:
            policy, text = DUTY_REASONS[deployment.scenario]
            yield finding(policy, deployment.id, text.format(**facts(deployment)))


def access_findings() -> Iterator[JsonObject]:
    """Yield the privileged-access, api-key-expiry and inactive-users findings."""
    yield finding(
        "privileged-access",
        "Users-2",
        "Rafael Quenby is an active, "
        "non-allowlisted member of Octopus Administrators (system "
        "administrator, SpaceId null)",
    )
    yield finding(
        "privileged-access",
        "Users-3",
        "Dmitri Saltmarsh holds system "
        'administrator through platform-oncall (SpaceId "")',
    )
    for number, (user, _, created, days) in enumerate(API_KEYS, 1):
        owner = BY_NUMBER[user]
        if owner.active and (days is None or days > API_KEY_MAX_DAYS):
            life = "never expires" if days is None else f"lasts {days} days"
            yield finding(
                "api-key-expiry",
                f"APIKeys-{number}",
                f"{owner.display_name}'s key created {created.date()} {life}",
            )
    inactive = {
        15: "Gareth Pollard's last audit event is on 2026-03-20",
        16: "Beatrix Okafor has no audit event at all",
        17: "Lucia Fernhill's last audit event is on 2026-07-01, more than 90 days "
        "before the period's end",
        18: "Nadia Castellane's last event before the period's end is on 2026-05-28 "
        "(her October events are after it)",
    }
    for number, text in inactive.items():
        yield finding("inactive-users", f"Users-{number}", text)


def review_findings(world: World) -> Iterator[JsonObject]:
    """Yield the emergency-change-review and backup-runbooks findings."""
    seen: set[str] = set()
    for deployment in production_in_period(world):
        change = deployment.change
        if change is None or change.number in seen:
            continue
        seen.add(change.number)
        if deployment.scenario in {"emergency-late", "emergency-open"}:
            yield finding(
                "emergency-change-review", change.number, emergency_why(change)
            )
    yield finding(
        "backup-runbooks",
        "Weekly ledger snapshot/2026-08",
        "all five Sunday runs in August 2026 failed (upload refused); no run "
        "of the month succeeded",
    )


def emergency_why(change: Change) -> str:
    """Explain why an emergency change's review was not timely."""
    end = f"{change.end:%Y-%m-%d %H:%M}" if change.end else "none"
    if change.closed is None:
        return f"emergency change, planned end {end} UTC, was never closed"
    days = (change.closed - change.end).days if change.end else 0
    closed = f"{change.closed:%Y-%m-%d %H:%M}"
    return (
        f"emergency change, planned end {end} UTC, closed {closed} UTC: "
        f"{days} days later, limit {EMERGENCY_REVIEW_DAYS}"
    )


def unused_targets(world: World) -> list[Target]:
    """Return the enabled targets no deployment reached in the last 30 days."""
    since = PERIOD_END - timedelta(days=UNUSED_DAYS)
    used = {
        machine
        for deployment in world.deployments
        if deployment.completed and since <= deployment.completed < PERIOD_END
        for machine in deployed_machines(deployment)
    }
    return [
        target
        for target in TARGETS
        if not target.disabled and f"Machines-{target.number}" not in used
    ]


def lint_findings(world: World) -> Iterator[JsonObject]:
    """Yield the findings of the octolint-style policies, from how each was planted."""
    yield finding(
        "octopus-unrotated-accounts",
        "Accounts-2",
        "azure-dr-subscription (AzureServicePrincipal) was last modified on "
        f"2026-03-10, more than {ROTATION_DAYS} days before the period's end",
    )
    yield finding(
        "octopus-unrotated-accounts",
        "Accounts-5",
        "legacy-ftp (UsernamePassword) has no LastModifiedOn and no Modified "
        "audit event",
    )
    yield finding(
        "octopus-shared-git-usernames",
        "harbourline-ci",
        "payments-api-repo (GitCredentials-1) and ledger-service-repo "
        "(GitCredentials-2) both sign in as harbourline-ci, written "
        "Harbourline-CI in the second",
    )
    yield finding(
        "octopus-insecure-feeds",
        "Feeds-3",
        "the legacy-maven feed is http:// and holds a username and password",
    )
    yield finding(
        "octopus-insecure-k8s-targets",
        "Machines-12",
        "k3s-dev-lab skips TLS verification and its cluster URL is http://",
    )
    yield finding(
        "octopus-insecure-webhooks",
        "Subscriptions-2",
        "the enabled change feed to ITSM bridge posts to an http:// webhook",
    )
    yield finding(
        "octopus-sha1-certificates",
        "Machines-8",
        "prod-app-01's tentacle certificate is signed with sha1RSA",
    )
    yield finding(
        "octopus-sha1-certificates",
        "Certificates-3",
        "partner-sftp-client (not archived) is signed with sha1RSA",
    )
    for target in unused_targets(world):
        yield finding(
            "octopus-unused-targets",
            f"Machines-{target.number}",
            f"{target.name} (role {target.role}) is enabled but no project deploys "
            "to that role",
        )
    yield finding(
        "octopus-unhealthy-targets",
        "Machines-7",
        "stg-app-02 is enabled and its health is Unavailable",
    )
    yield finding(
        "octopus-empty-projects",
        "Projects-10",
        "sandbox-demo has a deployment process with no steps and no runbooks",
    )
    yield finding(
        "octopus-too-many-steps",
        "deploymentprocess-Projects-6",
        f"settlement-batch's process has {PROCESS_STEPS[6]} steps; the limit is "
        f"fewer than {MAX_STEPS}",
    )


def expected_findings(world: World) -> list[JsonObject]:
    """Return every expected finding, sorted by policy and resource."""
    found = [
        *change_findings(world),
        *duty_findings(world),
        *access_findings(),
        *review_findings(world),
        *lint_findings(world),
    ]
    return sorted(found, key=lambda item: (item["policy"], item["resource"]))


# --- self-checks --------------------------------------------------------------------


def check_world(world: World, events: list[Event]) -> None:
    """Fail if the build did not produce what the expected findings assume."""
    threshold = PERIOD_END - timedelta(days=INACTIVITY_DAYS)
    last: dict[int, datetime] = {}
    for event in events:
        if event.actor is not None and event.occurred < PERIOD_END:
            last[event.actor] = max(
                last.get(event.actor, event.occurred), event.occurred
            )
    for person in PEOPLE:
        recent = (
            last.get(person.number, PERIOD_START - timedelta(days=999)) >= threshold
        )
        expected_recent = person.number not in {15, 16, 17, 18, 20, 21, 23}
        if recent != expected_recent:
            raise RuntimeError(f"{person.user_id}: recent activity is {recent}")
    for deployment in production_in_period(world):
        check_window(deployment)
    unused = [target.number for target in unused_targets(world)]
    if unused != [5]:
        raise RuntimeError(f"unused targets are {unused}, not only Machines-5")


def check_window(deployment: Deployment) -> None:
    """Fail if a compliant production deployment is not inside its change window."""
    change = deployment.change
    if change is None or deployment.scenario in {
        "early-start",
        "late-finish",
        "no-end-date",
    }:
        return
    start, end = deployment.start, deployment.completed
    if not (
        change.start
        and change.end
        and start
        and end
        and change.start <= start
        and end <= change.end
    ):
        raise RuntimeError(f"{deployment.id} is outside its change window")


# --- writing --------------------------------------------------------------------------


def write_json(path: Path, payload: Any) -> None:
    """Write JSON with stable formatting."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )


def write_octopus(world: World, events: list[Event], folder: Path) -> None:
    """Write the Octopus export folder."""
    newest = sorted(world.deployments, key=lambda d: d.created, reverse=True)
    deployments = [render_deployment(d) for d in newest]
    for number, start in enumerate(range(0, len(deployments), 200), 1):
        page = envelope("Deployment", deployments[start : start + 200], "deployments")
        page["TotalResults"], page["ItemsPerPage"] = len(deployments), 200
        page["NumberOfPages"] = -(-len(deployments) // 200)
        page["LastPageNumber"] = page["NumberOfPages"] - 1
        if start + 200 < len(deployments):
            page["Links"]["Page.Next"] = (
                f"/api/{SPACE}/deployments?skip={start + 200}&take=200"
            )
        write_json(folder / "deployments" / f"page-{number:04d}.json", page)
    tasks = [deployment_task(d) for d in world.deployments]
    tasks += [runbook_task(run) for run in world.runs]
    tasks.sort(key=lambda task: number_of(task["Id"]), reverse=True)
    write_json(folder / "tasks.json", envelope("ServerTask", tasks, "tasks"))
    releases = sorted(world.releases, key=lambda r: r.created, reverse=True)
    write_json(
        folder / "releases.json",
        envelope("Release", [render_release(r) for r in releases], "releases"),
    )
    write_octopus_config(world, folder)
    write_events(events, folder / "events")


def write_octopus_config(world: World, folder: Path) -> None:
    """Write the small configuration resources of Octopus."""
    runs = sorted(world.runs, key=lambda r: r.created, reverse=True)
    write_json(
        folder / "runbookruns.json",
        envelope("RunbookRun", [render_run(r) for r in runs], "runbookRuns"),
    )
    write_json(folder / "projects.json", render_projects())
    write_json(
        folder / "environments.json",
        envelope("Environment", render_environments(), "environments"),
    )
    write_json(folder / "runbooks.json", render_runbooks())
    write_json(
        folder / "users.json",
        envelope("User", [render_user(p) for p in PEOPLE], "users"),
    )
    write_json(folder / "teams.json", render_teams())
    write_json(
        folder / "userroles.json",
        envelope("UserRole", render_user_roles(), "userroles"),
    )
    write_json(
        folder / "scopeduserroles.json",
        envelope("ScopedUserRole", render_scoped_roles(), "scopeduserroles"),
    )
    write_json(folder / "apikeys.json", render_api_keys())
    write_json(
        folder / "servertaskapprovals.json",
        envelope("ServerTaskApproval", render_approvals(world), "servertaskapprovals"),
    )
    write_octopus_lint(folder)


def write_events(events: list[Event], folder: Path) -> None:
    """Write the event pages and the daily archives."""
    for number, page in enumerate(event_pages(events), 1):
        write_json(folder / f"page-{number:04d}.json", page)
    days: dict[str, list[str]] = {}
    for event in events:
        if event.occurred < ARCHIVE_UNTIL:
            line = json.dumps(event_json(event), ensure_ascii=False)
            days.setdefault(event.occurred.date().isoformat(), []).append(line)
    for day, lines in days.items():
        (folder / f"events-{day}.jsonl").write_text(
            "\n".join(lines) + "\n", encoding="utf-8"
        )


def write_servicenow(world: World, folder: Path) -> None:
    """Write the ServiceNow Table API responses."""
    changes = sorted(world.changes, key=lambda c: c.opened)
    write_json(
        folder / "change_request.json",
        {"result": [render_change(world, c) for c in changes]},
    )
    approvals = [row for c in changes for row in render_snow_approvals(c)]
    write_json(folder / "sysapproval_approver.json", {"result": approvals})
    users = sorted(
        {u.sys_id: u for u in world.snow_users.values()}.values(),
        key=lambda u: u.user_name,
    )
    write_json(
        folder / "sys_user.json", {"result": [render_snow_user(u) for u in users]}
    )


CONFIG_TEXT = f"""\
# Harbourline Payments: the bundled sample organisation (synthetic data).
# Regenerate the exports with: .venv/bin/python examples/harbourline/generate.py
organisation: Harbourline Payments Ltd
period: {{start: 2026-07-01, end: 2026-09-30, timezone: Europe/London}}
frameworks: [iso27001-2022, soc2-2017]
production_environments: [Production]
sources:
  - {{name: octopus, type: octopus, path: exports/octopus}}
  - {{name: servicenow, type: servicenow, path: exports/servicenow}}
policies:
  privileged_allowlist: [{ALLOWLISTED_ADMIN}]
  api_key_max_days: {API_KEY_MAX_DAYS}
  inactivity_days: {INACTIVITY_DAYS}
  backup_runbooks: ["{BACKUP_RUNBOOKS[0]}", "{BACKUP_RUNBOOKS[1]}"]
  emergency_review_days: {EMERGENCY_REVIEW_DAYS}
store: ../../.evidencekit
"""


def scope_counts(world: World) -> dict[str, int]:
    """Count what each policy examines, from how the sample was built."""
    in_period = production_in_period(world)
    linked = [d for d in in_period if d.change is not None]
    emergencies = {d.change.number for d in linked if d.change.kind == "emergency"}
    active = [p for p in PEOPLE if p.active]
    return {
        "change-approval": len(in_period),
        "segregation-of-duties": len(linked),
        "admin-deployments": len(in_period),
        "privileged-access": len(active),
        "api-key-expiry": sum(BY_NUMBER[key[0]].active for key in API_KEYS),
        "inactive-users": sum(bool(p.teams) for p in active),
        "emergency-change-review": len(emergencies),
        "backup-runbooks": len(BACKUP_RUNBOOKS) * 3,
        **lint_scope_counts(),
    }


def lint_scope_counts() -> dict[str, int]:
    """Count what each lint policy examines, from the planted configuration."""
    enabled = sum(not target.disabled for target in TARGETS)
    tentacles = sum(target.algorithm is not None for target in TARGETS)
    return {
        "octopus-unrotated-accounts": sum("Oidc" not in a[1] for a in ACCOUNTS),
        "octopus-shared-git-usernames": 3,
        "octopus-insecure-feeds": 3,
        "octopus-insecure-k8s-targets": sum(t.style == "Kubernetes" for t in TARGETS),
        "octopus-insecure-webhooks": 2,
        "octopus-sha1-certificates": tentacles + 2 + 2,  # targets, workers, live certs
        "octopus-unused-targets": enabled,
        "octopus-unhealthy-targets": enabled,
        "octopus-empty-projects": len(PROJECTS) + 1,
        "octopus-too-many-steps": len(PROCESS_STEPS),
    }


def expected_markdown(found: list[JsonObject], counts: dict[str, int]) -> str:
    """Render EXPECTED.md: what each policy should find in the sample, and why."""
    lines = [
        "# Harbourline Payments: expected findings",
        "",
        "Harbourline Payments is an invented payments firm. `generate.py` builds one",
        "quarter (1 July to 30 September 2026, Europe/London) of Octopus Deploy and",
        "ServiceNow exports and plants the violations below on purpose; everything",
        "else is built to comply. This table is written by the generator from how it",
        "built each violation, not by running the policies.",
        "",
        "| Policy | Resource | Why it is a finding |",
        "|---|---|---|",
    ]
    lines += [f"| `{f['policy']}` | `{f['resource']}` | {f['why']} |" for f in found]
    lines += [
        "",
        "## What each policy examines",
        "",
        "| Policy | Items in scope (`tested`) | Findings |",
        "|---|---|---|",
    ]
    for policy, count in counts.items():
        hits = sum(f["policy"] == policy for f in found)
        lines.append(f"| `{policy}` | {count} | {hits} |")
    lines += ["", *TRAPS]
    return "\n".join(lines) + "\n"


TRAPS = [
    "## Traps that must not produce findings",
    "",
    "- An emergency production deployment started just after midnight on 1 July"
    " London time (23:0x UTC on 30 June) is in the period; an administrator's"
    " deployment started at 00:10 on 1 October London time is not, and has no"
    " change.",
    "- A production deployment queued on 30 September for 10 October never started"
    " and has no change: it is out of scope.",
    "- Failed and canceled production deployments count; those with an approved"
    " change inside its window comply (each is followed by a successful redeploy).",
    "- Two deployments name their change in the comments or a server task approval"
    " while the release notes name an older change: the first rule wins.",
    "- Tomasz Brennan is on one change's approver list as `cancelled`, not"
    " `approved`: no segregation finding for that deployment.",
    "- ServiceNow display values are in a CET user's time zone and dd/MM/yyyy;"
    " only the `value` fields give the right windows.",
    f"- Imogen Farrow ({ALLOWLISTED_ADMIN}) is an allowlisted administrator;"
    " Victor Hale is an administrator but inactive; Hannah Velasco's system-level"
    " role has no `AdministerSystem`.",
    "- Victor Hale's (inactive) key never expires; a key of exactly 365 days is"
    " allowed.",
    "- Samuel Oduya has no events but is in no team; inactive users are not judged.",
    "- A June emergency change closed late belongs to a deployment before the period.",
    "- The nightly backup failed on a few nights, but every month has successful runs.",
    "- Octopus configuration (the lint policies): the OIDC account aws-oidc-ci was"
    " last modified in 2025 but stores no secret; payments-db-ssh was last modified"
    " after the period's end, and an audited edit on 2026-09-05 shows it was rotated"
    " inside the window.",
    "- The anonymous Git credential has no username; docs-bot is used once.",
    "- The built-in feed has no URL; the ghcr feed has a username but uses https.",
    "- aks-prod-payments is a Kubernetes target that verifies TLS over https; the"
    " disabled old pager subscription posts to http:// but sends nothing.",
    "- The archived partner-sftp-2019 certificate is signed with SHA-1 but is"
    " archived; Kubernetes targets report no certificate algorithm.",
    "- dev-app-02 is Unhealthy but disabled; stg-web-02 has warnings, which is not"
    " unhealthy; stg-app-02 still received deployments until it became"
    " Unavailable.",
    "- platform-operations has no deployment steps but has runbooks; payments-api's"
    " process has 19 steps, one fewer than the limit.",
]


def build() -> tuple[World, list[Event]]:
    """Build the whole sample in memory."""
    world = World(random.Random(SEED))  # noqa: S311  (synthetic data, not secrets)
    make_snow_users(world)
    plan_june(world)
    plan_quarter(world)
    plan_october(world)
    plan_lower_only(world)
    plan_runbooks(world)
    assign_ids(world)
    link_texts(world)
    events = build_events(world)
    check_world(world, events)
    return world, events


def write_all(output: Path) -> None:
    """Build the sample and write every file under an output folder."""
    world, events = build()
    exports = output / "exports"
    write_octopus(world, events, exports / "octopus")
    write_servicenow(world, exports / "servicenow")
    (output / "evidencekit.yaml").write_text(CONFIG_TEXT, encoding="utf-8")
    found = expected_findings(world)
    write_json(output / "expected-findings.json", found)
    (output / "EXPECTED.md").write_text(
        expected_markdown(found, scope_counts(world)), encoding="utf-8"
    )


def main(argv: list[str] | None = None) -> None:
    """Parse arguments and write the sample."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--output",
        type=Path,
        default=Path(__file__).resolve().parent,
        help="folder to write into (default: beside this script)",
    )
    args = parser.parse_args(argv)
    write_all(args.output)


if __name__ == "__main__":
    main()
