"""Run index on SQLite and on the PostgreSQL server CI starts."""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
import sqlalchemy
from sqlalchemy.exc import OperationalError

from evidencekit.collectors.base import FileStats, ResourceData, SourceData
from evidencekit.errors import SnapshotError
from evidencekit.evidence.index import RunIndex
from evidencekit.evidence.snapshot import Snapshot, SnapshotStore
from evidencekit.results import PolicyResult, PolicyStatus, SourceStatus

POSTGRES_URL = os.environ.get(
    "EVIDENCEKIT_TEST_POSTGRES_URL",
    "postgresql+psycopg://postgres@127.0.0.1:5432/test",
)
FIRST = datetime(2026, 11, 2, 7, 30, tzinfo=UTC)

USERS_PAGE = {
    "ItemType": "User",
    "TotalResults": 2,
    "Items": [
        {
            "Id": "Users-14",
            "Username": "jane.doe",
            "DisplayName": "Jane Doe",
            "EmailAddress": "jane.doe@northwind.example",
            "IsActive": True,
            "IsService": False,
        },
        {
            "Id": "Users-2",
            "Username": "svc-octopus",
            "DisplayName": "Deployment robot",
            "EmailAddress": None,
            "IsActive": True,
            "IsService": True,
        },
    ],
}


def _policy(
    policy_id: str, status: PolicyStatus, tested: int, findings: int
) -> PolicyResult:
    return PolicyResult(
        id=policy_id,
        title=policy_id.replace("-", " "),
        description="",
        severity="high",
        controls=["iso27001-2022:A.8.32", "soc2-2017:CC8.1"],
        status=status,
        tested=tested,
        findings=findings,
        reason="servicenow.change_request is incomplete"
        if status is PolicyStatus.NOT_TESTED
        else None,
    )


RESULTS = [
    _policy("change-approval", PolicyStatus.FAIL, 41, 3),
    _policy("segregation-of-duties", PolicyStatus.PASS, 41, 0),
    _policy("emergency-change-review", PolicyStatus.NOT_TESTED, 0, 0),
    _policy("privileged-access", PolicyStatus.FAIL, 12, 2),
]


def _snapshot(
    store: SnapshotStore, export: Path, moment: datetime, *, failed: bool
) -> Snapshot:
    """Commit a snapshot with one Octopus source (users) and maybe a failed one."""
    export.mkdir(parents=True, exist_ok=True)
    (export / "users.json").write_text(json.dumps(USERS_PAGE))
    with store.begin(
        organisation="Northwind Bank",
        period={"start": "2026-07-01", "end": "2026-09-30", "timezone": "UTC"},
        tool_version="0.1.0",
        collected_at=moment,
    ) as writer:
        writer.stage_files("octopus", export, [export / "users.json"])
        users = ResourceData(name="users", expected=2)
        users.records = {item["Id"]: item for item in USERS_PAGE["Items"]}
        users.files.append(FileStats(path="users.json", records=2))
        octopus = SourceData("octopus", "octopus", str(export), {"users": users})
        writer.add_source(octopus, mode="export", origin=str(export))
        if failed:
            servicenow = SourceData(
                "servicenow",
                "servicenow",
                "https://northwind.service-now.com",
                status=SourceStatus.FAILED,
                error="connection refused",
            )
            writer.add_source(servicenow, mode="live", origin=servicenow.location)
        return writer.commit()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A URL into a fresh schema on the test PostgreSQL; the schema is dropped after."""
    schema = f"evidencekit_test_{secrets.token_hex(4)}"
    admin = sqlalchemy.create_engine(POSTGRES_URL)
    try:
        with admin.begin() as connection:
            connection.execute(sqlalchemy.text(f'CREATE SCHEMA "{schema}"'))
    except OperationalError as err:
        admin.dispose()
        pytest.fail(
            f"PostgreSQL is not reachable at {POSTGRES_URL} ({err.orig}); start it or "
            "set EVIDENCEKIT_TEST_POSTGRES_URL. This test must not be skipped."
        )
    yield f"{POSTGRES_URL}?options={quote(f'-csearch_path={schema}')}"
    with admin.begin() as connection:
        connection.execute(sqlalchemy.text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def index_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'runs.sqlite'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SnapshotStore]:
    opened = SnapshotStore(tmp_path / "store")
    yield opened
    opened.close()


@pytest.fixture
def index(index_url: str) -> Iterator[RunIndex]:
    opened = RunIndex(index_url)
    yield opened
    opened.close()


def test_snapshots_are_recorded_once_with_status(
    index: RunIndex, store: SnapshotStore, tmp_path: Path
) -> None:
    complete = _snapshot(store, tmp_path / "a", FIRST, failed=False)
    failed = _snapshot(store, tmp_path / "b", FIRST + timedelta(days=7), failed=True)

    for snapshot in (complete, failed, complete):
        index.record_snapshot(snapshot)

    query = sqlalchemy.text(
        "SELECT id, status, previous_snapshot_id, period_end FROM snapshots ORDER BY id"
    )
    with index.engine.connect() as connection:
        rows = [tuple(row) for row in connection.execute(query)]
    assert rows == [
        (complete.id, "complete", None, "2026-09-30"),
        (failed.id, "failed", complete.id, "2026-09-30"),
    ]
    assert index.recorded_manifest_sha256(failed.id) == failed.manifest_sha256
    assert index.recorded_manifest_sha256("20261102T073000Z-000000") is None
    assert index.recorded_snapshots() == {
        complete.id: complete.manifest_sha256,
        failed.id: failed.manifest_sha256,
    }


def test_an_empty_index_records_no_snapshot(index: RunIndex) -> None:
    assert index.recorded_snapshots() == {}


def test_same_snapshot_with_another_hash_is_refused(
    index: RunIndex, store: SnapshotStore, tmp_path: Path
) -> None:
    snapshot = _snapshot(store, tmp_path / "a", FIRST, failed=False)
    index.record_snapshot(snapshot)
    forged = Snapshot(snapshot.id, snapshot.path, snapshot.manifest, "f" * 64)

    with pytest.raises(SnapshotError, match=f"{snapshot.id} is recorded with manifest"):
        index.record_snapshot(forged)


def test_runs_are_recorded_with_policy_results(
    index: RunIndex, store: SnapshotStore, tmp_path: Path
) -> None:
    snapshot = _snapshot(store, tmp_path / "a", FIRST, failed=False)
    index.record_snapshot(snapshot)

    first = index.record_run(
        snapshot.id, FIRST + timedelta(hours=1), "regorus", 1, RESULTS
    )
    second = index.record_run(
        snapshot.id, "2026-11-03T09:00:00.000000Z", "opa", 3, RESULTS[:1]
    )

    assert second > first
    newest, oldest = index.runs(limit=5)
    assert newest.id == second
    assert (newest.engine, newest.exit_code, newest.findings) == ("opa", 3, 3)
    assert oldest.evaluated_at == "2026-11-02T08:30:00.000000Z"
    assert oldest.findings == 5
    assert oldest.policies == {"fail": 2, "not_tested": 1, "pass": 1}
    assert [run.id for run in index.runs(limit=1)] == [second]
    rows = index.policy_results(first)
    assert [(row["policy_id"], row["status"], row["tested"]) for row in rows] == [
        ("change-approval", "fail", 41),
        ("emergency-change-review", "not_tested", 0),
        ("privileged-access", "fail", 12),
        ("segregation-of-duties", "pass", 41),
    ]


def test_run_without_a_timezone_is_refused(index: RunIndex) -> None:
    with pytest.raises(SnapshotError, match="aware datetime"):
        index.record_run(
            "20261102T073000Z-0a0b0c", datetime(2026, 11, 2, 8, 0), "opa", 0, []
        )
    with pytest.raises(SnapshotError, match="canonical UTC"):
        index.record_run("20261102T073000Z-0a0b0c", "2 Nov 2026", "opa", 0, [])
    assert index.runs() == []


def test_store_commit_records_into_postgresql(
    postgres_url: str, tmp_path: Path
) -> None:
    store = SnapshotStore(tmp_path / "store", index_url=postgres_url)
    try:
        snapshot = _snapshot(store, tmp_path / "a", FIRST, failed=True)
        assert (
            store.index.recorded_manifest_sha256(snapshot.id)
            == snapshot.manifest_sha256
        )
        assert not (tmp_path / "store" / "index.sqlite").exists()
    finally:
        store.close()


def test_unusable_database_is_a_snapshot_error(tmp_path: Path) -> None:
    index = RunIndex(f"sqlite:///{tmp_path / 'missing-folder' / 'runs.sqlite'}")
    with pytest.raises(SnapshotError, match="cannot list runs"):
        index.runs()
    index.close()


def test_table_prefix_keeps_indexes_apart(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shared.sqlite'}"
    left, right = (
        RunIndex(url, table_prefix="left_"),
        RunIndex(url, table_prefix="right_"),
    )
    left.record_run("20261102T073000Z-0a0b0c", FIRST, "regorus", 0, RESULTS[1:2])

    assert len(left.runs()) == 1
    assert right.runs() == []
    assert {"left_runs", "right_runs"} <= set(
        sqlalchemy.inspect(left.engine).get_table_names()
    )
    left.close()
    right.close()
