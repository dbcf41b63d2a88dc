"""Write immutable, hash-chained evidence snapshots and read them back.

Layout under the store root::

    snapshots/<snapshot id>/manifest.json
    snapshots/<snapshot id>/evidence/<source>/<files>
    snapshots/.staging-<snapshot id>/      (a run in progress, or one that crashed)
    HEAD                                   (the id of the newest snapshot)
    index.sqlite                           (the run index, see ``index.py``)
    .lock                                  (held from ``begin`` to ``commit``)

A snapshot appears under its final name only after every file and the manifest are
on disk, so a crash leaves a staging folder and never a half snapshot.
"""

from __future__ import annotations

import builtins
import contextlib
import errno
import fcntl
import fnmatch
import hashlib
import logging
import os
import re
import secrets
import shutil
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from types import TracebackType
from typing import Any, BinaryIO

from evidencekit.collectors.base import SourceData, registry
from evidencekit.errors import SnapshotError
from evidencekit.evidence.index import RunIndex
from evidencekit.evidence.manifest import (
    EVIDENCE_DIR,
    MANIFEST_NAME,
    SCHEMA,
    RefusedFile,
    StagedFile,
    digest,
    dump_manifest,
    parse_manifest,
    source_entry,
)
from evidencekit.results import SourceStatus
from evidencekit.timeutil import TimestampError, from_canonical, to_canonical

logger = logging.getLogger(__name__)

CHUNK_SIZE = 1024 * 1024
SNAPSHOTS_DIR = "snapshots"
INDEX_NAME = "index.sqlite"
STAGING_PREFIX = ".staging-"
SNAPSHOT_ID = re.compile(r"^\d{8}T\d{6}Z-[0-9a-f]{6}$")
_SOURCE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_READ_ONLY = 0o444
_MAX_SUFFIX = 0xFFFFFF
_PLACEHOLDER = re.compile(r"<[^>]+>|YYYY-MM-DD")


@dataclass(frozen=True)
class Snapshot:
    """A committed snapshot: its folder, parsed manifest and manifest hash."""

    id: str
    path: Path
    manifest: dict[str, Any]
    manifest_sha256: str

    @property
    def collected_at(self) -> str:
        """The canonical UTC time the evidence was collected."""
        return str(self.manifest["collected_at"])

    @property
    def previous_id(self) -> str | None:
        """The id of the snapshot this one chains to, if any."""
        previous = self.manifest.get("previous_snapshot_id")
        return str(previous) if previous is not None else None

    def source_folder(self, source_name: str) -> Path:
        """Return the folder holding one source's evidence files."""
        names = [source["name"] for source in self.manifest["sources"]]
        if source_name not in names:
            raise SnapshotError(
                f"snapshot {self.id} has no source {source_name!r}; it has: "
                f"{', '.join(names) or 'none'}"
            )
        return self.path / EVIDENCE_DIR / source_name

    def file_sha256(self, source_name: str, file: str) -> str | None:
        """Return the SHA-256 of a source file (the path in a record's _file)."""
        wanted = f"{EVIDENCE_DIR}/{source_name}/{file}"
        for source in self.manifest["sources"]:
            if source["name"] != source_name:
                continue
            entries = [f for r in source["resources"] for f in r["files"]]
            for entry in entries + source.get("unread_files", []):
                if entry["path"] == wanted:
                    return str(entry["sha256"])
        return None


class SnapshotStore:
    """The evidence store: a chain of snapshots under one root folder."""

    def __init__(self, root: Path, index_url: str | None = None) -> None:
        self.root = Path(root)
        self.snapshots_dir = self.root / SNAPSHOTS_DIR
        self._default_index_url = f"sqlite:///{self.root / INDEX_NAME}"
        self.index_url = index_url or self._default_index_url
        self._index: RunIndex | None = None

    @property
    def index(self) -> RunIndex:
        """The run index of this store (opened on first use)."""
        if self._index is None:
            self._index = RunIndex(self.index_url)
        return self._index

    @property
    def index_is_default(self) -> bool:
        """True when the index is the store's own ``index.sqlite`` file."""
        return self.index_url == self._default_index_url

    def has_index(self) -> bool:
        """False when the default SQLite index file does not exist (yet)."""
        if not self.index_is_default:
            return True
        return (self.root / INDEX_NAME).is_file()

    def close(self) -> None:
        """Release the index connection pool."""
        if self._index is not None:
            self._index.close()
            self._index = None

    def begin(
        self,
        *,
        organisation: str,
        period: dict[str, str],
        tool_version: str,
        collected_at: datetime | None = None,
    ) -> SnapshotWriter:
        """Lock the store and start staging a new snapshot chained to the newest one."""
        self.snapshots_dir.mkdir(parents=True, exist_ok=True)
        lock = _acquire_lock(self.root / ".lock")
        try:
            previous = self.latest()
            moment = _collection_time(collected_at, previous)
            snapshot_id = self._new_id(moment, previous)
            manifest = _base_manifest(
                snapshot_id,
                previous,
                organisation=organisation,
                period=period,
                tool_version=tool_version,
                moment=moment,
            )
            staging = self.snapshots_dir / f"{STAGING_PREFIX}{snapshot_id}"
            staging.mkdir()
        except BaseException:
            _release_lock(lock)
            raise
        logger.info(
            "snapshot begun snapshot=%s previous=%s",
            snapshot_id,
            previous.id if previous else None,
        )
        return SnapshotWriter(self, staging, manifest, lock)

    def get(self, snapshot_id: str) -> Snapshot:
        """Load a committed snapshot; raise SnapshotError if there is no such id."""
        if not SNAPSHOT_ID.match(snapshot_id):
            raise SnapshotError(
                f"{snapshot_id!r} is not a snapshot id (expected e.g. "
                "20261203T084100Z-3f9a1c)"
            )
        folder = self.snapshots_dir / snapshot_id
        try:
            data = (folder / MANIFEST_NAME).read_bytes()
        except FileNotFoundError as err:
            raise SnapshotError(f"no snapshot {snapshot_id} in {self.root}") from err
        except OSError as err:
            raise SnapshotError(f"cannot read {folder / MANIFEST_NAME}: {err}") from err
        manifest = parse_manifest(data, str(folder / MANIFEST_NAME))
        if manifest["snapshot_id"] != snapshot_id:
            raise SnapshotError(
                f"{folder / MANIFEST_NAME}: snapshot_id is "
                f"{manifest['snapshot_id']!r}, expected the folder name {snapshot_id!r}"
            )
        return Snapshot(snapshot_id, folder, manifest, digest(data))

    def latest(self) -> Snapshot | None:
        """Return the newest snapshot of the chain, or None in an empty store."""
        chain = self.list()
        return chain[-1] if chain else None

    def list(self) -> list[Snapshot]:
        """Return every committed snapshot, oldest first, following the chain.

        Raise SnapshotError when the snapshots do not form one unbroken chain (a
        missing previous snapshot, a fork, two first snapshots): the store then
        needs a person to look at it (``verify`` says what is wrong).
        """
        snapshots = {snapshot_id: self.get(snapshot_id) for snapshot_id in self.ids()}
        return _order_chain(snapshots, self.root)

    def ids(self) -> builtins.list[str]:
        """Return the ids of the committed snapshot folders, sorted by name."""
        if not self.snapshots_dir.is_dir():
            return []
        return sorted(
            entry.name
            for entry in os.scandir(self.snapshots_dir)
            if SNAPSHOT_ID.match(entry.name) and entry.is_dir(follow_symlinks=False)
        )

    def head(self) -> str | None:
        """Return the snapshot id written to HEAD by the last commit, if any."""
        try:
            return (self.root / "HEAD").read_text(encoding="utf-8").strip() or None
        except FileNotFoundError:
            return None

    def _new_id(self, moment: datetime, previous: Snapshot | None) -> str:
        """Make an id that sorts after the previous one, even within one second."""
        stamp = f"{moment:%Y%m%dT%H%M%SZ}"
        lowest = 0
        if previous is not None and previous.id.startswith(stamp):
            lowest = int(previous.id.rsplit("-", 1)[1], 16) + 1
        if lowest > _MAX_SUFFIX:
            raise SnapshotError(
                f"no snapshot id left after {previous.id if previous else stamp} in "
                "this second; try again in a second"
            )
        while True:
            suffix = lowest + secrets.randbelow(_MAX_SUFFIX - lowest + 1)
            candidate = f"{stamp}-{suffix:06x}"
            taken = self.snapshots_dir / candidate
            staging = self.snapshots_dir / f"{STAGING_PREFIX}{candidate}"
            if not taken.exists() and not staging.exists():
                return candidate

    def _publish(self, staging: Path, snapshot_id: str) -> Snapshot:
        final = self.snapshots_dir / snapshot_id
        os.replace(staging, final)
        _fsync_dir(self.snapshots_dir)
        _write_atomically(self.root / "HEAD", f"{snapshot_id}\n".encode())
        return self.get(snapshot_id)


class SnapshotWriter:
    """Stage one snapshot's evidence and manifest, then commit or abort it."""

    def __init__(
        self, store: SnapshotStore, staging: Path, manifest: dict[str, Any], lock: int
    ) -> None:
        self._store = store
        self._staging = staging
        self._manifest = manifest
        self._lock: int | None = lock
        self._staged: dict[str, dict[str, StagedFile]] = {}
        self._refused: dict[str, list[RefusedFile]] = {}
        self._sources: list[dict[str, Any]] = []

    @property
    def snapshot_id(self) -> str:
        """The id the snapshot will have once committed."""
        return str(self._manifest["snapshot_id"])

    def __enter__(self) -> SnapshotWriter:
        """Return the writer; leaving the block uncommitted discards the snapshot."""
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        """Abort an uncommitted snapshot; without an exception, also raise about it."""
        if self._lock is None:
            return
        self.abort()
        if kind is None:
            raise SnapshotError(
                f"snapshot {self.snapshot_id} was neither committed nor aborted; "
                "it has been discarded"
            )

    def stage_files(
        self, source_name: str, source_folder: Path, files: list[Path]
    ) -> Path:
        """Copy evidence files into the snapshot, hashing them; return their folder.

        Paths may be absolute (inside ``source_folder``) or relative to it; the
        layout below the source folder is kept. A symlinked file, or a file below a
        symlinked folder, is not followed and not copied: it is logged as a
        warning, left out of the returned folder (so the collector reads the rest)
        and recorded under the source's ``refused_files`` by ``add_source``, which
        also marks the resources it may belong to as short of it.
        """
        self._check_open()
        if not _SOURCE_NAME.match(source_name):
            raise SnapshotError(
                f"source name {source_name!r} must match {_SOURCE_NAME.pattern}"
            )
        if source_name in self._staged:
            raise SnapshotError(f"source {source_name!r} was already staged")
        target = self._staging / EVIDENCE_DIR / source_name
        target.mkdir(parents=True)
        try:
            folder = Path(source_folder)
            staged, refused = _stage_all(source_name, folder, files, target)
        except BaseException:
            # Leave no partial copy: the caller may still record the source as failed.
            shutil.rmtree(target, ignore_errors=True)
            raise
        self._staged[source_name] = staged
        self._refused[source_name] = refused
        logger.info(
            "evidence staged source=%s files=%d refused=%d",
            source_name,
            len(staged),
            len(refused),
        )
        return target

    def add_source(
        self,
        data: SourceData,
        *,
        mode: str,
        origin: str,
        query_window: dict[str, str | None] | None = None,
    ) -> None:
        """Record a collected source (even a failed one) in the manifest.

        Files that staging refused are recorded too, and ``data`` is updated in
        place so the gap they leave shows in the evaluation as well: see
        ``note_refused_files``.
        """
        self._check_open()
        if any(source["name"] == data.name for source in self._sources):
            raise SnapshotError(f"source {data.name!r} was already added")
        refused = self._refused.get(data.name, [])
        note_refused_files(data, refused)
        entry = source_entry(
            data,
            mode=mode,
            origin=origin,
            query_window=query_window,
            staged=self._staged.get(data.name, {}),
            refused=refused,
        )
        self._sources.append(entry)

    def commit(self) -> Snapshot:
        """Write the manifest, publish the snapshot, update HEAD and the index."""
        self._check_open()
        missing = sorted(set(self._staged) - {s["name"] for s in self._sources})
        if missing:
            raise SnapshotError(
                f"snapshot {self.snapshot_id}: staged sources {', '.join(missing)} "
                "were never added with add_source"
            )
        manifest = {**self._manifest, "sources": self._sources}
        try:
            _write_new(self._staging / MANIFEST_NAME, dump_manifest(manifest))
            _seal(self._staging)
            snapshot = self._store._publish(self._staging, self.snapshot_id)
        except OSError as err:
            raise SnapshotError(
                f"snapshot {self.snapshot_id}: cannot write {err.filename}: "
                f"{err.strerror}"
            ) from err
        self._finish()
        logger.info(
            "snapshot committed snapshot=%s sources=%d manifest_sha256=%s",
            snapshot.id,
            len(self._sources),
            snapshot.manifest_sha256,
        )
        try:
            self._store.index.record_snapshot(snapshot)
        except SnapshotError as err:
            raise SnapshotError(
                f"snapshot {snapshot.id} is committed in {self._store.root}, but the "
                f"index could not record it: {err}"
            ) from err
        return snapshot

    def abort(self) -> None:
        """Discard the staged snapshot and release the store lock."""
        if self._lock is None:
            return
        shutil.rmtree(self._staging, ignore_errors=True)
        self._finish()
        logger.info("snapshot aborted snapshot=%s", self.snapshot_id)

    def _finish(self) -> None:
        if self._lock is not None:
            _release_lock(self._lock)
            self._lock = None

    def _check_open(self) -> None:
        if self._lock is None:
            raise SnapshotError(
                f"snapshot {self.snapshot_id} is already committed or aborted"
            )


def _order_chain(snapshots: dict[str, Snapshot], root: Path) -> list[Snapshot]:
    """Put snapshots in chain order, or raise if they are not one simple chain."""
    children: dict[str | None, list[str]] = {}
    for snapshot in snapshots.values():
        if snapshot.previous_id is not None and snapshot.previous_id not in snapshots:
            raise SnapshotError(
                f"snapshot {snapshot.id} chains to {snapshot.previous_id}, which is "
                f"not in {root}; the chain is broken (run verify)"
            )
        children.setdefault(snapshot.previous_id, []).append(snapshot.id)
    for parent, kids in children.items():
        if len(kids) > 1:
            raise SnapshotError(
                f"snapshots {', '.join(sorted(kids))} all chain to "
                f"{parent or 'nothing (first snapshot)'}; the chain forks (run verify)"
            )
    ordered: list[Snapshot] = []
    cursor: str | None = None
    while cursor in children:
        cursor = children[cursor][0]
        ordered.append(snapshots[cursor])
    if len(ordered) != len(snapshots):
        raise SnapshotError(f"snapshots in {root} do not form one chain (run verify)")
    return ordered


def _collection_time(
    collected_at: datetime | None, previous: Snapshot | None
) -> datetime:
    moment = collected_at or datetime.now(UTC)
    try:
        canonical = to_canonical(moment)
    except TimestampError as err:
        raise SnapshotError(f"collected_at: {err}; expected an aware datetime") from err
    if previous is not None and canonical < previous.collected_at:
        raise SnapshotError(
            f"collected_at {canonical} is before {previous.collected_at} of the "
            f"previous snapshot {previous.id}; check the clock"
        )
    return from_canonical(canonical)


def _base_manifest(
    snapshot_id: str,
    previous: Snapshot | None,
    *,
    organisation: str,
    period: dict[str, str],
    tool_version: str,
    moment: datetime,
) -> dict[str, Any]:
    if not all(isinstance(value, str) for value in period.values()):
        raise SnapshotError(f"period {period!r}: every value must be a string")
    return {
        "schema": SCHEMA,
        "snapshot_id": snapshot_id,
        "tool_version": tool_version,
        "collected_at": to_canonical(moment),
        "organisation": organisation,
        "period": dict(period),
        "previous_snapshot_id": previous.id if previous else None,
        "previous_manifest_sha256": previous.manifest_sha256 if previous else None,
        "sources": [],
    }


def note_refused_files(data: SourceData, refused: Sequence[RefusedFile]) -> None:
    """Mark the resources a refused file may belong to, so the gap is not hidden.

    A refused file is matched to resources by the file patterns its collector
    declares (``ResourceSpec.files``). A resource read from other files too becomes
    incomplete; one that had only this file is already missing and keeps that
    status, with a warning that says why, and counts as required: an optional file
    that was there but could not be taken is a known gap, not an absent extra.
    When no declared pattern matches, every resource of the source is marked,
    since any of them may be short.

    Known shortcoming: ``required`` is not kept in the manifest, so a later
    re-read of the snapshot sees such an optional resource as merely absent; the
    recorded warning and the manifest's ``refused_files`` still show the gap.
    """
    if data.status is SourceStatus.FAILED:
        return
    for file in refused:
        warning = (
            f"{file.path} {file.reason}; it was not copied into the snapshot, so "
            "its records are not in the evidence"
        )
        for name in _resources_for(data, file.path):
            resource = data.resources[name]
            resource.mark_incomplete(warning)
            resource.required = True
        if not data.resources:
            data.status = SourceStatus.INCOMPLETE


def _resources_for(data: SourceData, path: str) -> builtins.list[str]:
    """Return the names of the resources of ``data`` that may read ``path``."""
    collector = registry().get(data.type)
    specs = collector.resources if collector is not None else ()
    matched = [
        spec.name
        for spec in specs
        if any(fnmatch.fnmatchcase(path, _glob(pattern)) for pattern in spec.files)
    ]
    if not matched:
        return builtins.list(data.resources)
    return [name for name in matched if name in data.resources]


def _glob(pattern: str) -> str:
    """Turn a declared file pattern (``<issueKey>.page-*.json``) into a glob."""
    return _PLACEHOLDER.sub("*", pattern)


def _stage_all(
    source_name: str, folder: Path, files: list[Path], target: Path
) -> tuple[dict[str, StagedFile], builtins.list[RefusedFile]]:
    staged: dict[str, StagedFile] = {}
    refused: builtins.list[RefusedFile] = []
    seen: set[str] = set()
    for file in files:
        relative = _relative_path(source_name, folder, Path(file))
        if relative in seen:
            raise SnapshotError(f"source {source_name!r}: file {relative} listed twice")
        seen.add(relative)
        outcome = _stage_one(source_name, folder, relative, target)
        if isinstance(outcome, RefusedFile):
            logger.warning(
                "evidence file refused source=%s file=%s reason=%s",
                source_name,
                relative,
                outcome.reason,
            )
            refused.append(outcome)
        else:
            staged[relative] = outcome
    return staged, refused


def _relative_path(source_name: str, folder: Path, file: Path) -> str:
    """Return a file's path below the source folder, with forward slashes."""
    if file.is_absolute():
        try:
            file = file.relative_to(folder)
        except ValueError as err:
            raise SnapshotError(
                f"source {source_name!r}: file {file} is not inside the source "
                f"folder {folder}"
            ) from err
    parts = PurePosixPath(file.as_posix()).parts
    if not parts or any(part in ("..", ".", "") for part in parts):
        raise SnapshotError(
            f"source {source_name!r}: file {file} must be a plain path inside {folder}"
        )
    return "/".join(parts)


def _stage_one(
    source_name: str, folder: Path, relative: str, target: Path
) -> StagedFile | RefusedFile:
    """Copy one file into staging without following symlinks, hashing as it goes.

    Return a ``RefusedFile`` instead for a symlink (or a file below a symlinked
    folder); raise ``SnapshotError`` for a file that cannot be read.
    """
    linked_folder = _symlinked_parent(folder, relative)
    if linked_folder is not None:
        reason = (
            f"is below the folder {linked_folder}, which is a symlink; symlinks are "
            "not followed"
        )
        return RefusedFile(relative, reason)
    try:
        reader = os.open(folder / relative, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError as err:
        if err.errno == errno.ELOOP:
            return RefusedFile(relative, _symlink_reason(folder / relative))
        raise SnapshotError(
            f"source {source_name!r}: cannot stage file {relative}: {err.strerror}; "
            "expected a readable regular file"
        ) from err
    destination = target / relative
    destination.parent.mkdir(parents=True, exist_ok=True)
    with os.fdopen(reader, "rb") as source:
        if not stat.S_ISREG(os.fstat(source.fileno()).st_mode):
            raise SnapshotError(
                f"source {source_name!r}: file {relative} is not a regular file"
            )
        try:
            sha256, size = _copy_hashing(source, destination)
        except OSError as err:
            raise SnapshotError(
                f"source {source_name!r}: cannot copy file {relative} into the "
                f"snapshot: {err.strerror}"
            ) from err
    return StagedFile(f"{EVIDENCE_DIR}/{source_name}/{relative}", sha256, size)


def _symlinked_parent(folder: Path, relative: str) -> str | None:
    """Return the first folder in ``relative``'s path that is a symlink, if any."""
    # Known shortcoming: folders are checked before the file is opened, so a folder
    # swapped for a symlink in between would be followed. The copy's hash is still
    # what the manifest records, so verify stays truthful about what was stored.
    current = folder
    for part in relative.split("/")[:-1]:
        current = current / part
        if current.is_symlink():
            return current.relative_to(folder).as_posix()
    return None


def _symlink_reason(path: Path) -> str:
    try:
        target = os.readlink(path)
    except OSError:
        return "is a symlink; symlinks are not followed"
    return f"is a symlink to {target}; symlinks are not followed"


def _copy_hashing(source: BinaryIO, destination: Path) -> tuple[str, int]:
    sha256 = hashlib.sha256()
    size = 0
    with open(destination, "xb") as copy:
        while chunk := source.read(CHUNK_SIZE):
            sha256.update(chunk)
            size += len(chunk)
            copy.write(chunk)
        copy.flush()
        os.fsync(copy.fileno())
    return sha256.hexdigest(), size


def _write_new(path: Path, data: bytes) -> None:
    with open(path, "xb") as file:
        file.write(data)
        file.flush()
        os.fsync(file.fileno())


def _write_atomically(path: Path, data: bytes) -> None:
    temporary = path.with_name(f".{path.name}.tmp-{secrets.token_hex(4)}")
    _write_new(temporary, data)
    os.replace(temporary, path)
    _fsync_dir(path.parent)


def _seal(staging: Path) -> None:
    """Make every staged file read-only and flush the folder entries to disk."""
    for folder, _dirs, names in os.walk(staging, topdown=False):
        for name in names:
            os.chmod(Path(folder) / name, _READ_ONLY)
        _fsync_dir(Path(folder))


def _fsync_dir(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _acquire_lock(path: Path) -> int:
    # Fails at once rather than waiting: a second run is told to retry, never queued
    # behind a run that may hang. Known shortcoming: flock is advisory and does not
    # work across hosts on some network file systems (NFS without lockd); a store
    # shared between machines can then fork, which list() and verify report.
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError as err:
        os.close(descriptor)
        raise SnapshotError(
            f"another evidencekit run holds the store lock {path}; wait for it to "
            "finish (one snapshot is written at a time so the chain cannot fork)"
        ) from err
    return descriptor


def _release_lock(descriptor: int) -> None:
    with contextlib.suppress(OSError):
        fcntl.flock(descriptor, fcntl.LOCK_UN)
    os.close(descriptor)
