"""A small organisation whose evidence complies with every policy, for exit-code tests.

One month (March 2026, UTC), one production deployment under an approved change, one
administrator on the allowlist, one API key with an expiry, a backup runbook that ran.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import yaml

CLEAN_CONFIG = Path(__file__).parent / "data" / "octopus_lint" / "clean-org"
PERIOD = {"start": "2026-03-01", "end": "2026-03-31", "timezone": "UTC"}


def _page(items: list[dict[str, Any]], item_type: str) -> dict[str, Any]:
    return {
        "ItemType": item_type,
        "TotalResults": len(items),
        "ItemsPerPage": 30,
        "NumberOfPages": 1,
        "LastPageNumber": 0,
        "Items": items,
        "Links": {"Self": f"/api/{item_type.lower()}s"},
    }


def _octopus() -> dict[str, Any]:
    users = [
        {
            "Id": "Users-1",
            "Username": "ada.admin",
            "DisplayName": "Ada Admin",
            "EmailAddress": "ada@clean.example",
            "IsActive": True,
            "IsService": False,
        },
        {
            "Id": "Users-2",
            "Username": "dev.deployer",
            "DisplayName": "Dev Deployer",
            "EmailAddress": "Dev@Clean.example",
            "IsActive": True,
            "IsService": False,
        },
    ]
    events = [
        {
            "Id": f"Events-{number}",
            "Category": "DeploymentQueued",
            "UserId": user,
            "Username": user,
            "IsService": False,
            "Occurred": "2026-03-10T09:00:00.0000000+00:00",
            "RelatedDocumentIds": ["Deployments-1"],
            "SpaceId": "Spaces-1",
        }
        for number, user in ((1, "Users-1"), (2, "Users-2"))
    ]
    return {
        "events/page-0001.json": _page(events, "Event"),
        "deployments.json": _page(
            [
                {
                    "Id": "Deployments-1",
                    "ProjectId": "Projects-1",
                    "ReleaseId": "Releases-1",
                    "EnvironmentId": "Environments-2",
                    "TaskId": "ServerTasks-1",
                    "DeployedBy": "dev.deployer",
                    "DeployedById": "Users-2",
                    "Created": "2026-03-10T09:00:00.0000000+00:00",
                    "Comments": "Deploy under CHG0000001",
                    "DeployedToMachineIds": ["Machines-1"],
                    "FormValues": {},
                    "SpaceId": "Spaces-1",
                }
            ],
            "Deployment",
        ),
        "tasks.json": [
            {
                "Id": "ServerTasks-1",
                "State": "Success",
                "StartTime": "2026-03-10T09:01:00.0000000+00:00",
                "CompletedTime": "2026-03-10T09:05:00.0000000+00:00",
                "SpaceId": "Spaces-1",
            },
            {
                "Id": "ServerTasks-2",
                "State": "Success",
                "StartTime": "2026-03-02T01:00:00.0000000+00:00",
                "CompletedTime": "2026-03-02T01:10:00.0000000+00:00",
                "SpaceId": "Spaces-1",
            },
        ],
        "releases.json": [
            {"Id": "Releases-1", "Version": "1.0.0", "ProjectId": "Projects-1"}
        ],
        "projects.json": [{"Id": "Projects-1", "Name": "ledger"}],
        "environments.json": [
            {"Id": "Environments-1", "Name": "Staging"},
            {"Id": "Environments-2", "Name": "Production"},
        ],
        "runbooks.json": [
            {"Id": "Runbooks-1", "Name": "Nightly backup", "ProjectId": "Projects-1"}
        ],
        "runbookruns.json": [
            {
                "Id": "RunbookRuns-1",
                "RunbookId": "Runbooks-1",
                "ProjectId": "Projects-1",
                "EnvironmentId": "Environments-2",
                "TaskId": "ServerTasks-2",
                "Created": "2026-03-02T01:00:00.0000000+00:00",
            }
        ],
        "users.json": _page(users, "UserResource"),
        "teams.json": [
            {
                "Id": "Teams-1",
                "Name": "platform-admins",
                "MemberUserIds": ["Users-1"],
                "SpaceId": None,
            },
            {
                "Id": "Teams-2",
                "Name": "prod-deployers",
                "MemberUserIds": ["Users-2"],
                "SpaceId": "Spaces-1",
            },
        ],
        "userroles.json": [
            {
                "Id": "userroles-systemadministrator",
                "Name": "System administrator",
                "GrantedSystemPermissions": ["AdministerSystem"],
                "GrantedSpacePermissions": [],
            },
            {
                "Id": "userroles-deploymentcreator",
                "Name": "Deployment creator",
                "GrantedSystemPermissions": [],
                "GrantedSpacePermissions": ["DeploymentCreate"],
            },
        ],
        "scopeduserroles.json": [
            {
                "Id": "ScopedUserRoles-1",
                "TeamId": "Teams-1",
                "UserRoleId": "userroles-systemadministrator",
                "SpaceId": None,
                "EnvironmentIds": [],
                "ProjectIds": [],
            },
            {
                "Id": "ScopedUserRoles-2",
                "TeamId": "Teams-2",
                "UserRoleId": "userroles-deploymentcreator",
                "SpaceId": "Spaces-1",
                "EnvironmentIds": ["Environments-2"],
                "ProjectIds": [],
            },
        ],
        "apikeys.json": [
            {
                "Id": "APIKeys-1",
                "Purpose": "release automation",
                "UserId": "Users-2",
                "Created": "2026-01-01T00:00:00+00:00",
                "Expires": "2026-06-30T00:00:00+00:00",
                "ApiKey": {"Hint": "API-AB"},
            }
        ],
    }


def _servicenow() -> dict[str, Any]:
    return {
        "change_request.json": {
            "result": [
                {
                    "sys_id": "c0ffee00000000000000000000000001",
                    "number": "CHG0000001",
                    "short_description": "Ledger 1.0.0",
                    "type": "normal",
                    "state": "3",
                    "approval": "approved",
                    "start_date": "2026-03-10 08:00:00",
                    "end_date": "2026-03-10 12:00:00",
                    "closed_at": "2026-03-10 13:00:00",
                    "requested_by": "5e000000000000000000000000000001",
                }
            ]
        },
        "sysapproval_approver.json": {
            "result": [
                {
                    "sys_id": "a0000000000000000000000000000001",
                    "sysapproval": "c0ffee00000000000000000000000001",
                    "approver": "5e000000000000000000000000000002",
                    "state": "approved",
                    "sys_updated_on": "2026-03-09 16:00:00",
                }
            ]
        },
        "sys_user.json": {
            "result": [
                {
                    "sys_id": "5e000000000000000000000000000001",
                    "user_name": "rita.requester",
                    "email": "rita@clean.example",
                    "active": "true",
                },
                {
                    "sys_id": "5e000000000000000000000000000002",
                    "user_name": "cab.chair",
                    "email": "cab@clean.example",
                    "active": "true",
                },
            ]
        },
    }


def write_clean_org(root: Path, **config_overrides: Any) -> Path:
    """Write the exports and a config under ``root``; return the config's path."""
    for folder, files in (("octopus", _octopus()), ("servicenow", _servicenow())):
        for name, content in files.items():
            path = root / "exports" / folder / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(content, indent=1), encoding="utf-8")
    # The optional Octopus configuration resources (targets, feeds, accounts, ...)
    # that the lint policies read, all compliant.
    for extra in CLEAN_CONFIG.glob("*.json"):
        shutil.copy(extra, root / "exports" / "octopus" / extra.name)
    config: dict[str, Any] = {
        "organisation": "Clean Example Ltd",
        "period": PERIOD,
        "production_environments": ["Production"],
        "sources": [
            {"name": "octopus", "type": "octopus", "path": "exports/octopus"},
            {"name": "servicenow", "type": "servicenow", "path": "exports/servicenow"},
        ],
        "policies": {
            "privileged_allowlist": ["ada.admin"],
            "backup_runbooks": ["Nightly backup"],
        },
        "store": "store",
    }
    config.update(config_overrides)
    path = root / "evidencekit.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path
