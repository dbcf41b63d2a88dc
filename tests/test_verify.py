"""Verify: tampered, missing and extra files, broken chains and damaged manifests."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from evidencekit.collectors.base import FileStats, ResourceData, SourceData
from evidencekit.errors import SnapshotError
from evidencekit.evidence.snapshot import Snapshot, SnapshotStore
from evidencekit.evidence.verify import VerifyProblem, verify_snapshot

START = datetime(2026, 10, 1, 6, 0, tzinfo=UTC)

CHANGE_REQUESTS = {
    "result": [
        {
            "sys_id": "a9e9c33dc61122760072455df62663d2",
            "number": "CHG0040007",
            "state": {"value": "3", "display_value": "Closed"},
            "type": "normal",
            "risk": "3",
            "short_description": (
                'Octopus: Deploy "Payments API" version 4.2.0 to "Production"'
            ),
            "start_date": "2026-09-02 07:00:00",
            "end_date": "2026-09-02 09:00:00",
        },
        {
            "sys_id": "b1f4c33dc61122760072455df6266e10",
            "number": "CHG0040011",
            "state": "-5",
            "type": "emergency",
            "risk": "2",
            "short_description": "Hotfix ledger rounding",
            "start_date": "2026-09-09 22:15:00",
            "end_date": "",
        },
    ]
}

TASKS = {
    "ItemType": "Task",
    "TotalResults": 1,
    "Items": [
        {
            "Id": "ServerTasks-55210",
            "Name": "Deploy",
            "Description": "Deploy Payments API release 4.2.0 to Production",
            "State": "Success",
            "QueueTime": "2026-09-02T07:05:00.000+00:00",
            "StartTime": "2026-09-02T07:05:02.113+00:00",
            "CompletedTime": "2026-09-02T07:09:40.870+00:00",
            "FinishedSuccessfully": True,
            "IsCompleted": True,
            "ErrorMessage": "",
            "SpaceId": "Spaces-1",
        }
    ],
}


def _export(folder: Path) -> dict[str, list[Path]]:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "snow").mkdir(exist_ok=True)
    (folder / "octo" / "tasks").mkdir(parents=True, exist_ok=True)
    (folder / "snow" / "change_request.json").write_text(json.dumps(CHANGE_REQUESTS))
    (folder / "octo" / "tasks" / "page-0001.json").write_text(json.dumps(TASKS))
    return {
        "servicenow": [folder / "snow" / "change_request.json"],
        "octopus": [folder / "octo" / "tasks" / "page-0001.json"],
    }


def _source(name: str, kind: str, staged: Path) -> SourceData:
    """Read a staged folder into SourceData with per-file counts."""
    resources = {}
    for path in sorted(p for p in staged.rglob("*.json")):
        body = json.loads(path.read_text())
        items = body.get("result") or body.get("Items")
        key = "sys_id" if kind == "servicenow" else "Id"
        resource = ResourceData(name=path.stem if kind == "servicenow" else "tasks")
        resource.records = {item[key]: item for item in items}
        relative = path.relative_to(staged).as_posix()
        resource.files.append(FileStats(path=relative, records=len(items)))
        resources[resource.name] = resource
    return SourceData(name=name, type=kind, location=str(staged), resources=resources)


def _commit(store: SnapshotStore, export: Path, moment: datetime) -> Snapshot:
    files = _export(export)
    with store.begin(
        organisation="Contoso Insurance",
        period={"start": "2026-07-01", "end": "2026-09-30"},
        tool_version="0.1.0",
        collected_at=moment,
    ) as writer:
        for name, kind, folder in (
            ("servicenow", "servicenow", export / "snow"),
            ("octopus", "octopus", export / "octo"),
        ):
            staged = writer.stage_files(name, folder, files[name])
            writer.add_source(
                _source(name, kind, staged), mode="export", origin=str(folder)
            )
        return writer.commit()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SnapshotStore]:
    opened = SnapshotStore(tmp_path / "store")
    yield opened
    opened.close()


@pytest.fixture
def chain(store: SnapshotStore, tmp_path: Path) -> list[Snapshot]:
    return [
        _commit(store, tmp_path / f"export-{n}", START + timedelta(days=n))
        for n in range(3)
    ]


def _writable(path: Path) -> Path:
    path.chmod(0o644)
    return path


def _remove(snapshot: Snapshot) -> None:
    """Delete a committed (read-only) snapshot folder, as `rm -rf` would."""
    for path in snapshot.path.rglob("*"):
        if path.is_file():
            _writable(path)
    shutil.rmtree(snapshot.path)


def _kinds(problems: list[VerifyProblem]) -> list[tuple[str, str, str | None]]:
    return sorted((p.kind, p.snapshot_id, p.path) for p in problems)


def test_untouched_store_verifies(store: SnapshotStore, chain: list[Snapshot]) -> None:
    report = verify_snapshot(store)

    assert report.checked == [snapshot.id for snapshot in chain]
    assert report.problems == []
    assert report.notes == []
    assert report.ok


def test_tampered_file_is_altered(store: SnapshotStore, chain: list[Snapshot]) -> None:
    path = _writable(chain[1].path / "evidence/servicenow/change_request.json")
    path.write_text(path.read_text().replace('"risk": "2"', '"risk": "4"'))

    report = verify_snapshot(store)

    assert _kinds(report.problems) == [
        ("altered", chain[1].id, "evidence/servicenow/change_request.json")
    ]
    assert "manifest records" in report.problems[0].detail
    assert not report.ok
    assert verify_snapshot(store, chain[0].id).ok


def test_truncated_file_is_altered(store: SnapshotStore, chain: list[Snapshot]) -> None:
    path = _writable(chain[0].path / "evidence/octopus/tasks/page-0001.json")
    path.write_bytes(path.read_bytes()[:-10])

    report = verify_snapshot(store, chain[0].id)

    assert report.checked == [chain[0].id]
    assert _kinds(report.problems) == [
        ("altered", chain[0].id, "evidence/octopus/tasks/page-0001.json")
    ]


def test_deleted_file_is_missing(store: SnapshotStore, chain: list[Snapshot]) -> None:
    (chain[2].path / "evidence/octopus/tasks/page-0001.json").unlink()

    report = verify_snapshot(store)

    assert _kinds(report.problems) == [
        ("missing", chain[2].id, "evidence/octopus/tasks/page-0001.json")
    ]


def test_added_file_and_symlink_are_extra(
    store: SnapshotStore, chain: list[Snapshot], tmp_path: Path
) -> None:
    folder = chain[0].path / "evidence/octopus"
    (folder / "deployments.json").write_text('{"Items": []}')
    (folder / "users.json").symlink_to(tmp_path / "export-0/snow/change_request.json")

    report = verify_snapshot(store)

    assert _kinds(report.problems) == [
        ("extra", chain[0].id, "evidence/octopus/deployments.json"),
        ("extra", chain[0].id, "evidence/octopus/users.json"),
    ]
    assert "symlink" in report.problems[1].detail


def test_evidence_file_replaced_by_symlink_is_not_followed(
    store: SnapshotStore, chain: list[Snapshot], tmp_path: Path
) -> None:
    original = chain[1].path / "evidence/servicenow/change_request.json"
    copy = tmp_path / "identical.json"
    shutil.copyfile(original, copy)
    original.unlink()
    original.symlink_to(copy)  # same bytes, but no longer the stored file

    report = verify_snapshot(store)

    assert _kinds(report.problems) == [
        ("altered", chain[1].id, "evidence/servicenow/change_request.json")
    ]


def test_edited_previous_manifest_breaks_the_chain(
    store: SnapshotStore, chain: list[Snapshot]
) -> None:
    path = _writable(chain[0].path / "manifest.json")
    manifest = json.loads(path.read_text())
    manifest["sources"][0]["status"] = "complete"
    manifest["organisation"] = "Contoso Insurance plc"
    path.write_text(json.dumps(manifest, sort_keys=True, indent=2) + "\n")

    report = verify_snapshot(store)

    assert _kinds(report.problems) == [
        ("chain", chain[1].id, "manifest.json"),
        ("manifest", chain[0].id, "manifest.json"),
    ]
    chain_problem = next(p for p in report.problems if p.kind == "chain")
    assert "previous manifest was changed" in chain_problem.detail


def test_removed_previous_snapshot_breaks_the_chain(
    store: SnapshotStore, chain: list[Snapshot]
) -> None:
    for path in chain[1].path.rglob("*"):
        if path.is_file():
            _writable(path)
    shutil.rmtree(chain[1].path)

    report = verify_snapshot(store)

    assert report.checked == [chain[0].id, chain[2].id]
    assert _kinds(report.problems) == [
        ("chain", chain[2].id, "manifest.json"),
        ("missing", chain[1].id, f"snapshots/{chain[1].id}"),
    ]
    assert f"previous snapshot {chain[1].id} is missing" in report.problems[0].detail


def test_manifest_that_does_not_parse(
    store: SnapshotStore, chain: list[Snapshot]
) -> None:
    path = _writable(chain[1].path / "manifest.json")
    path.write_text(path.read_text()[:200])

    report = verify_snapshot(store)

    assert _kinds(report.problems) == [
        ("chain", chain[2].id, "manifest.json"),
        ("manifest", chain[1].id, "manifest.json"),
    ]
    manifest_problem = next(p for p in report.problems if p.kind == "manifest")
    assert "not valid UTF-8 JSON" in manifest_problem.detail


def test_edited_newest_manifest_is_caught_by_the_index(
    store: SnapshotStore, chain: list[Snapshot]
) -> None:
    path = _writable(chain[2].path / "manifest.json")
    path.write_text(path.read_text().replace("Contoso Insurance", "Contoso Re"))

    report = verify_snapshot(store)

    assert _kinds(report.problems) == [("manifest", chain[2].id, "manifest.json")]
    assert "index recorded" in report.problems[0].detail


def test_a_missing_index_is_a_problem(
    store: SnapshotStore, chain: list[Snapshot]
) -> None:
    store.close()
    (store.root / "index.sqlite").unlink()

    report = verify_snapshot(store)

    assert _kinds(report.problems) == [("index", chain[2].id, "index.sqlite")]
    assert report.problems[0].detail == (
        "the run index index.sqlite is missing, so the newest manifest cannot be "
        "checked against it"
    )
    assert report.notes == []
    assert not report.ok
    assert not (store.root / "index.sqlite").exists()  # verify did not create one


def test_a_missing_index_fails_a_one_snapshot_check(
    store: SnapshotStore, chain: list[Snapshot]
) -> None:
    store.close()
    (store.root / "index.sqlite").unlink()

    report = verify_snapshot(store, chain[0].id)

    assert _kinds(report.problems) == [("index", chain[0].id, "index.sqlite")]
    assert "this snapshot's manifest cannot be checked" in report.problems[0].detail


def test_an_unreadable_index_is_a_problem(
    store: SnapshotStore, chain: list[Snapshot]
) -> None:
    store.close()
    (store.root / "index.sqlite").write_bytes(b"Q3 run log, see the wiki\n" * 200)

    report = verify_snapshot(store)

    assert _kinds(report.problems) == [("index", chain[2].id, "index.sqlite")]
    assert "the run index cannot be read" in report.problems[0].detail


def test_an_index_recreated_after_deletion_does_not_hide_the_old_snapshots(
    store: SnapshotStore, chain: list[Snapshot], tmp_path: Path
) -> None:
    store.close()
    (store.root / "index.sqlite").unlink()
    newest = _commit(store, tmp_path / "export-3", START + timedelta(days=3))

    report = verify_snapshot(store)

    assert _kinds(report.problems) == sorted(
        ("extra", snapshot.id, f"snapshots/{snapshot.id}") for snapshot in chain
    )
    assert "no record of this snapshot" in report.problems[0].detail
    assert verify_snapshot(store, newest.id).problems == []


def test_deleted_newest_snapshot_with_head_rewound_is_missing(
    store: SnapshotStore, chain: list[Snapshot]
) -> None:
    _remove(chain[2])
    (store.root / "HEAD").write_text(chain[1].id + "\n")

    report = verify_snapshot(store)

    assert report.checked == [chain[0].id, chain[1].id]
    assert _kinds(report.problems) == [
        ("missing", chain[2].id, f"snapshots/{chain[2].id}")
    ]
    assert report.problems[0].detail == (
        "the run index recorded this snapshot at commit, but its folder is not in "
        "the store: it was deleted or moved"
    )
    assert not report.ok


def test_deleting_every_snapshot_is_reported(
    store: SnapshotStore, chain: list[Snapshot]
) -> None:
    for snapshot in chain:
        _remove(snapshot)

    report = verify_snapshot(store)

    assert report.checked == []
    assert _kinds(report.problems) == sorted(
        [("chain", chain[2].id, "HEAD")]
        + [("missing", s.id, f"snapshots/{s.id}") for s in chain]
    )
    assert not report.ok


def test_head_naming_a_deleted_snapshot_is_reported(
    store: SnapshotStore, chain: list[Snapshot]
) -> None:
    _remove(chain[2])

    report = verify_snapshot(store)

    assert _kinds(report.problems) == [
        ("chain", chain[2].id, "HEAD"),
        ("missing", chain[2].id, f"snapshots/{chain[2].id}"),
    ]
    head_problem = next(p for p in report.problems if p.path == "HEAD")
    assert head_problem.detail == (
        f"HEAD names {chain[2].id}, which is not in the store (deleted or moved); "
        f"the newest snapshot(s) on disk are {chain[1].id}"
    )


def test_head_naming_an_unknown_snapshot_is_reported(
    store: SnapshotStore, chain: list[Snapshot]
) -> None:
    (store.root / "HEAD").write_text("20261005T060000Z-5e1f00\n")

    report = verify_snapshot(store)

    assert _kinds(report.problems) == [("chain", "20261005T060000Z-5e1f00", "HEAD")]
    assert "which is not in the store" in report.problems[0].detail


def test_missing_head_is_reported(store: SnapshotStore, chain: list[Snapshot]) -> None:
    (store.root / "HEAD").unlink()

    report = verify_snapshot(store)

    assert _kinds(report.problems) == [("chain", "HEAD", "HEAD")]
    assert report.problems[0].detail == (
        f"HEAD is missing or empty, but the newest snapshot(s) are {chain[2].id}"
    )


def test_stray_snapshot_from_another_store_is_reported(
    store: SnapshotStore, chain: list[Snapshot], tmp_path: Path
) -> None:
    other = SnapshotStore(tmp_path / "other-store")
    stray = _commit(other, tmp_path / "export-other", START + timedelta(days=9))
    other.close()
    shutil.copytree(stray.path, store.snapshots_dir / stray.id)

    report = verify_snapshot(store)

    assert _kinds(report.problems) == [
        ("chain", stray.id, "manifest.json"),
        ("extra", stray.id, f"snapshots/{stray.id}"),
    ]
    chain_problem = next(p for p in report.problems if p.kind == "chain")
    assert f"snapshots {chain[0].id}, {stray.id} all chain to nothing" in (
        chain_problem.detail
    )
    assert _kinds(verify_snapshot(store, stray.id).problems) == [
        ("extra", stray.id, f"snapshots/{stray.id}")
    ]


def test_stray_copy_of_a_snapshot_under_its_own_name_is_reported(
    store: SnapshotStore, chain: list[Snapshot]
) -> None:
    copy_id = chain[1].id[:-6] + "0c0c0c"
    shutil.copytree(chain[1].path, store.snapshots_dir / copy_id)

    report = verify_snapshot(store)

    assert _kinds(report.problems) == sorted(
        [
            ("chain", max(chain[1].id, copy_id), "manifest.json"),
            ("extra", copy_id, f"snapshots/{copy_id}"),
            ("manifest", copy_id, "manifest.json"),
        ]
    )
    manifest_problem = next(p for p in report.problems if p.kind == "manifest")
    assert f"names snapshot '{chain[1].id}'" in manifest_problem.detail


def test_one_snapshot_check_says_what_it_leaves_out(
    store: SnapshotStore, chain: list[Snapshot]
) -> None:
    report = verify_snapshot(store, chain[0].id)

    assert report.ok
    assert report.notes == [
        f"only snapshot {chain[0].id} was checked: HEAD, the snapshots after it and "
        "the rest of the store were not (verify the whole store for those)"
    ]


def test_fork_is_a_chain_problem(store: SnapshotStore, chain: list[Snapshot]) -> None:
    twin_id = chain[2].id[:-6] + "ffffff"
    twin = store.snapshots_dir / twin_id
    shutil.copytree(chain[2].path, twin)
    manifest_path = _writable(twin / "manifest.json")
    manifest = json.loads(manifest_path.read_text())
    manifest["snapshot_id"] = twin_id
    manifest_path.write_text(json.dumps(manifest, sort_keys=True))

    report = verify_snapshot(store)

    assert _kinds(report.problems) == [
        ("chain", twin_id, "manifest.json"),
        ("extra", twin_id, f"snapshots/{twin_id}"),
    ]
    chain_problem = next(p for p in report.problems if p.kind == "chain")
    assert f"{chain[2].id}, {twin_id} all chain to {chain[1].id}" in (
        chain_problem.detail
    )
    with pytest.raises(SnapshotError, match="chain forks"):
        store.list()


def test_head_pointing_back_is_reported(
    store: SnapshotStore, chain: list[Snapshot]
) -> None:
    (store.root / "HEAD").write_text(chain[1].id + "\n")

    report = verify_snapshot(store)

    assert [p.kind for p in report.problems] == ["chain"]
    assert f"HEAD names {chain[1].id}" in report.problems[0].detail
    assert store.latest() == store.get(chain[2].id)


def test_unknown_snapshot_id_raises(
    store: SnapshotStore, chain: list[Snapshot]
) -> None:
    with pytest.raises(SnapshotError, match="no snapshot '20990101T000000Z-000000'"):
        verify_snapshot(store, "20990101T000000Z-000000")


def test_empty_store_is_not_ok(store: SnapshotStore) -> None:
    report = verify_snapshot(store)

    assert report.checked == []
    assert not report.ok


def test_stray_entries_in_the_snapshots_folder_are_extra(
    store: SnapshotStore, chain: list[Snapshot]
) -> None:
    (store.snapshots_dir / "notes.txt").write_text("moved the Q3 export here")
    os.mkdir(store.snapshots_dir / ".staging-20261004T060000Z-00aa00")

    report = verify_snapshot(store)

    assert _kinds(report.problems) == [
        (
            "extra",
            "20261004T060000Z-00aa00",
            "snapshots/.staging-20261004T060000Z-00aa00",
        ),
        ("extra", "notes.txt", "snapshots/notes.txt"),
    ]
