"""Keep a queryable index of snapshots and policy runs in a SQL database.

The index is a convenience for listing history; the snapshots themselves are the
evidence. It uses SQLAlchemy Core, so the default SQLite file can be swapped for
PostgreSQL by URL. It also remembers each snapshot and its manifest hash at commit
time, which lets ``verify`` notice an edited manifest of the newest snapshot (which
no later snapshot chains to yet), a deleted snapshot, and a snapshot folder that
this store never committed.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    JSON,
    Column,
    Connection,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    insert,
    select,
)
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from evidencekit.errors import SnapshotError
from evidencekit.evidence.manifest import snapshot_status
from evidencekit.results import PolicyResult
from evidencekit.timeutil import from_canonical, to_canonical

if TYPE_CHECKING:
    from evidencekit.evidence.snapshot import Snapshot

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunRecord:
    """One recorded policy evaluation of a snapshot."""

    id: int
    snapshot_id: str
    evaluated_at: str
    engine: str
    exit_code: int
    findings: int
    policies: dict[str, int]  # number of policies per status


class RunIndex:
    """The snapshot and run index behind one database URL."""

    def __init__(self, url: str, *, table_prefix: str = "") -> None:
        self.url = url
        # SQLite: open a connection per use so none is left open between calls.
        options: dict[str, Any] = (
            {"poolclass": NullPool} if url.startswith("sqlite") else {}
        )
        self.engine = create_engine(url, **options)
        self.metadata = MetaData()
        self._snapshots, self._runs, self._results = _define_tables(
            self.metadata, table_prefix
        )
        self._created = False

    def close(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()

    def record_snapshot(self, snapshot: Snapshot) -> None:
        """Record a committed snapshot; recording the same one again changes nothing."""
        manifest = snapshot.manifest
        row = {
            "id": snapshot.id,
            "collected_at": manifest["collected_at"],
            "organisation": manifest["organisation"],
            "period_start": manifest["period"].get("start"),
            "period_end": manifest["period"].get("end"),
            "manifest_sha256": snapshot.manifest_sha256,
            "previous_snapshot_id": manifest.get("previous_snapshot_id"),
            "status": snapshot_status(manifest).value,
        }
        with self._transaction(f"record snapshot {snapshot.id}") as connection:
            known = self._recorded_hash(connection, snapshot.id)
            if known is None:
                connection.execute(insert(self._snapshots).values(row))
            elif known != snapshot.manifest_sha256:
                raise SnapshotError(
                    f"index {self._where}: snapshot {snapshot.id} is recorded with "
                    f"manifest SHA-256 {known}, not {snapshot.manifest_sha256}"
                )

    def recorded_manifest_sha256(self, snapshot_id: str) -> str | None:
        """Return the manifest hash recorded for a snapshot at commit, if any."""
        with self._transaction(f"read snapshot {snapshot_id}") as connection:
            return self._recorded_hash(connection, snapshot_id)

    def recorded_snapshots(self) -> dict[str, str]:
        """Return every snapshot recorded at commit, id -> manifest hash, by id."""
        table = self._snapshots
        query = select(table.c.id, table.c.manifest_sha256).order_by(table.c.id)
        with self._transaction("list snapshots") as connection:
            rows = connection.execute(query).all()
        return {str(row[0]): str(row[1]) for row in rows}

    def record_run(
        self,
        snapshot_id: str,
        evaluated_at: datetime | str,
        engine: str,
        exit_code: int,
        policy_results: list[PolicyResult],
    ) -> int:
        """Record one policy evaluation of a snapshot; return the new run id."""
        when = _canonical(evaluated_at)
        counts = Counter(result.status.value for result in policy_results)
        row = {
            "snapshot_id": snapshot_id,
            "evaluated_at": when,
            "engine": engine,
            "exit_code": int(exit_code),
            "findings": sum(result.findings for result in policy_results),
            "policies": dict(sorted(counts.items())),
        }
        with self._transaction(f"record run of {snapshot_id}") as connection:
            inserted = connection.execute(insert(self._runs).values(row))
            key = inserted.inserted_primary_key
            if key is None:
                raise SnapshotError(f"index {self._where}: no id for the new run")
            run_id = int(key[0])
            if policy_results:
                connection.execute(
                    insert(self._results),
                    [_result_row(run_id, result) for result in policy_results],
                )
        logger.info(
            "run recorded run=%d snapshot=%s exit_code=%d",
            run_id,
            snapshot_id,
            exit_code,
        )
        return run_id

    def runs(self, limit: int = 20) -> list[RunRecord]:
        """Return the most recent runs, newest first."""
        query = select(self._runs).order_by(self._runs.c.id.desc()).limit(limit)
        with self._transaction("list runs") as connection:
            rows = connection.execute(query).mappings().all()
        return [RunRecord(**dict(row)) for row in rows]

    def policy_results(self, run_id: int) -> list[dict[str, Any]]:
        """Return the per-policy rows of one run, ordered by policy id."""
        table = self._results
        query = (
            select(table).where(table.c.run_id == run_id).order_by(table.c.policy_id)
        )
        with self._transaction(f"read run {run_id}") as connection:
            return [dict(row) for row in connection.execute(query).mappings().all()]

    @property
    def _where(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    def _recorded_hash(self, connection: Connection, snapshot_id: str) -> str | None:
        table = self._snapshots
        query = select(table.c.manifest_sha256).where(table.c.id == snapshot_id)
        value = connection.execute(query).scalar_one_or_none()
        return str(value) if value is not None else None

    @contextmanager
    def _transaction(self, action: str) -> Iterator[Connection]:
        """Run a transaction, creating the tables first; wrap database errors."""
        try:
            if not self._created:
                self.metadata.create_all(self.engine)
                self._created = True
            with self.engine.begin() as connection:
                yield connection
        except SQLAlchemyError as err:
            raise SnapshotError(
                f"index {self._where}: cannot {action}: {err.__class__.__name__}: "
                f"{getattr(err, 'orig', None) or err}"
            ) from err


def _define_tables(metadata: MetaData, prefix: str) -> tuple[Table, Table, Table]:
    snapshots = Table(
        f"{prefix}snapshots",
        metadata,
        Column("id", String(64), primary_key=True),
        Column("collected_at", String(32), nullable=False),
        Column("organisation", Text, nullable=False),
        Column("period_start", String(40)),
        Column("period_end", String(40)),
        Column("manifest_sha256", String(64), nullable=False),
        Column("previous_snapshot_id", String(64)),
        Column("status", String(16), nullable=False),
    )
    # runs.snapshot_id has no foreign key on purpose: a snapshot whose commit could
    # not reach the index can still have its evaluations recorded.
    runs = Table(
        f"{prefix}runs",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("snapshot_id", String(64), nullable=False, index=True),
        Column("evaluated_at", String(32), nullable=False),
        Column("engine", String(64), nullable=False),
        Column("exit_code", Integer, nullable=False),
        Column("findings", Integer, nullable=False),
        Column("policies", JSON, nullable=False),
    )
    results = Table(
        f"{prefix}policy_results",
        metadata,
        Column("run_id", Integer, ForeignKey(runs.c.id), primary_key=True),
        Column("policy_id", String(128), primary_key=True),
        Column("status", String(16), nullable=False),
        Column("tested", Integer, nullable=False),
        Column("findings", Integer, nullable=False),
    )
    return snapshots, runs, results


def _result_row(run_id: int, result: PolicyResult) -> dict[str, Any]:
    return {
        "run_id": run_id,
        "policy_id": result.id,
        "status": result.status.value,
        "tested": result.tested,
        "findings": result.findings,
    }


def _canonical(moment: datetime | str) -> str:
    try:
        if isinstance(moment, str):
            return to_canonical(from_canonical(moment))
        return to_canonical(moment)
    except ValueError as err:
        raise SnapshotError(
            f"evaluated_at {moment!r}: {err}; expected an aware datetime or "
            "canonical UTC text"
        ) from err
