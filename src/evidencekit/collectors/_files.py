"""Read export files for the collectors: JSON pages, JSONL archives and CSV tables.

The helpers here know file formats and bookkeeping (de-duplication, per-file counts,
capped warnings, resource status); what a record of a given system looks like lives
in the collector modules.
"""

from __future__ import annotations

import csv
import gc
import json
import logging
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evidencekit.collectors.base import FileStats, Record, ResourceData
from evidencekit.errors import CollectionError, EvidenceError
from evidencekit.results import SourceStatus

logger = logging.getLogger(__name__)

MAX_SHOWN_PROBLEMS = 20  # per resource; the rest are counted in one summary line

# A ServiceNow or Octopus field can hold a very long text (work notes, release notes);
# the csv module's default limit of 128 KiB per field would reject it.
_CSV_FIELD_LIMIT = 2**31 - 1

_PAGE_NAME = re.compile(
    r"^(?:(?P<query>.+)\.)?page-(?P<number>\d+)\.json$", re.IGNORECASE
)

# A JSON escape of a UTF-16 surrogate (\ud800 to \udfff). Only a file holding one
# can decode to a string with a lone surrogate, so only such a file is walked.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89abcdefABCDEF]")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
REPLACEMENT = "\ufffd"

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
    """The files of one resource: those read, in reading order, and those not read."""

    paths: list[Path] = field(default_factory=list)
    # Regular files under the resource's folder that are not read as evidence
    # (a sub-folder, another suffix), relative to the source folder.
    ignored: list[str] = field(default_factory=list)
    # Symbolic links where a file of the resource would be; never followed. Only
    # kept apart when asked: otherwise a link is taken as what it points to.
    links: list[str] = field(default_factory=list)
    found: bool = False  # the file or the folder of that name exists
    separate_links: bool = False

    def is_link(self, path: Path) -> bool:
        """Tell whether ``path`` is a symbolic link to keep apart, not to read."""
        return self.separate_links and path.is_symlink()


RecordCheck = Callable[[Record], Iterable[FieldProblem]]


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
    """Collect the records of one resource: de-duplicate, count and grade them.

    ``required_fields`` are the keys a policy needs: a record without one of them
    (absent, not merely empty) is kept, and the resource is incomplete. ``checks``
    are functions that return the problems of a normalised record (fields that
    contradict each other); a record with a problem is kept too, and the resource
    is incomplete.
    """

    def __init__(
        self,
        source: str,
        name: str,
        *,
        required_fields: Sequence[str] = (),
        checks: Sequence[RecordCheck] = (),
    ) -> None:
        self.source = source
        self.data = ResourceData(name=name)
        self.required_fields = tuple(required_fields)
        self.checks = tuple(checks)
        self._ref_prefix = f"{source}/{name}/"
        self._status = SourceStatus.COMPLETE
        self._problems = ProblemLog(name, "problems with files or records")
        self._absent = ProblemLog(name, "records without a field the policies need")
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

    def add(
        self,
        record_id: str,
        record: Record,
        stats: FileStats,
        raw: Mapping[str, Any] | None = None,
    ) -> bool:
        """Add a normalised record; return False when its id was already seen.

        ``raw`` is the record as sent, for the required-field check when the
        normalised record fills absent fields in (a projection); without it the
        normalised record is checked.
        """
        stats.records += 1
        first = self.data.records.get(record_id)
        if first is None:
            self._check_record(record_id, record, stats.path, raw)
            record["_ref"] = self._ref_prefix + record_id
            record["_file"] = stats.path
            self.data.records[record_id] = record
            return True
        self.data.duplicates += 1
        changed = _differing_fields(first, record)
        if changed:
            self._conflicts.add(
                f"{self.data.name}: record {record_id} in {stats.path} differs from "
                f"the first copy in {first['_file']} (fields {', '.join(changed)}); "
                "the first copy is kept"
            )
            self._degrade(SourceStatus.INCOMPLETE)
        return False

    def bad_record(self, problem: EvidenceError) -> None:
        """Note a skipped record or blanked field: the resource is incomplete."""
        self._problems.add(f"{self.data.name}: {problem}")
        self._degrade(SourceStatus.INCOMPLETE)

    def bad_file(self, problem: EvidenceError) -> None:
        """Note a file that could not be parsed: the resource has failed."""
        self._problems.add(f"{self.data.name}: {problem}")
        self._degrade(SourceStatus.FAILED)

    def unread_file(self, message: str) -> None:
        """Note a file of the resource that was not read: the resource is incomplete."""
        self._problems.add(f"{self.data.name}: {message}")
        self._degrade(SourceStatus.INCOMPLETE)

    def linked_file(self, relative: str) -> None:
        """Note a symbolic link where a file of the resource would be: it failed."""
        self._problems.add(
            f"{self.data.name}: {relative} is a symbolic link; evidencekit reads "
            "only regular files"
        )
        self._degrade(SourceStatus.FAILED)

    def repaired_text(self, relative: str, where: Iterable[str]) -> None:
        """Note strings whose lone surrogates were replaced; the status is unchanged."""
        for location in where:
            self.note(
                f"file {relative}, {location} held an invalid Unicode code unit, "
                "shown as U+FFFD"
            )

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
        self.data.warnings.extend(self._absent.lines())
        self.data.warnings.extend(self._conflicts.lines())
        self.data.status = self._status
        return self.data

    def _check_record(
        self,
        record_id: str,
        record: Record,
        relative: str,
        raw: Mapping[str, Any] | None,
    ) -> None:
        """Grade a first copy: absent required fields and contradictions."""
        sent = record if raw is None else raw
        for name in self.required_fields:
            if name in sent:
                continue
            absent = EvidenceError(
                "the field is absent and the policies need it; the record is kept",
                source=self.source,
                file=relative,
                record=record_id,
                field=name,
            )
            self._absent.add(f"{self.data.name}: {absent}")
            self._degrade(SourceStatus.INCOMPLETE)
        for check in self.checks:
            for problem in check(record):
                self.bad_record(
                    EvidenceError(
                        f"{problem.reason}; the record is kept",
                        source=self.source,
                        file=relative,
                        record=record_id,
                        field=problem.field_name,
                    )
                )

    def _degrade(self, status: SourceStatus) -> None:
        if _SEVERITY[status] > _SEVERITY[self._status]:
            self._status = status


def _differing_fields(first: Record, second: Record) -> list[str]:
    """Name the fields in which a second copy differs from the stored first copy."""
    missing = object()
    names = [key for key, value in second.items() if first.get(key, missing) != value]
    names.extend(
        key for key in first if key not in second and key not in ("_ref", "_file")
    )
    return sorted(names)


def relative_name(path: Path, folder: Path) -> str:
    """Return a file's path relative to the source folder, with forward slashes."""
    return path.relative_to(folder).as_posix()


def find_resource_files(
    folder: Path,
    name: str,
    suffixes: tuple[str, ...],
    *,
    separate_links: bool = False,
) -> ResourceFiles:
    """Find ``<name><suffix>`` files and the files of a ``<name>/`` folder.

    Suffixes match in any case (``.JSON`` is JSON). Inside the folder, the files at
    its top are read by suffix (in the order given), then by query and page number,
    so ``page-10`` follows ``page-9``. Every other regular file below the folder, at
    any depth, is listed as ignored; hidden files and folders are skipped. With
    ``separate_links``, symbolic links are listed as links and never followed (the
    AWS and JSM readers do not ask for it yet, so for them a link is followed, and
    the snapshot writer refuses it when it is staged). An unreadable folder raises
    ``OSError``.
    """
    found = ResourceFiles(separate_links=separate_links)
    for suffix in suffixes:
        for single in _top_level_matches(folder, f"{name}{suffix}"):
            _add_single(found, folder, single)
    directory = folder / name
    if found.is_link(directory):
        found.links.append(relative_name(directory, folder))
    elif directory.is_dir():
        found.found = True
        _add_folder_files(found, folder, directory, suffixes)
    return found


def _top_level_matches(folder: Path, file_name: str) -> list[Path]:
    """Return ``folder/file_name`` and any entry whose suffix differs only in case."""
    stem = file_name.rpartition(".")[0]
    return sorted(
        entry
        for entry in folder.glob(f"{_literal(stem)}.*")
        if entry.name.lower() == file_name.lower() and entry.name.startswith(stem)
    )


def _literal(text: str) -> str:
    """Escape the characters ``glob`` treats as patterns."""
    return "".join(f"[{char}]" if char in "*?[" else char for char in text)


def _add_single(found: ResourceFiles, folder: Path, path: Path) -> None:
    if found.is_link(path):
        found.links.append(relative_name(path, folder))
    elif path.is_file():
        found.paths.append(path)
        found.found = True


def _add_folder_files(
    found: ResourceFiles, folder: Path, directory: Path, suffixes: tuple[str, ...]
) -> None:
    entries = sorted(
        directory.iterdir(), key=lambda path: _reading_order(path, suffixes)
    )
    for path in entries:
        if path.name.startswith("."):
            continue
        if found.is_link(path):
            found.links.append(relative_name(path, folder))
        elif path.is_file() and path.suffix.lower() in suffixes:
            found.paths.append(path)
        else:
            _add_unread(found, folder, path)


def _add_unread(found: ResourceFiles, folder: Path, path: Path) -> None:
    """List a file that is not read, or every file below a sub-folder."""
    if path.is_file():
        found.ignored.append(relative_name(path, folder))
        return
    if not path.is_dir():
        return  # a socket or a device: nothing a snapshot could keep
    for entry in sorted(path.iterdir()):
        if entry.name.startswith("."):
            continue
        if found.is_link(entry):
            found.links.append(relative_name(entry, folder))
        else:
            _add_unread(found, folder, entry)


def _reading_order(path: Path, suffixes: tuple[str, ...]) -> tuple[int, str, int, str]:
    suffix = path.suffix.lower()
    rank = suffixes.index(suffix) if suffix in suffixes else len(suffixes)
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


def read_json(
    path: Path, relative: str, source: str, builder: ResourceBuilder | None = None
) -> Any:
    """Parse one JSON file; raise ``EvidenceError`` naming it if that fails.

    A string holding a lone UTF-16 surrogate (``"\\udc00"`` with no partner) is
    valid JSON but not valid Unicode, and it crashes the Rego engine; each one is
    replaced with U+FFFD and noted on ``builder`` (or logged). The raw file, which
    the snapshot keeps, is unchanged.
    """
    try:
        raw = path.read_bytes()
        document = json.loads(raw)
    except OSError as err:
        raise EvidenceError(
            f"cannot read the file ({err.strerror})", source=source, file=relative
        ) from err
    except (ValueError, RecursionError) as err:  # JSONDecodeError, bad UTF-8, nesting
        raise EvidenceError(
            f"the file is not valid JSON ({err})", source=source, file=relative
        ) from err
    if _SURROGATE_ESCAPE.search(raw) is None:
        return document
    document, where = without_lone_surrogates(document)
    _report_repairs(relative, where, builder)
    return document


def without_lone_surrogates(value: Any, location: str = "") -> tuple[Any, list[str]]:
    """Return ``value`` with lone surrogates replaced, and where they were.

    A location names the record as its JSON path (``Items[3], field 'Comments'``).
    """
    where: list[str] = []
    return _repaired(value, location, where), where


def _repaired(value: Any, location: str, where: list[str]) -> Any:
    if isinstance(value, str):
        if _LONE_SURROGATE.search(value) is None:
            return value
        where.append(_describe_location(location))
        return _LONE_SURROGATE.sub(REPLACEMENT, value)
    if isinstance(value, list):
        return [
            _repaired(item, f"{location}[{index}]", where)
            for index, item in enumerate(value)
        ]
    if isinstance(value, dict):
        repaired: dict[str, Any] = {}
        for key, item in value.items():
            name = _repaired(key, location, where)
            repaired[name] = _repaired(item, f"{location}.{name}", where)
        return repaired
    return value


def _describe_location(location: str) -> str:
    """Turn ``.Items[3].Comments`` into ``record Items[3], field 'Comments'``."""
    parts = location.lstrip(".").split(".", 1)
    if not parts[0]:
        return "the document"
    if len(parts) == 1:
        return f"record {parts[0]}"
    return f"record {parts[0]}, field {parts[1]!r}"


def _report_repairs(
    relative: str, where: list[str], builder: ResourceBuilder | None
) -> None:
    if builder is not None:
        builder.repaired_text(relative, where)
        return
    for location in where:
        logger.warning(
            "invalid unicode replaced file=%s where=%s: held an invalid Unicode "
            "code unit, shown as U+FFFD",
            relative,
            location,
        )


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
    path: Path, relative: str, source: str, builder: ResourceBuilder | None = None
) -> Iterator[tuple[int, Any, str | None]]:
    """Yield ``(line number, value, problem)`` for each non-blank line of a JSONL file.

    A line that is not JSON yields ``problem`` (and ``None`` as value) instead of
    stopping the file, so one torn line does not hide the rest of a day's archive.
    Lone surrogates are replaced as in ``read_json``.
    """
    try:
        with path.open("rb") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    value = json.loads(line)
                except (ValueError, RecursionError) as err:
                    yield number, None, f"the line is not valid JSON ({err})"
                    continue
                if _SURROGATE_ESCAPE.search(line) is not None:
                    value, where = without_lone_surrogates(value, f"line {number}")
                    _report_repairs(relative, where, builder)
                yield number, value, None
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
    name, or text the csv module cannot parse raises ``EvidenceError`` naming the
    line; the rows yielded before it stand.

    The reader is strict, so a stray quote that opens a cell and never closes it
    stops the file with an error instead of swallowing every row after it. A stray
    quote that a later one closes is caught only if it leaves a row with the wrong
    number of cells (a bad record); otherwise the rows between the two quotes are
    read as one cell. Text cannot hold a lone surrogate here: the UTF-8 decoder
    refuses one, which fails the file.
    """
    csv.field_size_limit(_CSV_FIELD_LIMIT)
    try:
        handle = path.open(encoding="utf-8-sig", newline="")
    except OSError as err:
        raise EvidenceError(
            f"cannot read the file ({err.strerror})", source=source, file=relative
        ) from err
    with handle:
        reader = csv.DictReader(handle, strict=True)
        row_start = 1  # the line the row being parsed starts on
        try:
            _check_header(reader.fieldnames, relative, source)
            row_start = reader.line_num + 1
            for row in reader:
                yield _checked_row(reader.line_num, row, len(reader.fieldnames or ()))
                row_start = reader.line_num + 1
        except OSError as err:
            raise EvidenceError(
                f"cannot read the file ({err.strerror})", source=source, file=relative
            ) from err
        except (csv.Error, UnicodeDecodeError) as err:
            raise EvidenceError(
                f"the file is not valid UTF-8 CSV from line {row_start} ({err}); "
                "the rows before it are kept, none after it is read",
                source=source,
                file=relative,
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
    folder: Path,
    source: str,
    layout: dict[str, tuple[str, ...]],
    *,
    strays: bool = False,
) -> list[Path]:
    """List what to stage for every resource in ``layout`` (name -> suffixes read).

    That is each resource's files and every other regular file below its folder, so
    the snapshot keeps what ``read`` then reports as not read. Symbolic links are
    listed too: the snapshot writer refuses them and records each one, with the
    resources it belongs to, in the manifest, so the gap it leaves stays visible
    after staging. With ``strays``, the regular files at the top of ``folder`` that
    belong to no resource are listed as well (``read`` notes them with
    ``note_stray_files``).
    """
    check_export_folder(folder, source)
    paths: list[Path] = []
    for name, suffixes in layout.items():
        try:
            files = find_resource_files(folder, name, suffixes, separate_links=True)
        except OSError as err:
            raise CollectionError(
                f"cannot list the folder ({err.strerror})", source=source, file=name
            ) from err
        paths.extend(files.paths)
        paths.extend(folder / relative for relative in (*files.ignored, *files.links))
    if strays:
        paths.extend(folder / relative for relative in stray_files(folder, layout))
    return paths


def stray_files(folder: Path, layout: dict[str, tuple[str, ...]]) -> list[str]:
    """Name the regular, non-hidden files at the top of ``folder`` of no resource."""
    known = {
        f"{name}{suffix}".lower() for name, suffixes in layout.items()
        for suffix in suffixes
    }  # fmt: skip
    try:
        entries = sorted(folder.iterdir())
    except OSError:
        return []  # check_export_folder has reported an unreadable folder
    return [
        entry.name
        for entry in entries
        if not entry.name.startswith(".")
        and entry.name.lower() not in known
        and entry.name not in layout
        and not entry.is_symlink()
        and entry.is_file()
    ]


def note_stray_files(
    resource: ResourceData, folder: Path, layout: dict[str, tuple[str, ...]]
) -> None:
    """Note, on one resource, the files of the export folder that no resource reads.

    A note, not a gap: such a file (a README, a script) is no resource's evidence.
    It is staged, so the note is the same when a stored snapshot is read again.
    """
    for name in stray_files(folder, layout):
        resource.warnings.append(
            f"{resource.name}: the export folder also holds {name}, which is not a "
            "file of any resource; it is kept in the snapshot but not read"
        )


def start_resource(
    folder: Path,
    source: str,
    name: str,
    suffixes: tuple[str, ...],
    *,
    required: bool,
    required_fields: Sequence[str] = (),
    checks: Sequence[RecordCheck] = (),
) -> tuple[ResourceBuilder, list[Path]]:
    """Find a resource's files and grade what is absent before any record is read.

    A file or folder that is not there, or a folder with nothing to read, makes the
    resource MISSING, whether or not it is required: an absent optional resource is
    not evidence that there was nothing to find, so the policies that need it are
    reported not tested. A file below its folder that is not read makes it
    INCOMPLETE, and a symbolic link in its place makes it FAILED.
    """
    builder = ResourceBuilder(
        source, name, required_fields=required_fields, checks=checks
    )
    builder.data.required = required
    expected = " or ".join(f"{name}{suffix}" for suffix in suffixes)
    patterns = " or ".join(f"*{suffix}" for suffix in suffixes)
    kind = "required" if required else "optional"
    try:
        files = find_resource_files(folder, name, suffixes, separate_links=True)
    except OSError as err:
        problem = EvidenceError(
            f"cannot list the folder ({err.strerror})", source=source, file=f"{name}/"
        )
        builder.bad_file(problem)
        return builder, []
    for ignored in files.ignored:
        builder.unread_file(
            f"{ignored} is not a {patterns} page file at the top of {name}/, "
            "so it was not read"
        )
    for link in files.links:
        builder.linked_file(link)
    if not files.found and not files.links:  # a link has already failed it
        builder.missing(
            f"{kind} file {expected} (or folder {name}/) is not in the export"
        )
    elif files.found and not files.paths:
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
