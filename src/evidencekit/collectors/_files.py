"""Read export files for the collectors: JSON pages, JSONL archives and CSV tables.

The helpers here know file formats and bookkeeping (de-duplication, per-file counts,
capped warnings, resource status); what a record of a given system looks like lives
in the collector modules.
"""

from __future__ import annotations

import csv
import gc
import json
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evidencekit.collectors.base import FileStats, Record, ResourceData
from evidencekit.errors import CollectionError, EvidenceError
from evidencekit.results import SourceStatus

MAX_SHOWN_PROBLEMS = 20  # per resource; the rest are counted in one summary line

# A ServiceNow or Octopus field can hold a very long text (work notes, release notes);
# the csv module's default limit of 128 KiB per field would reject it.
_CSV_FIELD_LIMIT = 2**31 - 1

_PAGE_NAME = re.compile(r"^(?:(?P<query>.+)\.)?page-(?P<number>\d+)\.json$")

# Worse outcomes override better ones; a resource ends with the worst it met.
_SEVERITY = {
    SourceStatus.COMPLETE: 0,
    SourceStatus.INCOMPLETE: 1,
    SourceStatus.MISSING: 2,
    SourceStatus.FAILED: 3,
}


class FieldProblem(ValueError):
    """A field of one record does not hold what the data model expects."""

    def __init__(self, field_name: str, reason: str) -> None:
        super().__init__(reason)
        self.field_name = field_name
        self.reason = reason


@dataclass
class Page:
    """The records of one API page or export file, with the total it claims."""

    items: list[Any]
    total: int | None = None


@dataclass
class ResourceFiles:
    """The files one resource is read from, in reading order."""

    paths: list[Path] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)  # relative paths not read
    found: bool = False  # the file or the folder of that name exists


class Interner(dict[str, str]):
    """Share one string object for values that repeat: ``interner[text]``.

    A dict lookup keeps the common case (a value seen before) in C; only a new value
    goes through ``__missing__``.
    """

    def __missing__(self, text: str) -> str:
        self[text] = text
        return text


class ProblemLog:
    """Keep the first few problem messages of a resource and count the rest."""

    def __init__(
        self, resource: str, what: str, limit: int = MAX_SHOWN_PROBLEMS
    ) -> None:
        self.resource = resource
        self.what = what
        self.limit = limit
        self.shown: list[str] = []
        self.count = 0

    def add(self, message: str) -> None:
        """Record one problem."""
        self.count += 1
        if len(self.shown) < self.limit:
            self.shown.append(message)

    def lines(self) -> list[str]:
        """Return the kept messages and, if some were dropped, how many."""
        hidden = self.count - len(self.shown)
        if hidden <= 0:
            return list(self.shown)
        return [*self.shown, f"{self.resource}: ... and {hidden:,} more {self.what}"]


class ResourceBuilder:
    """Collect the records of one resource: de-duplicate, count and grade them."""

    def __init__(self, source: str, name: str) -> None:
        self.source = source
        self.data = ResourceData(name=name)
        self._ref_prefix = f"{source}/{name}/"
        self._status = SourceStatus.COMPLETE
        self._problems = ProblemLog(name, "problems with files or records")
        self._conflicts = ProblemLog(
            name, "duplicates that differ from their first copy"
        )

    def open_file(self, path: Path, relative: str) -> FileStats:
        """Start the statistics of one evidence file."""
        try:
            size = path.stat().st_size
        except OSError:
            size = 0  # the read that follows reports the unreadable file
        stats = FileStats(path=relative, size=size)
        self.data.files.append(stats)
        return stats

    def add(self, record_id: str, record: Record, stats: FileStats) -> bool:
        """Add a normalised record; return False when its id was already seen."""
        stats.records += 1
        first = self.data.records.get(record_id)
        if first is None:
            record["_ref"] = self._ref_prefix + record_id
            record["_file"] = stats.path
            self.data.records[record_id] = record
            return True
        self.data.duplicates += 1
        if _differs(first, record):
            self._conflicts.add(
                f"{self.data.name}: record {record_id} in {stats.path} differs from "
                f"the first copy in {first['_file']}; the first copy is kept"
            )
        return False

    def bad_record(self, problem: EvidenceError) -> None:
        """Note a skipped record or blanked field: the resource is incomplete."""
        self._problems.add(f"{self.data.name}: {problem}")
        self._degrade(SourceStatus.INCOMPLETE)

    def bad_file(self, problem: EvidenceError) -> None:
        """Note a file that could not be parsed: the resource has failed."""
        self._problems.add(f"{self.data.name}: {problem}")
        self._degrade(SourceStatus.FAILED)

    def gap(self, message: str) -> None:
        """Note evidence known to be missing (a count that does not add up)."""
        self.data.warnings.append(f"{self.data.name}: {message}")
        self._degrade(SourceStatus.INCOMPLETE)

    def missing(self, message: str) -> None:
        """Note that the resource's file is not in the export."""
        self.data.warnings.append(f"{self.data.name}: {message}")
        self._degrade(SourceStatus.MISSING)

    def note(self, message: str) -> None:
        """Add a warning that does not change the resource's status."""
        self.data.warnings.append(f"{self.data.name}: {message}")

    def finish(self) -> ResourceData:
        """Return the resource with its final status and all its warnings."""
        self.data.warnings[:0] = self._problems.lines()
        self.data.warnings.extend(self._conflicts.lines())
        self.data.status = self._status
        return self.data

    def _degrade(self, status: SourceStatus) -> None:
        if _SEVERITY[status] > _SEVERITY[self._status]:
            self._status = status


def _differs(first: Record, second: Record) -> bool:
    """Tell whether a second copy differs from the stored first copy of a record."""
    if len(first) - 2 != len(second):  # the first copy also holds _ref and _file
        return True
    missing = object()
    return any(first.get(key, missing) != value for key, value in second.items())


def relative_name(path: Path, folder: Path) -> str:
    """Return a file's path relative to the source folder, with forward slashes."""
    return path.relative_to(folder).as_posix()


def find_resource_files(
    folder: Path, name: str, suffixes: tuple[str, ...]
) -> ResourceFiles:
    """Find ``<name><suffix>`` files and the files of a ``<name>/`` folder.

    Inside the folder, files are read by suffix (in the order given), then by query
    and page number, so ``page-10`` follows ``page-9``. Other files are listed as
    ignored; hidden files are skipped. An unreadable folder raises ``OSError``.
    """
    found = ResourceFiles()
    for suffix in suffixes:
        single = folder / f"{name}{suffix}"
        if single.is_file():
            found.paths.append(single)
            found.found = True
    directory = folder / name
    if directory.is_dir():
        found.found = True
        _add_folder_files(found, folder, directory, suffixes)
    return found


def _add_folder_files(
    found: ResourceFiles, folder: Path, directory: Path, suffixes: tuple[str, ...]
) -> None:
    entries = sorted(
        directory.iterdir(), key=lambda path: _reading_order(path, suffixes)
    )
    for path in entries:
        if path.name.startswith("."):
            continue
        if path.is_file() and path.suffix in suffixes:
            found.paths.append(path)
        else:
            found.ignored.append(relative_name(path, folder))


def _reading_order(path: Path, suffixes: tuple[str, ...]) -> tuple[int, str, int, str]:
    rank = suffixes.index(path.suffix) if path.suffix in suffixes else len(suffixes)
    page = page_of(path.name)
    if page is None:
        return rank, path.name, -1, path.name
    return rank, page[0], page[1], path.name


def page_of(file_name: str) -> tuple[str, int] | None:
    """Return ``(query, page)`` for ``<query>.page-<n>.json`` or ``page-<n>.json``."""
    match = _PAGE_NAME.match(file_name)
    if match is None:
        return None
    return match.group("query") or "", int(match.group("number"))


def read_json(path: Path, relative: str, source: str) -> Any:
    """Parse one JSON file; raise ``EvidenceError`` naming it if that fails."""
    try:
        with path.open("rb") as handle:
            return json.load(handle)
    except OSError as err:
        raise EvidenceError(
            f"cannot read the file ({err.strerror})", source=source, file=relative
        ) from err
    except (ValueError, RecursionError) as err:  # JSONDecodeError, bad UTF-8, nesting
        raise EvidenceError(
            f"the file is not valid JSON ({err})", source=source, file=relative
        ) from err


def envelope_items(
    document: Any, relative: str, source: str, items_key: str, total_key: str | None
) -> Page:
    """Take the records out of an envelope ``{items_key: [...]}`` or a plain list."""
    if isinstance(document, list):
        return Page(items=document)
    if not isinstance(document, dict) or items_key not in document:
        raise EvidenceError(
            f"expected a JSON list of records or an object with {items_key!r}",
            source=source,
            file=relative,
        )
    items = document[items_key]
    if not isinstance(items, list):
        raise EvidenceError(
            f"expected a list of records, got {type(items).__name__}",
            source=source,
            file=relative,
            field=items_key,
        )
    total = _claimed_total(document, relative, source, total_key)
    return Page(items=items, total=total)


def _claimed_total(
    document: dict[str, Any], relative: str, source: str, total_key: str | None
) -> int | None:
    if total_key is None or document.get(total_key) is None:
        return None
    total = document[total_key]
    if isinstance(total, bool) or not isinstance(total, int) or total < 0:
        raise EvidenceError(
            f"expected a record count (a whole number >= 0), got {preview(total)}",
            source=source,
            file=relative,
            field=total_key,
        )
    return total


def iter_json_lines(
    path: Path, relative: str, source: str
) -> Iterator[tuple[int, Any, str | None]]:
    """Yield ``(line number, value, problem)`` for each non-blank line of a JSONL file.

    A line that is not JSON yields ``problem`` (and ``None`` as value) instead of
    stopping the file, so one torn line does not hide the rest of a day's archive.
    """
    try:
        with path.open("rb") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    yield number, json.loads(line), None
                except (ValueError, RecursionError) as err:
                    yield number, None, f"the line is not valid JSON ({err})"
    except OSError as err:
        raise EvidenceError(
            f"cannot read the file ({err.strerror})", source=source, file=relative
        ) from err


def iter_csv_rows(
    path: Path, relative: str, source: str
) -> Iterator[tuple[int, dict[str, str] | None, str | None]]:
    """Yield ``(line, row, problem)`` for each data row of a CSV export.

    ``line`` is the file line the row ends on (the header is line 1; a quoted cell
    may span lines). A row with more or fewer cells than the header yields a problem
    instead of a row. A file with no header row, a header that repeats a column
    name, or one the csv module cannot parse raises ``EvidenceError``.
    """
    csv.field_size_limit(_CSV_FIELD_LIMIT)
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            _check_header(reader.fieldnames, relative, source)
            for row in reader:
                yield _checked_row(reader.line_num, row, len(reader.fieldnames or ()))
    except OSError as err:
        raise EvidenceError(
            f"cannot read the file ({err.strerror})", source=source, file=relative
        ) from err
    except (csv.Error, UnicodeDecodeError) as err:
        raise EvidenceError(
            f"the file is not valid UTF-8 CSV ({err})", source=source, file=relative
        ) from err


def _check_header(names: Sequence[str] | None, relative: str, source: str) -> None:
    if not names:
        raise EvidenceError(
            "expected a header row of column names, the file is empty",
            source=source,
            file=relative,
        )
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:  # DictReader would silently keep only the last of the cells
        raise EvidenceError(
            f"the header repeats the column(s) {preview(repeated)}",
            source=source,
            file=relative,
        )


def _checked_row(
    line: int, row: dict[str | Any, Any], columns: int
) -> tuple[int, dict[str, str] | None, str | None]:
    if None in row:
        return line, None, f"the row has more cells than the {columns} columns"
    if any(value is None for value in row.values()):
        return line, None, f"the row has fewer cells than the {columns} columns"
    return line, row, None


def parse_bool_text(text: str) -> bool:
    """Turn the strings ``"true"``/``"false"`` (any case) into a bool."""
    lowered = text.strip().lower()
    if lowered == "true":
        return True
    if lowered == "false":
        return False
    raise ValueError(f"expected 'true' or 'false', got {preview(text)}")


def parse_int_text(text: str) -> int:
    """Turn a whole-number string such as ``"-1"`` into an int."""
    value = text.strip()
    if not re.fullmatch(r"[+-]?\d{1,18}", value):
        raise ValueError(f"expected a whole number, got {preview(text)}")
    return int(value)


def preview(value: Any, limit: int = 80) -> str:
    """Show a value in a message, cut short so a huge hostile string cannot flood it."""
    text = repr(value)
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text):,} characters)"


def check_export_folder(folder: Path, source: str) -> None:
    """Raise ``CollectionError`` unless ``folder`` is a folder that can be listed."""
    try:
        next(iter(folder.iterdir()), None)
    except NotADirectoryError as err:
        raise CollectionError(
            "expected an export folder, found a file", source=source, file=str(folder)
        ) from err
    except OSError as err:
        reason = err.strerror or type(err).__name__
        raise CollectionError(
            f"cannot open the export folder ({reason})", source=source, file=str(folder)
        ) from err


def list_evidence(
    folder: Path, source: str, layout: dict[str, tuple[str, ...]]
) -> list[Path]:
    """List the files of every resource in ``layout`` (name -> suffixes read)."""
    check_export_folder(folder, source)
    paths: list[Path] = []
    for name, suffixes in layout.items():
        try:
            paths.extend(find_resource_files(folder, name, suffixes).paths)
        except OSError as err:
            raise CollectionError(
                f"cannot list the folder ({err.strerror})", source=source, file=name
            ) from err
    return paths


def start_resource(
    folder: Path, source: str, name: str, suffixes: tuple[str, ...], *, required: bool
) -> tuple[ResourceBuilder, list[Path]]:
    """Find a resource's files and grade what is absent before any record is read.

    A file or folder that is not there, or a folder with nothing to read, makes the
    resource MISSING, whether or not it is required: an absent optional resource is
    not evidence that there was nothing to find, so the policies that need it are
    reported not tested.
    """
    builder = ResourceBuilder(source, name)
    builder.data.required = required
    expected = " or ".join(f"{name}{suffix}" for suffix in suffixes)
    patterns = " or ".join(f"*{suffix}" for suffix in suffixes)
    kind = "required" if required else "optional"
    try:
        files = find_resource_files(folder, name, suffixes)
    except OSError as err:
        problem = EvidenceError(
            f"cannot list the folder ({err.strerror})", source=source, file=f"{name}/"
        )
        builder.bad_file(problem)
        return builder, []
    for ignored in files.ignored:
        builder.note(f"ignored {ignored}: it is not a {patterns} file")
    if not files.found:
        builder.missing(
            f"{kind} file {expected} (or folder {name}/) is not in the export"
        )
    elif not files.paths:
        builder.missing(f"{kind} folder {name}/ holds no {patterns} file")
    return builder, files.paths


@contextmanager
def paused_garbage_collection() -> Iterator[None]:
    """Pause the cycle collector while a large export is loaded, then restore it.

    Reading a million records creates a million long-lived dicts, and each one makes
    the collector rescan the ones before it: about a third of the reading time. The
    records hold no reference cycles, so nothing is lost by waiting. This affects the
    whole process, so other threads running at the same time are paused from cycle
    collection too (reference counting still frees their memory).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
