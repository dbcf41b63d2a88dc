"""Serve an export folder as the Octopus and ServiceNow REST APIs would, for live tests.

The simulator pages the same records that the export files hold, so a live run
against it must reach the same findings as the export run.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from werkzeug import Request, Response

from evidencekit.collectors.octopus_live import SPACE_RESOURCES, SYSTEM_RESOURCES

OCTOPUS_KEY = "API-SIMULATOR0000000000001"


def _items(body: Any) -> list[dict[str, Any]]:
    if isinstance(body, dict):
        return list(body.get("Items") or body.get("result") or [])
    return list(body)


def _load_resource(folder: Path, name: str) -> list[dict[str, Any]]:
    """Every record of an export resource: a file, a folder of pages, or archives."""
    records: dict[str, dict[str, Any]] = {}
    paths = [folder / f"{name}.json"]
    if (folder / name).is_dir():
        paths += sorted((folder / name).glob("*.json"))
    for path in paths:
        if path.is_file():
            for item in _items(json.loads(path.read_text("utf-8"))):
                records.setdefault(str(item.get("Id") or item.get("sys_id")), item)
    if (folder / name).is_dir():
        for path in sorted((folder / name).glob("*.jsonl")):
            for line in path.read_text("utf-8").splitlines():
                if line.strip():
                    item = json.loads(line)
                    records.setdefault(item["Id"], item)
    return list(records.values())


class OctopusSimulator:
    """`/api/...` paged by skip/take with TotalResults, from an Octopus export."""

    def __init__(self, export: Path) -> None:
        by_path = {
            f"/api/Spaces-1/{segment}": name
            for name, segment in SPACE_RESOURCES.items()
        }
        by_path.update({path: name for name, (path, _) in SYSTEM_RESOURCES.items()})
        by_path["/api/events"] = "events"
        self.collections = {
            path: _load_resource(export, name) for path, name in by_path.items()
        }
        keys = _load_resource(export, "apikeys")
        for user in self.collections["/api/users"]:
            path = f"/api/users/{user['Id']}/apikeys"
            self.collections[path] = [k for k in keys if k["UserId"] == user["Id"]]
        self.collections["/api/events/archives"] = []
        self.requests: list[Request] = []
        # A test may set this to answer some requests itself (an outage, a 401).
        self.intercept: Callable[[Request], Response | None] = lambda request: None

    def __call__(self, request: Request) -> Response:
        self.requests.append(request)
        intercepted = self.intercept(request)
        if intercepted is not None:
            return intercepted
        if request.headers.get("X-Octopus-ApiKey") != OCTOPUS_KEY:
            return Response('{"ErrorMessage": "unauthorised"}', 401)
        items = self.collections.get(request.path)
        if items is None:
            return Response('{"ErrorMessage": "not found"}', 404)
        skip = int(request.args.get("skip", "0"))
        take = int(request.args.get("take", "30"))
        page = {
            "ItemType": "Resource",
            "TotalResults": len(items),
            "ItemsPerPage": take,
            "Items": items[skip : skip + take],
            "Links": {"Self": request.full_path},
        }
        return Response(json.dumps(page), 200, content_type="application/json")


class ServiceNowSimulator:
    """`/api/now/table/<table>` paged by sysparm_offset with X-Total-Count."""

    def __init__(self, export: Path, user: str, password: str) -> None:
        self.tables = {
            table: _load_resource(export, table)
            for table in ("change_request", "sysapproval_approver", "sys_user")
        }
        self.credentials = (user, password)

    def __call__(self, request: Request) -> Response:
        auth = request.authorization
        if auth is None or (auth.username, auth.password) != self.credentials:
            return Response('{"error": {"message": "User Not Authenticated"}}', 401)
        table = request.path.rsplit("/", 1)[-1]
        rows = self.tables.get(table)
        if rows is None:
            return Response('{"error": {"message": "Invalid table"}}', 400)
        offset = int(request.args.get("sysparm_offset", "0"))
        limit = int(request.args.get("sysparm_limit", "10000"))
        body = {"result": rows[offset : offset + limit]}
        headers = {"X-Total-Count": str(len(rows))}
        return Response(
            json.dumps(body), 200, headers=headers, content_type="application/json"
        )
