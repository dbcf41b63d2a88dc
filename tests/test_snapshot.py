"""Snapshot store: staging, manifests, the hash chain, atomic commit and the lock."""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import shutil
import stat
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from evidencekit.collectors.base import FileStats, ResourceData, SourceData, registry
from evidencekit.errors import SnapshotError
from evidencekit.evidence.manifest import redact_origin
from evidencekit.evidence.snapshot import SnapshotStore
from evidencekit.evidence.verify import verify_snapshot
from evidencekit.results import SourceStatus

OCTOPUS_EXPORT = Path(__file__).parent / "data" / "octopus" / "export"
PERIOD = {"start": "2026-07-01", "end": "2026-09-30", "timezone": "Europe/London"}

DEPLOYMENTS_PAGE = {
    "ItemType": "Deployment",
    "TotalResults": 3,
    "ItemsPerPage": 30,
    "NumberOfPages": 1,
    "LastPageNumber": 0,
    "Items": [
        {
            "Id": "Deployments-4101",
            "Name": "Deploy to Production",
            "ProjectId": "Projects-21",
            "ReleaseId": "Releases-310",
            "EnvironmentId": "Environments-3",
            "TaskId": "ServerTasks-55210",
            "DeployedBy": "jane.doe",
            "DeployedById": "Users-14",
            "Created": "2026-08-14T09:12:03.5120007+00:00",
            "SpaceId": "Spaces-1",
        },
        {
            "Id": "Deployments-4102",
            "Name": "Deploy to Production",
            "ProjectId": "Projects-21",
            "ReleaseId": "Releases-311",
            "EnvironmentId": "Environments-3",
            "TaskId": "ServerTasks-55231",
            "DeployedBy": "svc-octopus",
            "DeployedById": "Users-2",
            "Created": "2026-08-20T17:40:11.000+01:00",
            "SpaceId": "Spaces-1",
        },
    ],
    "Links": {"Self": "/api/Spaces-1/deployments?skip=0&take=30"},
}

EVENTS_PAGE = {
    "ItemType": "Event",
    "TotalResults": 2,
    "Items": [
        {
            "Id": "Events-90311",
            "Category": "DeploymentQueued",
            "UserId": "Users-14",
            "Username": "jane.doe",
            "IsService": False,
            "Occurred": "2026-08-14T09:12:03.611+00:00",
            "RelatedDocumentIds": ["Deployments-4101", "Projects-21"],
            "SpaceId": "Spaces-1",
        },
        {
            "Id": "Events-90311",
            "Category": "DeploymentQueued",
            "UserId": "Users-14",
            "Username": "jane.doe",
            "IsService": False,
            "Occurred": "2026-08-14T09:12:03.611+00:00",
            "RelatedDocumentIds": ["Deployments-4101", "Projects-21"],
            "SpaceId": "Spaces-1",
        },
    ],
}

CHANGES = {
    "result": [
        {
            "sys_id": "c2a7f0d41b8a2110a1b2c3d4e5f60718",
            "number": "CHG0030012",
            "state": "3",
            "type": "normal",
            "start_date": "2026-08-14 08:00:00",
            "end_date": "2026-08-14 10:00:00",
            "requested_by": {
                "link": "https://bank.service-now.com/api/now/table/sys_user/5137",
                "value": "5137153cc611227c000bbd1bd8cd2005",
            },
        }
    ]
}


def write_json(path: Path, data: Any) -> Path:
    """Write one export file the way the systems deliver it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")
    return path


def octopus_export(folder: Path) -> list[Path]:
    """Lay out a small Octopus export; return its files."""
    return [
        write_json(folder / "deployments.json", DEPLOYMENTS_PAGE),
        write_json(folder / "events" / "page-0001.json", EVENTS_PAGE),
    ]


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_paged(folder: Path, relative: str, name: str, key: str) -> ResourceData:
    """Read one staged Octopus file like a collector would: dedupe and count."""
    page = json.loads((folder / relative).read_text(encoding="utf-8"))
    resource = ResourceData(name=name, expected=page.get("TotalResults"))
    for item in page["Items"]:
        if item[key] in resource.records:
            resource.duplicates += 1
        else:
            resource.records[item[key]] = item
    resource.files.append(
        FileStats(
            path=relative,
            records=len(page["Items"]),
            sha256=sha256_of(folder / relative),
            size=(folder / relative).stat().st_size,
        )
    )
    return resource


def read_octopus(folder: Path, name: str = "octopus") -> SourceData:
    """Build SourceData from a staged Octopus folder."""
    deployments = read_paged(folder, "deployments.json", "deployments", "Id")
    deployments.mark_incomplete("deployments.json: TotalResults is 3 but 2 items read")
    events = read_paged(folder, "events/page-0001.json", "events", "Id")
    return SourceData(
        name=name,
        type="octopus",
        location=str(folder),
        resources={"deployments": deployments, "events": events},
    )


def commit_octopus(
    store: SnapshotStore, export: Path, moment: datetime | None = None
) -> str:
    """Run one full collection of the export folder into the store."""
    with store.begin(
        organisation="Northwind Bank",
        period=PERIOD,
        tool_version="0.1.0",
        collected_at=moment,
    ) as writer:
        staged = writer.stage_files("octopus", export, octopus_export(export))
        writer.add_source(read_octopus(staged), mode="export", origin=str(export))
        return writer.commit().id


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SnapshotStore]:
    opened = SnapshotStore(tmp_path / ".evidencekit")
    yield opened
    opened.close()


def test_round_trip_keeps_files_hashes_and_counts(
    store: SnapshotStore, tmp_path: Path
) -> None:
    export = tmp_path / "export"
    moment = datetime(2026, 12, 3, 8, 41, tzinfo=UTC)

    snapshot_id = commit_octopus(store, export, moment)

    assert snapshot_id.startswith("20261203T084100Z-")
    snapshot = store.get(snapshot_id)
    assert store.latest() == snapshot
    folder = snapshot.source_folder("octopus")
    assert (folder / "deployments.json").read_bytes() == (
        export / "deployments.json"
    ).read_bytes()
    manifest = snapshot.manifest
    assert manifest["schema"] == "evidencekit.manifest/1"
    assert manifest["collected_at"] == "2026-12-03T08:41:00.000000Z"
    assert manifest["previous_snapshot_id"] is None
    assert manifest["previous_manifest_sha256"] is None
    files = manifest["sources"][0]["resources"][0]["files"]
    assert files == [
        {
            "path": "evidence/octopus/deployments.json",
            "sha256": sha256_of(export / "deployments.json"),
            "size": (export / "deployments.json").stat().st_size,
            "records": 2,
        }
    ]
    raw = (snapshot.path / "manifest.json").read_bytes()
    assert snapshot.manifest_sha256 == hashlib.sha256(raw).hexdigest()
    assert json.loads(raw) == manifest


def test_manifest_records_counts_duplicates_and_warnings(
    store: SnapshotStore, tmp_path: Path
) -> None:
    snapshot = store.get(commit_octopus(store, tmp_path / "export"))

    source = snapshot.manifest["sources"][0]
    assert source["status"] == "incomplete"
    assert source["mode"] == "export"
    by_name = {resource["name"]: resource for resource in source["resources"]}
    assert by_name["deployments"]["records"] == 2
    assert by_name["deployments"]["expected"] == 3
    assert by_name["deployments"]["status"] == "incomplete"
    assert by_name["deployments"]["warnings"] == [
        "deployments.json: TotalResults is 3 but 2 items read"
    ]
    assert by_name["events"]["records"] == 1
    assert by_name["events"]["duplicates"] == 1
    assert by_name["events"]["files"][0]["records"] == 2
    assert (
        by_name["events"]["files"][0]["path"]
        == "evidence/octopus/events/page-0001.json"
    )


def test_committed_files_are_read_only_and_head_names_the_snapshot(
    store: SnapshotStore, tmp_path: Path
) -> None:
    snapshot = store.get(commit_octopus(store, tmp_path / "export"))

    for path in (
        snapshot.path / "manifest.json",
        snapshot.path / "evidence/octopus/deployments.json",
    ):
        assert stat.S_IMODE(path.stat().st_mode) == 0o444
    assert (store.root / "HEAD").read_text(encoding="utf-8").strip() == snapshot.id


def test_chain_of_three_links_each_manifest_hash(
    store: SnapshotStore, tmp_path: Path
) -> None:
    same_second = datetime(2026, 12, 3, 8, 41, 7, tzinfo=UTC)
    ids = [commit_octopus(store, tmp_path / f"e{n}", same_second) for n in range(3)]

    chain = store.list()
    assert [snapshot.id for snapshot in chain] == ids
    assert sorted(ids) == ids  # ids sort in chain order, even within one second
    for previous, current in itertools.pairwise(chain):
        raw = (previous.path / "manifest.json").read_bytes()
        assert current.manifest["previous_snapshot_id"] == previous.id
        assert current.manifest["previous_manifest_sha256"] == (
            hashlib.sha256(raw).hexdigest()
        )
    assert store.latest() == chain[-1]
    assert store.head() == ids[-1]


def test_writer_that_raises_leaves_nothing_and_the_chain_continues(
    store: SnapshotStore, tmp_path: Path
) -> None:
    good = commit_octopus(store, tmp_path / "export")
    export = tmp_path / "export-2"

    with (
        pytest.raises(RuntimeError, match="collector crashed"),
        store.begin(
            organisation="Northwind Bank", period=PERIOD, tool_version="0.1.0"
        ) as writer,
    ):
        writer.stage_files("octopus", export, octopus_export(export))
        raise RuntimeError("collector crashed")

    assert [snapshot.id for snapshot in store.list()] == [good]
    assert sorted(os.listdir(store.snapshots_dir)) == [good]
    following = commit_octopus(store, tmp_path / "export-3")
    assert store.get(following).manifest["previous_snapshot_id"] == good


def test_leaving_the_block_without_commit_is_an_error(
    store: SnapshotStore, tmp_path: Path
) -> None:
    with (
        pytest.raises(SnapshotError, match="neither committed nor aborted"),
        store.begin(
            organisation="Northwind Bank", period=PERIOD, tool_version="0.1.0"
        ) as writer,
    ):
        writer.stage_files("octopus", tmp_path, octopus_export(tmp_path))

    assert store.list() == []
    assert os.listdir(store.snapshots_dir) == []


def test_crash_before_rename_leaves_only_a_staging_folder(
    store: SnapshotStore, tmp_path: Path
) -> None:
    good = commit_octopus(store, tmp_path / "export")
    # What a killed process leaves: a staging folder with some files, no manifest.
    leftover = store.snapshots_dir / ".staging-20261203T090000Z-abcdef"
    write_json(leftover / "evidence" / "octopus" / "deployments.json", DEPLOYMENTS_PAGE)

    assert [snapshot.id for snapshot in store.list()] == [good]
    following = commit_octopus(store, tmp_path / "export-2")
    assert store.get(following).manifest["previous_snapshot_id"] == good
    report = verify_snapshot(store)
    assert report.checked == [good, following]
    assert [(p.kind, p.path) for p in report.problems] == [
        ("extra", "snapshots/.staging-20261203T090000Z-abcdef")
    ]
    assert "incomplete leftover" in report.problems[0].detail


def test_failed_source_without_files_is_recorded(store: SnapshotStore) -> None:
    failed = SourceData(
        name="servicenow",
        type="servicenow",
        location="https://bank.service-now.com",
        status=SourceStatus.FAILED,
        error=(
            "GET https://svc:hunter2@bank.service-now.com/api/now/table/change_request"
            "?sysparm_limit=1000&token=abc123 returned 401 Unauthorized"
        ),
    )
    with store.begin(
        organisation="Northwind Bank", period=PERIOD, tool_version="0.1.0"
    ) as writer:
        writer.add_source(
            failed,
            mode="live",
            origin="https://svc:hunter2@bank.service-now.com/api/now?token=abc123",
            query_window={"start": "2026-07-01T00:00:00.000000Z", "end": None},
        )
        snapshot = writer.commit()

    source = snapshot.manifest["sources"][0]
    assert source["status"] == "failed"
    assert source["resources"] == []
    assert source["origin"] == "https://bank.service-now.com/api/now"
    assert source["query_window"] == {
        "start": "2026-07-01T00:00:00.000000Z",
        "end": None,
    }
    assert "401 Unauthorized" in source["error"]
    raw = (snapshot.path / "manifest.json").read_text(encoding="utf-8")
    assert "hunter2" not in raw
    assert "abc123" not in raw


@pytest.mark.parametrize(
    ("origin", "expected"),
    [
        (
            "https://user:pw@octopus.bank.example:8443/api?apikey=API-XYZ#x",
            "https://octopus.bank.example:8443/api",
        ),
        ("/srv/exports/octopus", "/srv/exports/octopus"),
        ("exports/snow?x=1", "exports/snow?x=1"),
    ],
)
def test_origin_keeps_no_credentials(origin: str, expected: str) -> None:
    assert redact_origin(origin) == expected


def test_symlinked_file_is_skipped_recorded_and_warned(
    store: SnapshotStore, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    export = tmp_path / "export"
    files = octopus_export(export)
    secret = write_json(tmp_path / "elsewhere" / "shadow.json", {"Items": []})
    (export / "tasks.json").symlink_to(secret)

    with store.begin(
        organisation="Northwind Bank", period=PERIOD, tool_version="0.1.0"
    ) as writer:
        staged = writer.stage_files("octopus", export, [*files, export / "tasks.json"])
        assert not (staged / "tasks.json").exists()
        writer.add_source(read_octopus(staged), mode="export", origin=str(export))
        snapshot = writer.commit()

    source = snapshot.manifest["sources"][0]
    assert source["refused_files"] == [
        {
            "path": "tasks.json",
            "reason": f"is a symlink to {secret}; symlinks are not followed",
        }
    ]
    assert [entry["name"] for entry in source["resources"]] == [
        "deployments",
        "events",
    ]
    assert snapshot.file_sha256("octopus", "tasks.json") is None
    warnings = [r for r in caplog.records if r.levelname == "WARNING"]
    assert [r.getMessage() for r in warnings] == [
        "evidence file refused source=octopus file=tasks.json reason=is a symlink "
        f"to {secret}; symlinks are not followed"
    ]
    assert verify_snapshot(store).ok


def test_files_below_a_symlinked_folder_are_skipped(
    store: SnapshotStore, tmp_path: Path
) -> None:
    export = tmp_path / "export"
    files = octopus_export(export)
    write_json(tmp_path / "real-pages" / "page-0001.json", DEPLOYMENTS_PAGE)
    (export / "releases").symlink_to(tmp_path / "real-pages")
    listed = [*files, Path("releases/page-0001.json")]

    with store.begin(
        organisation="Northwind Bank", period=PERIOD, tool_version="0.1.0"
    ) as writer:
        staged = writer.stage_files("octopus", export, listed)
        assert not (staged / "releases").exists()
        writer.add_source(read_octopus(staged), mode="export", origin=str(export))
        snapshot = writer.commit()

    assert snapshot.manifest["sources"][0]["refused_files"] == [
        {
            "path": "releases/page-0001.json",
            "reason": "is below the folder releases, which is a symlink; symlinks "
            "are not followed",
        }
    ]
    assert verify_snapshot(store).ok


def test_symlinked_files_leave_their_resources_short(
    store: SnapshotStore, tmp_path: Path
) -> None:
    """A refused file never reads as complete, even to the real Octopus reader.

    The files are listed the way a scratch folder of fetched pages is, every entry
    of the export, so the links reach the snapshot writer.
    """
    export = tmp_path / "export"
    shutil.copytree(OCTOPUS_EXPORT, export)
    outside = tmp_path / "outside"
    outside.mkdir()
    links = (
        "tasks.json",
        "events/events-2026-11-17.jsonl",
        "servertaskapprovals.json",  # optional: absent, it would not be a gap
    )
    for relative in links:
        moved = outside / Path(relative).name
        shutil.move(export / relative, moved)
        (export / relative).symlink_to(moved)
    collector = registry()["octopus"]()

    with store.begin(
        organisation="Northwind Bank", period=PERIOD, tool_version="0.1.0"
    ) as writer:
        files = sorted(p for p in export.rglob("*") if p.is_symlink() or p.is_file())
        staged = writer.stage_files("octopus", export, files)
        data = collector.read(staged, "octopus")
        writer.add_source(data, mode="export", origin=str(export))
        snapshot = writer.commit()

    tasks, events = data.resources["tasks"], data.resources["events"]
    assert tasks.status is SourceStatus.MISSING
    assert events.status is SourceStatus.INCOMPLETE
    assert events.warnings[-1] == (
        f"events/events-2026-11-17.jsonl is a symlink to {outside}/"
        "events-2026-11-17.jsonl; symlinks are not followed; it was not copied into "
        "the snapshot, so its records are not in the evidence"
    )
    assert "tasks.json is a symlink" in tasks.warnings[-1]
    approvals = data.resources["servertaskapprovals"]
    assert approvals.status is SourceStatus.MISSING
    assert approvals.required
    assert data.resources["deployments"].status is SourceStatus.COMPLETE
    source = snapshot.manifest["sources"][0]
    assert source["status"] == "incomplete"
    assert [file["path"] for file in source["refused_files"]] == [
        "events/events-2026-11-17.jsonl",
        "servertaskapprovals.json",
        "tasks.json",
    ]
    recorded = {resource["name"]: resource for resource in source["resources"]}
    assert recorded["events"]["status"] == "incomplete"
    assert recorded["events"]["warnings"][-1] == events.warnings[-1]
    assert verify_snapshot(store).ok


def test_reading_a_refused_file_is_an_error(
    store: SnapshotStore, tmp_path: Path
) -> None:
    export = tmp_path / "export"
    files = octopus_export(export)
    real = write_json(tmp_path / "elsewhere" / "page-0001.json", EVENTS_PAGE)
    (export / "events" / "page-0001.json").unlink()
    (export / "events" / "page-0001.json").symlink_to(real)
    with store.begin(
        organisation="Northwind Bank", period=PERIOD, tool_version="0.1.0"
    ) as writer:
        writer.stage_files("octopus", export, files)
        # A collector that reads the export instead of the staged copy.
        with pytest.raises(SnapshotError, match=r"staging refused it \(it is a sym"):
            writer.add_source(read_octopus(export), mode="export", origin="x")
        writer.abort()


def test_second_run_cannot_begin_while_the_store_is_locked(
    store: SnapshotStore, tmp_path: Path
) -> None:
    first = store.begin(
        organisation="Northwind Bank", period=PERIOD, tool_version="0.1.0"
    )

    with pytest.raises(SnapshotError, match="holds the store lock"):
        store.begin(organisation="Northwind Bank", period=PERIOD, tool_version="0.1.0")

    export = tmp_path / "export"
    staged = first.stage_files("octopus", export, octopus_export(export))
    first.add_source(read_octopus(staged), mode="export", origin=str(export))
    committed = first.commit()
    second = commit_octopus(store, tmp_path / "export-2")
    assert store.get(second).manifest["previous_snapshot_id"] == committed.id


def test_read_file_that_was_not_staged_is_refused(
    store: SnapshotStore, tmp_path: Path
) -> None:
    export = tmp_path / "export"
    files = octopus_export(export)
    with store.begin(
        organisation="Northwind Bank", period=PERIOD, tool_version="0.1.0"
    ) as writer:
        staged = writer.stage_files("octopus", export, files[:1])  # events not staged
        write_json(staged / "events" / "page-0001.json", EVENTS_PAGE)
        with pytest.raises(
            SnapshotError, match=r"events/page-0001\.json was read but not staged"
        ):
            writer.add_source(read_octopus(staged), mode="export", origin=str(export))
        writer.abort()


def test_staged_file_changed_before_reading_is_refused(
    store: SnapshotStore, tmp_path: Path
) -> None:
    export = tmp_path / "export"
    with store.begin(
        organisation="Northwind Bank", period=PERIOD, tool_version="0.1.0"
    ) as writer:
        staged = writer.stage_files("octopus", export, octopus_export(export))
        data = read_octopus(staged)
        data.resources["deployments"].files[0].sha256 = "0" * 64
        with pytest.raises(SnapshotError, match=r"as read but .* as staged"):
            writer.add_source(data, mode="export", origin=str(export))
        writer.abort()


def test_files_outside_the_source_folder_are_refused(
    store: SnapshotStore, tmp_path: Path
) -> None:
    outside = write_json(tmp_path / "other" / "users.json", {"Items": []})
    with store.begin(
        organisation="Northwind Bank", period=PERIOD, tool_version="0.1.0"
    ) as writer:
        with pytest.raises(SnapshotError, match="not inside the source folder"):
            writer.stage_files("octopus", tmp_path / "export", [outside])
        with pytest.raises(SnapshotError, match="plain path"):
            writer.stage_files(
                "octopus", tmp_path / "export", [Path("../other/users.json")]
            )
        writer.abort()


def test_unread_staged_files_are_listed(store: SnapshotStore, tmp_path: Path) -> None:
    export = tmp_path / "export"
    files = octopus_export(export)
    extra = write_json(export / "servertaskapprovals.json", {"Items": []})
    with store.begin(
        organisation="Northwind Bank", period=PERIOD, tool_version="0.1.0"
    ) as writer:
        staged = writer.stage_files("octopus", export, [*files, extra])
        writer.add_source(read_octopus(staged), mode="export", origin=str(export))
        snapshot = writer.commit()

    unread = snapshot.manifest["sources"][0]["unread_files"]
    assert [entry["path"] for entry in unread] == [
        "evidence/octopus/servertaskapprovals.json"
    ]
    assert verify_snapshot(store).ok


def test_collected_at_must_be_aware_and_not_before_the_previous(
    store: SnapshotStore, tmp_path: Path
) -> None:
    commit_octopus(store, tmp_path / "export", datetime(2026, 12, 3, 8, 0, tzinfo=UTC))

    with pytest.raises(SnapshotError, match=r"before 2026-12-03T08:00:00\.000000Z"):
        commit_octopus(store, tmp_path / "e2", datetime(2026, 12, 2, 8, 0, tzinfo=UTC))
    with pytest.raises(SnapshotError, match="aware datetime"):
        commit_octopus(store, tmp_path / "e3", datetime(2026, 12, 4, 8, 0))
    assert len(store.list()) == 1


def test_unknown_ids_and_sources_raise(store: SnapshotStore, tmp_path: Path) -> None:
    snapshot = store.get(commit_octopus(store, tmp_path / "export"))

    with pytest.raises(SnapshotError, match="no snapshot 20261203T084100Z-000000"):
        store.get("20261203T084100Z-000000")
    with pytest.raises(SnapshotError, match="not a snapshot id"):
        store.get("../../etc")
    with pytest.raises(SnapshotError, match="no source 'jira'"):
        snapshot.source_folder("jira")
    assert snapshot.file_sha256("octopus", "deployments.json") == sha256_of(
        tmp_path / "export" / "deployments.json"
    )
    assert snapshot.file_sha256("octopus", "tasks.json") is None


def test_list_refuses_a_broken_chain(store: SnapshotStore, tmp_path: Path) -> None:
    first = commit_octopus(store, tmp_path / "export")
    commit_octopus(store, tmp_path / "export-2")
    _remove_snapshot(store, first)

    with pytest.raises(SnapshotError, match=f"chains to {first}, which is not in"):
        store.list()
    with pytest.raises(SnapshotError, match="chain is broken"):
        commit_octopus(store, tmp_path / "export-3")


def test_commit_records_the_snapshot_in_the_index(
    store: SnapshotStore, tmp_path: Path
) -> None:
    snapshot = store.get(commit_octopus(store, tmp_path / "export"))

    assert store.index.recorded_manifest_sha256(snapshot.id) == snapshot.manifest_sha256


def _remove_snapshot(store: SnapshotStore, snapshot_id: str) -> None:
    for folder, _dirs, names in os.walk(store.snapshots_dir / snapshot_id):
        for name in names:
            os.chmod(Path(folder) / name, 0o644)
    shutil.rmtree(store.snapshots_dir / snapshot_id)


def test_bad_period_or_query_window_is_refused_and_unlocks(
    store: SnapshotStore, tmp_path: Path
) -> None:
    with pytest.raises(SnapshotError, match="every value must be a string"):
        store.begin(
            organisation="Northwind Bank",
            period={"start": datetime(2026, 7, 1, tzinfo=UTC)},  # type: ignore[dict-item]
            tool_version="0.1.0",
        )
    with store.begin(
        organisation="Northwind Bank", period=PERIOD, tool_version="0.1.0"
    ) as writer:
        window = {"start": datetime(2026, 7, 1, tzinfo=UTC)}
        writer.add_source(
            SourceData(name="octopus", type="octopus", location="x"),
            mode="live",
            origin="https://octopus.example",
            query_window=window,  # type: ignore[arg-type]
        )
        with pytest.raises(SnapshotError, match="cannot be written as JSON"):
            writer.commit()
        writer.abort()

    assert commit_octopus(store, tmp_path / "export") == store.list()[0].id
