"""Build, serialise and parse the manifest that describes one evidence snapshot.

The manifest is the index of a snapshot: which sources were collected, how completely,
and the SHA-256 and size of every evidence file. Its own hash (of the exact bytes of
``manifest.json``) is what the next snapshot chains to.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from evidencekit.collectors.base import FileStats, ResourceData, SourceData
from evidencekit.errors import SnapshotError
from evidencekit.results import SourceStatus

SCHEMA = "evidencekit.manifest/1"
MANIFEST_NAME = "manifest.json"
EVIDENCE_DIR = "evidence"

_URL_IN_TEXT = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s'\"<>]+")
_REQUIRED_KEYS = {
    "schema": str,
    "snapshot_id": str,
    "collected_at": str,
    "organisation": str,
    "period": dict,
    "sources": list,
}


@dataclass(frozen=True)
class StagedFile:
    """One evidence file as copied into a snapshot."""

    path: str  # inside the snapshot: evidence/<source>/<path in the source folder>
    sha256: str
    size: int

    def entry(self) -> dict[str, Any]:
        """Return the manifest entry of the file."""
        return {"path": self.path, "sha256": self.sha256, "size": self.size}


@dataclass(frozen=True)
class RefusedFile:
    """An evidence file that was not copied into a snapshot, and why."""

    path: str  # relative to the source folder; the file is not in the snapshot
    reason: str  # completes "<path> ...", e.g. "is a symlink to ...; not followed"

    def entry(self) -> dict[str, Any]:
        """Return the manifest entry of the file."""
        return {"path": self.path, "reason": self.reason}


def redact_origin(origin: str) -> str:
    """Return a URL without user info, query or fragment; leave a path as it is."""
    parts = urlsplit(origin)
    if not parts.scheme or not parts.netloc:
        return origin
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def redact_text(text: str) -> str:
    """Redact every URL inside a message (errors can quote a URL with a token)."""
    return _URL_IN_TEXT.sub(lambda match: redact_origin(match.group(0)), text)


def source_entry(
    data: SourceData,
    *,
    mode: str,
    origin: str,
    query_window: dict[str, str | None] | None,
    staged: dict[str, StagedFile],
    refused: Sequence[RefusedFile] = (),
) -> dict[str, Any]:
    """Describe one collected source; ``staged`` maps source-relative paths to files.

    Every staged file is listed: under the resource that read it, or under
    ``unread_files`` when no resource claims it, so verify can account for it.
    Files staging refused (symlinks) are listed under ``refused_files`` with the
    reason; they are not in the snapshot, so verify does not look for them.
    """
    refused_paths = {file.path: file.reason for file in refused}
    resources = [
        _resource_entry(data.name, resource, staged, refused_paths)
        for resource in data.resources.values()
    ]
    claimed = {
        file.path for resource in data.resources.values() for file in resource.files
    }
    unread = [staged[path].entry() for path in sorted(set(staged) - claimed)]
    return {
        "name": data.name,
        "type": data.type,
        "mode": mode,
        "origin": redact_origin(origin),
        "status": data.overall_status().value,
        "error": redact_text(data.error) if data.error is not None else None,
        "query_window": query_window,
        "resources": resources,
        "unread_files": unread,
        "refused_files": [file.entry() for file in refused],
    }


def _resource_entry(
    source: str,
    resource: ResourceData,
    staged: dict[str, StagedFile],
    refused: dict[str, str],
) -> dict[str, Any]:
    return {
        "name": resource.name,
        "status": resource.status.value,
        "records": len(resource.records),
        "duplicates": resource.duplicates,
        "expected": resource.expected,
        "warnings": [redact_text(warning) for warning in resource.warnings],
        "query_window": resource.query_window,
        "files": [
            _file_entry(source, resource.name, file, staged, refused)
            for file in resource.files
        ],
    }


def _file_entry(
    source: str,
    resource: str,
    stats: FileStats,
    staged: dict[str, StagedFile],
    refused: dict[str, str],
) -> dict[str, Any]:
    copy = staged.get(stats.path)
    if copy is None and stats.path in refused:
        raise SnapshotError(
            f"source {source!r}, resource {resource!r}: file {stats.path} was read, "
            f"but staging refused it (it {refused[stats.path]}); a collector must "
            "read the staged copy, where the file is absent"
        )
    if copy is None:
        raise SnapshotError(
            f"source {source!r}, resource {resource!r}: file {stats.path} was read "
            "but not staged into the snapshot; a collector must read the staged copy"
        )
    if stats.sha256 is not None and stats.sha256 != copy.sha256:
        raise SnapshotError(
            f"source {source!r}, resource {resource!r}: file {stats.path} has "
            f"SHA-256 {stats.sha256} as read but {copy.sha256} as staged; expected "
            "the same file"
        )
    return {**copy.entry(), "records": stats.records}


def snapshot_status(manifest: dict[str, Any]) -> SourceStatus:
    """Summarise a snapshot: FAILED if any source failed, COMPLETE only if all are.

    A snapshot without sources is INCOMPLETE: nothing collected is never complete.
    """
    statuses = [source.get("status") for source in manifest.get("sources", [])]
    if SourceStatus.FAILED.value in statuses:
        return SourceStatus.FAILED
    if statuses and all(status == SourceStatus.COMPLETE.value for status in statuses):
        return SourceStatus.COMPLETE
    return SourceStatus.INCOMPLETE


def manifest_files(manifest: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Return every file entry of a manifest, keyed by its path inside the snapshot."""
    files: dict[str, dict[str, Any]] = {}
    for source in manifest["sources"]:
        for resource in source.get("resources", []):
            for entry in resource.get("files", []):
                files[entry["path"]] = entry
        for entry in source.get("unread_files", []):
            files[entry["path"]] = entry
    return files


def dump_manifest(manifest: dict[str, Any]) -> bytes:
    """Serialise a manifest: sorted keys, UTF-8, a trailing newline."""
    try:
        text = json.dumps(manifest, sort_keys=True, ensure_ascii=False, indent=2)
    except (TypeError, ValueError) as err:
        raise SnapshotError(
            f"manifest of snapshot {manifest.get('snapshot_id')} cannot be written as "
            f"JSON: {err}; expected only strings, numbers, lists and mappings"
        ) from err
    return (text + "\n").encode("utf-8")


def digest(data: bytes) -> str:
    """Return the SHA-256 of some bytes as lower-case hex."""
    return hashlib.sha256(data).hexdigest()


def parse_manifest(data: bytes, where: str) -> dict[str, Any]:
    """Parse manifest bytes and check the shape the store relies on."""
    try:
        manifest = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise SnapshotError(f"{where} is not valid UTF-8 JSON: {err}") from err
    if not isinstance(manifest, dict):
        raise SnapshotError(
            f"{where} must hold a JSON object, not {type(manifest).__name__}"
        )
    for key, kind in _REQUIRED_KEYS.items():
        if not isinstance(manifest.get(key), kind):
            raise SnapshotError(
                f"{where}: field {key!r} must be a JSON {kind.__name__}"
            )
    if manifest["schema"] != SCHEMA:
        raise SnapshotError(
            f"{where}: schema is {manifest['schema']!r}, expected {SCHEMA!r}"
        )
    _check_files(manifest, where)
    return manifest


def _check_files(manifest: dict[str, Any], where: str) -> None:
    try:
        entries = manifest_files(manifest).values()
        valid = all(
            isinstance(entry["sha256"], str) and isinstance(entry["size"], int)
            for entry in entries
        )
    except (KeyError, TypeError, AttributeError) as err:
        raise SnapshotError(
            f"{where}: a source or file entry is malformed ({err!r})"
        ) from err
    if not valid:
        raise SnapshotError(
            f"{where}: every file entry needs a string sha256 and int size"
        )
