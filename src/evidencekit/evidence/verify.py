"""Check that stored snapshots are exactly as they were committed.

Each file is re-hashed against its manifest entry, files that appeared or vanished are
reported, and every snapshot's link to the previous one is re-computed from the bytes
of the previous ``manifest.json``. The run index, which records every snapshot and
its manifest hash at commit, is compared with what is on disk: a snapshot it knows
that is gone, a snapshot folder it does not know, or an index that is itself gone
are problems. Verify never stops at the first problem: it reports them all, and it
never follows a symlink.
"""

from __future__ import annotations

import hashlib
import logging
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evidencekit.errors import SnapshotError
from evidencekit.evidence.manifest import (
    MANIFEST_NAME,
    digest,
    manifest_files,
    parse_manifest,
)
from evidencekit.evidence.snapshot import (
    CHUNK_SIZE,
    INDEX_NAME,
    SNAPSHOT_ID,
    SNAPSHOTS_DIR,
    STAGING_PREFIX,
    SnapshotStore,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class VerifyProblem:
    """One thing that does not match what was committed."""

    kind: str  # "altered" | "missing" | "extra" | "chain" | "manifest" | "index"
    snapshot_id: str
    path: str | None
    detail: str


@dataclass(frozen=True)
class VerifyReport:
    """The snapshots checked and every problem found."""

    checked: list[str]
    problems: list[VerifyProblem] = field(default_factory=list)
    # Remarks that are not problems, e.g. what a one-snapshot check leaves out.
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True only when at least one snapshot was checked and nothing is wrong."""
        return bool(self.checked) and not self.problems


@dataclass
class _Loaded:
    """What verify read of one snapshot folder."""

    id: str
    manifest: dict[str, Any] | None  # None when it does not parse
    sha256: str | None  # of the manifest.json bytes, None when unreadable


def verify_snapshot(
    store: SnapshotStore, snapshot_id: str | None = None
) -> VerifyReport:
    """Verify one snapshot, or (with None) every snapshot and the chain between them."""
    whole_store = snapshot_id is None
    ids = store.ids() if snapshot_id is None else [_known(store, snapshot_id)]
    problems: list[VerifyProblem] = []
    loaded = {each: _load(store, each, problems) for each in ids}
    for snapshot in loaded.values():
        if snapshot.manifest is not None:
            folder = store.snapshots_dir / snapshot.id
            problems.extend(_check_files(folder, snapshot.id, snapshot.manifest))
            problems.extend(_check_link(store, snapshot.id, snapshot.manifest))
    problems.extend(_check_index(store, loaded, whole_store=whole_store))
    notes: list[str] = []
    if whole_store:
        problems.extend(_check_shape(store, loaded))
        problems.extend(_check_store_folder(store))
    else:
        notes.append(
            f"only snapshot {snapshot_id} was checked: HEAD, the snapshots after it "
            "and the rest of the store were not (verify the whole store for those)"
        )
    logger.info("verify done snapshots=%d problems=%d", len(ids), len(problems))
    return VerifyReport(checked=ids, problems=problems, notes=notes)


def _known(store: SnapshotStore, snapshot_id: str) -> str:
    if snapshot_id not in store.ids():
        raise SnapshotError(f"no snapshot {snapshot_id!r} in {store.root}")
    return snapshot_id


def _load(
    store: SnapshotStore, snapshot_id: str, problems: list[VerifyProblem]
) -> _Loaded:
    path = store.snapshots_dir / snapshot_id / MANIFEST_NAME
    try:
        data = _read_no_follow(path)
    except OSError as err:
        detail = f"cannot read {MANIFEST_NAME}: {err.strerror or err}"
        problems.append(VerifyProblem("manifest", snapshot_id, MANIFEST_NAME, detail))
        return _Loaded(snapshot_id, None, None)
    try:
        manifest = parse_manifest(data, f"snapshot {snapshot_id} {MANIFEST_NAME}")
    except SnapshotError as err:
        problems.append(VerifyProblem("manifest", snapshot_id, MANIFEST_NAME, str(err)))
        return _Loaded(snapshot_id, None, digest(data))
    if manifest["snapshot_id"] != snapshot_id:
        detail = (
            f"names snapshot {manifest['snapshot_id']!r}, expected the folder name "
            f"{snapshot_id!r}"
        )
        problems.append(VerifyProblem("manifest", snapshot_id, MANIFEST_NAME, detail))
    return _Loaded(snapshot_id, manifest, digest(data))


def _check_files(
    folder: Path, snapshot_id: str, manifest: dict[str, Any]
) -> list[VerifyProblem]:
    """Compare the files on disk with the manifest's list."""
    expected = manifest_files(manifest)
    found = _walk(folder)
    problems = [
        VerifyProblem(
            "missing", snapshot_id, path, "listed in the manifest, not on disk"
        )
        for path in sorted(set(expected) - set(found))
    ]
    for path, mode in sorted(found.items()):
        entry = expected.get(path)
        if path == MANIFEST_NAME:
            continue
        if entry is None:
            problems.append(VerifyProblem("extra", snapshot_id, path, _extra(mode)))
        elif not stat.S_ISREG(mode):
            detail = "listed in the manifest but is not a regular file (not followed)"
            problems.append(VerifyProblem("altered", snapshot_id, path, detail))
        else:
            problems.extend(_check_content(folder, path, entry, snapshot_id))
    return problems


def _walk(folder: Path) -> dict[str, int]:
    """Map every entry below a folder to its lstat mode, following no symlink."""
    found: dict[str, int] = {}
    pending = [folder]
    while pending:
        current = pending.pop()
        for entry in os.scandir(current):
            relative = Path(entry.path).relative_to(folder).as_posix()
            mode = entry.stat(follow_symlinks=False).st_mode
            if stat.S_ISDIR(mode):
                pending.append(Path(entry.path))
            else:
                found[relative] = mode
    return found


def _extra(mode: int) -> str:
    if stat.S_ISLNK(mode):
        return "a symlink that is not in the manifest (not followed)"
    return "on disk but not listed in the manifest"


def _check_content(
    folder: Path, path: str, entry: dict[str, Any], snapshot_id: str
) -> list[VerifyProblem]:
    sha256, size = _hash_no_follow(folder / path)
    if sha256 == entry["sha256"] and size == entry["size"]:
        return []
    detail = (
        f"SHA-256 {sha256} and size {size} on disk; the manifest records "
        f"{entry['sha256']} and {entry['size']}"
    )
    return [VerifyProblem("altered", snapshot_id, path, detail)]


def _check_link(
    store: SnapshotStore, snapshot_id: str, manifest: dict[str, Any]
) -> list[VerifyProblem]:
    """Check that a snapshot's recorded previous-manifest hash matches the bytes."""
    previous_id = manifest.get("previous_snapshot_id")
    recorded = manifest.get("previous_manifest_sha256")
    if previous_id is None:
        if recorded is None:
            return []
        return [_chain(snapshot_id, "has a previous manifest hash but no previous id")]
    path = store.snapshots_dir / str(previous_id) / MANIFEST_NAME
    if not SNAPSHOT_ID.match(str(previous_id)) or not path.parent.is_dir():
        return [_chain(snapshot_id, f"previous snapshot {previous_id} is missing")]
    try:
        actual = digest(_read_no_follow(path))
    except OSError as err:
        return [
            _chain(snapshot_id, f"cannot read {previous_id}/{MANIFEST_NAME}: {err}")
        ]
    if actual == recorded:
        return []
    detail = (
        f"records previous_manifest_sha256 {recorded}, but {previous_id}/"
        f"{MANIFEST_NAME} hashes to {actual}: the previous manifest was changed"
    )
    return [_chain(snapshot_id, detail)]


def _check_shape(
    store: SnapshotStore, loaded: dict[str, _Loaded]
) -> list[VerifyProblem]:
    """Report forks, a second first snapshot, and a HEAD that is not the newest."""
    children: dict[str | None, list[str]] = {}
    for snapshot in loaded.values():
        if snapshot.manifest is not None:
            previous = snapshot.manifest.get("previous_snapshot_id")
            children.setdefault(previous, []).append(snapshot.id)
    problems = [
        _chain(
            kids[-1], f"snapshots {', '.join(kids)} all chain to {parent or 'nothing'}"
        )
        for parent, kids in sorted(children.items(), key=lambda item: str(item[0]))
        if len(kids) > 1
    ]
    problems.extend(_check_head(store.head(), loaded, set(children)))
    return problems


def _check_head(
    head: str | None, loaded: dict[str, _Loaded], parents: set[str | None]
) -> list[VerifyProblem]:
    """Check that HEAD names a snapshot on disk that no other snapshot chains to."""
    tips = ", ".join(sorted(set(loaded) - parents)) or "none (the store is empty)"
    if head is None:
        if not loaded:
            return []
        detail = f"HEAD is missing or empty, but the newest snapshot(s) are {tips}"
    elif head not in loaded:
        detail = (
            f"HEAD names {head}, which is not in the store (deleted or moved); the "
            f"newest snapshot(s) on disk are {tips}"
        )
    elif head in parents:
        detail = f"HEAD names {head}, but the newest snapshot(s) are {tips}"
    else:
        return []
    return [VerifyProblem("chain", head or "HEAD", "HEAD", detail)]


def _check_index(
    store: SnapshotStore, loaded: dict[str, _Loaded], *, whole_store: bool
) -> list[VerifyProblem]:
    """Compare the snapshots on disk with those the index recorded at commit.

    This is what protects the newest snapshot, which no later snapshot chains to:
    its manifest hash is compared with the recorded one, and a deleted newest
    snapshot is still known to the index. Commit records every snapshot, so a
    store with snapshots and no index has lost it. Known shortcomings: the index
    itself is not tamper-evident, so someone who can rewrite it can hide an edit;
    and reading an index file that lacks the tables creates them (empty), so every
    snapshot is then reported unknown to it.
    """
    newest = max(loaded, default=None)
    if not store.has_index():
        if newest is None:
            return []  # an empty store: the first commit creates the index
        whose = "the newest manifest" if whole_store else "this snapshot's manifest"
        detail = (
            f"the run index {INDEX_NAME} is missing, so {whose} cannot be checked "
            "against it"
        )
        return [VerifyProblem("index", newest, INDEX_NAME, detail)]
    try:
        recorded = store.index.recorded_snapshots()
    except SnapshotError as err:
        where = INDEX_NAME if store.index_is_default else None
        detail = f"the run index cannot be read, so no manifest is checked: {err}"
        return [VerifyProblem("index", newest or "index", where, detail)]
    problems: list[VerifyProblem] = []
    for snapshot in loaded.values():
        problems.extend(_index_mismatch(snapshot, recorded.get(snapshot.id)))
    if whole_store:
        gone = sorted(set(recorded) - set(loaded))  # loaded is every id on disk
        problems.extend(_deleted(snapshot_id) for snapshot_id in gone)
    return problems


def _index_mismatch(snapshot: _Loaded, recorded: str | None) -> list[VerifyProblem]:
    if recorded is None:
        detail = (
            "the run index has no record of this snapshot: this store did not commit "
            "it (a copied or restored folder), or its commit could not reach the "
            "index; its manifest cannot be checked against the index"
        )
        where = f"{SNAPSHOTS_DIR}/{snapshot.id}"
        return [VerifyProblem("extra", snapshot.id, where, detail)]
    if snapshot.manifest is None or snapshot.sha256 == recorded:
        return []
    detail = (
        f"hashes to {snapshot.sha256}, but the index recorded {recorded} at commit: "
        "the manifest was changed"
    )
    return [VerifyProblem("manifest", snapshot.id, MANIFEST_NAME, detail)]


def _deleted(snapshot_id: str) -> VerifyProblem:
    detail = (
        "the run index recorded this snapshot at commit, but its folder is not in "
        "the store: it was deleted or moved"
    )
    return VerifyProblem(
        "missing", snapshot_id, f"{SNAPSHOTS_DIR}/{snapshot_id}", detail
    )


def _check_store_folder(store: SnapshotStore) -> list[VerifyProblem]:
    """Report leftovers of interrupted runs and anything else in snapshots/.

    Staging folders are never deleted automatically (a person should see that a run
    died); once reported they can be removed by hand.
    """
    if not store.snapshots_dir.is_dir():
        return []
    problems = []
    for entry in sorted(os.scandir(store.snapshots_dir), key=lambda item: item.name):
        if SNAPSHOT_ID.match(entry.name) and entry.is_dir(follow_symlinks=False):
            continue
        where = f"{store.snapshots_dir.name}/{entry.name}"
        if entry.name.startswith(STAGING_PREFIX):
            name = entry.name.removeprefix(STAGING_PREFIX)
            detail = (
                "incomplete leftover of a run that stopped before commit (or is still "
                "running); it is not a snapshot and not part of the chain"
            )
            problems.append(VerifyProblem("extra", name, where, detail))
        else:
            detail = "not a snapshot folder"
            problems.append(VerifyProblem("extra", entry.name, where, detail))
    return problems


def _chain(snapshot_id: str, detail: str) -> VerifyProblem:
    return VerifyProblem("chain", snapshot_id, MANIFEST_NAME, detail)


def _read_no_follow(path: Path) -> bytes:
    descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(descriptor, "rb") as file:
        return file.read()


def _hash_no_follow(path: Path) -> tuple[str, int]:
    sha256 = hashlib.sha256()
    size = 0
    descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(descriptor, "rb") as file:
        while chunk := file.read(CHUNK_SIZE):
            sha256.update(chunk)
            size += len(chunk)
    return sha256.hexdigest(), size
