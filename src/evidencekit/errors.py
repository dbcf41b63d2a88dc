"""Typed errors: each names the input that failed and says what was expected."""

from __future__ import annotations


class EvidencekitError(Exception):
    """Base class for every error evidencekit raises on purpose."""


class ConfigError(EvidencekitError):
    """The configuration file is missing, malformed or invalid."""


class EvidenceError(EvidencekitError):
    """A piece of evidence could not be read or does not have the expected shape.

    The message names the source, the file or record and the field, so a user can
    find the bad input without a traceback.
    """

    def __init__(
        self,
        message: str,
        *,
        source: str,
        file: str | None = None,
        record: str | None = None,
        field: str | None = None,
    ) -> None:
        self.source = source
        self.file = file
        self.record = record
        self.field = field
        self.reason = message
        super().__init__(self._describe())

    def _describe(self) -> str:
        where = [f"source {self.source!r}"]
        if self.file:
            where.append(f"file {self.file}")
        if self.record:
            where.append(f"record {self.record}")
        if self.field:
            where.append(f"field {self.field!r}")
        return f"{', '.join(where)}: {self.reason}"


class CollectionError(EvidenceError):
    """A source could not be collected (fully or at all)."""


class SnapshotError(EvidencekitError):
    """The evidence store or a snapshot is unusable."""


class PolicyError(EvidencekitError):
    """A policy could not be loaded or evaluated."""


class EngineError(PolicyError):
    """The Rego engine is missing something the shipped policies need, or failed."""


class ReportError(EvidencekitError):
    """A report could not be written."""
