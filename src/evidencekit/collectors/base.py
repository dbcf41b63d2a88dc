"""What every collector is: declared metadata plus a way to read its evidence.

A collector turns a source (an export folder today, a live API later) into
``SourceData``: normalised records keyed by id for each resource, with per-file
statistics that go into the snapshot manifest. The record shapes are documented in
``docs/data-model.md``; policies rely on them.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol

from evidencekit.results import SourceStatus

Record = dict[str, Any]


@dataclass(frozen=True)
class ResourceSpec:
    """One kind of record a collector reads."""

    name: str  # e.g. "deployments"; also the key under input.<type>
    description: str
    required: bool = True  # a missing required resource makes the source incomplete
    files: tuple[str, ...] = ()  # export file names or folders it is read from


@dataclass
class FileStats:
    """What was read from one evidence file."""

    path: str  # relative to the source folder, with forward slashes
    records: int = 0  # records read from this file, before de-duplication
    sha256: str | None = None
    size: int = 0


@dataclass
class ResourceData:
    """The normalised records of one resource, with how completely they were read."""

    name: str
    records: dict[str, Record] = field(default_factory=dict)
    files: list[FileStats] = field(default_factory=list)
    duplicates: int = 0  # the same id seen again (across pages or archives)
    expected: int | None = None  # a count the source claimed (TotalResults, ...)
    status: SourceStatus = SourceStatus.COMPLETE
    warnings: list[str] = field(default_factory=list)
    query_window: dict[str, str | None] | None = None
    required: bool = True  # an optional resource that is absent does not make a gap

    def mark_incomplete(self, reason: str) -> None:
        """Record a completeness gap; it stays visible in every report."""
        if self.status is SourceStatus.COMPLETE:
            self.status = SourceStatus.INCOMPLETE
        self.warnings.append(reason)


@dataclass
class SourceData:
    """Everything one source delivered."""

    name: str
    type: str
    location: str
    resources: dict[str, ResourceData] = field(default_factory=dict)
    status: SourceStatus = SourceStatus.COMPLETE
    error: str | None = None

    def overall_status(self) -> SourceStatus:
        """FAILED if the source failed; COMPLETE if every resource it needs is complete.

        An optional resource that is absent (an export without server task
        approvals) does not make the source incomplete; policies that need it still
        report it missing.
        """
        if self.status is SourceStatus.FAILED:
            return SourceStatus.FAILED
        if self.status is SourceStatus.COMPLETE and all(
            resource.status is SourceStatus.COMPLETE
            or (resource.status is SourceStatus.MISSING and not resource.required)
            for resource in self.resources.values()
        ):
            return SourceStatus.COMPLETE
        return SourceStatus.INCOMPLETE


class Collector(Protocol):
    """A registered collector type."""

    type: ClassVar[str]  # the `type:` used in config, e.g. "octopus"
    description: ClassVar[str]
    resources: ClassVar[tuple[ResourceSpec, ...]]
    permissions: ClassVar[tuple[str, ...]]  # what the account it reads with needs

    def evidence_files(self, folder: Path) -> list[Path]:
        """List the files under an export-layout folder that ``read`` will use.

        The snapshot writer copies exactly these into the snapshot, and ``read`` is
        then run on the copy, so what is evaluated is what is hashed.
        """
        ...

    def read(self, folder: Path, source_name: str) -> SourceData:
        """Read and normalise the evidence in an export-layout folder.

        Problems with the content (a malformed file, a bad field) do not raise:
        they mark the resource incomplete or failed with a message that names the
        file, record and field, and every other record is kept. Only a folder that
        cannot be read at all raises ``CollectionError``.
        """
        ...


_REGISTRY: dict[str, type[Collector]] = {}


def register(cls: type[Collector]) -> type[Collector]:
    """Class decorator: add a collector to the registry under its ``type``."""
    if cls.type in _REGISTRY:
        raise ValueError(f"collector type {cls.type!r} is registered twice")
    _REGISTRY[cls.type] = cls
    return cls


# Modules under evidencekit.collectors whose import registers a collector.
COLLECTOR_MODULES = ("octopus", "servicenow", "jsm", "kubernetes_rbac", "aws_iam")


def registry() -> dict[str, type[Collector]]:
    """All registered collectors, by type."""
    for module in COLLECTOR_MODULES:
        importlib.import_module(f"evidencekit.collectors.{module}")
    return dict(_REGISTRY)


def iter_records(data: SourceData) -> Iterator[tuple[str, Record]]:
    """Yield ``(resource, record)`` for every record of a source."""
    for resource in data.resources.values():
        for record in resource.records.values():
            yield resource.name, record
