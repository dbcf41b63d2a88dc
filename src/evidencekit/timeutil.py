"""Parse the timestamp formats of the evidence sources into one canonical UTC form.

Every normalised timestamp is a string ``YYYY-MM-DDTHH:MM:SS.ffffffZ``: UTC, always six
fractional digits. Strings in that form sort and compare in time order, which lets the
Rego policies compare them without parsing.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

CANONICAL_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


class TimestampError(ValueError):
    """A value is not a timestamp in any format the sources use."""


class TimestampRangeError(TimestampError):
    """A timestamp is well formed, but in UTC its year is outside 1 to 9999."""


def _shown(value: object, limit: int = 60) -> str:
    """Show a value in a message, cut short so a huge one cannot flood it."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}..."


def to_canonical(moment: datetime) -> str:
    """Render an aware datetime in the canonical UTC form."""
    if moment.tzinfo is None:
        raise TimestampError(f"timestamp {moment.isoformat()} has no time zone")
    return moment.astimezone(UTC).strftime(CANONICAL_FORMAT)


def from_canonical(text: str) -> datetime:
    """Parse a canonical UTC string back into an aware datetime."""
    return datetime.strptime(text, CANONICAL_FORMAT).replace(tzinfo=UTC)


def parse_iso_offset(text: str) -> str:
    """Normalise an ISO-8601 timestamp that carries an offset (Octopus, AWS, K8s).

    Octopus sends up to seven fractional digits; Python keeps six, so the last
    (100 ns) digit is dropped. A timestamp without an offset is rejected: guessing
    its zone could move a deployment in or out of an approved window.
    """
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    value = _trim_fraction(value)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as err:
        raise TimestampError(f"{text!r} is not an ISO-8601 timestamp") from err
    if moment.tzinfo is None:
        raise TimestampError(f"{text!r} has no UTC offset")
    try:
        return to_canonical(moment)
    except OverflowError as err:  # 9999-12-31T23:59-05:00 is in the year 10000 UTC
        raise TimestampRangeError(
            f"{_shown(text)} is out of range: the year is out of range in UTC "
            "(it must be 1 to 9999)"
        ) from err


def parse_servicenow(text: str) -> str:
    """Normalise a ServiceNow glide date-time value (``YYYY-MM-DD HH:MM:SS``, UTC)."""
    value = text.strip()
    try:
        moment = datetime.strptime(value, "%Y-%m-%d %H:%M:%S")
    except ValueError:
        try:
            moment = datetime.strptime(value, "%Y-%m-%d")
        except ValueError as err:
            raise TimestampError(
                f"{text!r} is not a ServiceNow date-time (YYYY-MM-DD HH:MM:SS)"
            ) from err
    return to_canonical(moment.replace(tzinfo=UTC))


def parse_epoch_millis(value: int | float) -> str:
    """Normalise milliseconds since the Unix epoch (Jira's ``epochMillis``)."""
    try:
        return to_canonical(datetime.fromtimestamp(value / 1000, tz=UTC))
    except (OverflowError, OSError, ValueError) as err:
        raise TimestampRangeError(
            f"{_shown(value)} is out of range: the year is out of range "
            "(it must be 1 to 9999)"
        ) from err


def zone(name: str) -> ZoneInfo:
    """Look up an IANA time zone by name."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as err:
        raise TimestampError(f"{name!r} is not an IANA time zone name") from err


def day_start(day: date, tz: ZoneInfo) -> datetime:
    """Return the first instant of a calendar day in a time zone, as UTC."""
    return datetime.combine(day, time.min, tzinfo=tz).astimezone(UTC)


def period_bounds(start: date, end: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """Turn an inclusive date range in a zone into a half-open UTC interval."""
    return day_start(start, tz), day_start(end + timedelta(days=1), tz)


def month_windows(
    start: date, end: date, tz: ZoneInfo
) -> list[tuple[str, datetime, datetime]]:
    """Split an inclusive date range into calendar months, clipped to the range.

    Each item is ``(YYYY-MM, first instant, end instant exclusive)`` in UTC.
    """
    windows = []
    cursor = start
    while cursor <= end:
        next_month = (cursor.replace(day=1) + timedelta(days=32)).replace(day=1)
        last_day = min(end, next_month - timedelta(days=1))
        lower, upper = period_bounds(cursor, last_day, tz)
        windows.append((cursor.strftime("%Y-%m"), lower, upper))
        cursor = next_month
    return windows


def _trim_fraction(value: str) -> str:
    """Cut a fractional-seconds part to at most six digits."""
    dot = value.find(".")
    if dot == -1:
        return value
    end = dot + 1
    while end < len(value) and value[end].isdigit():
        end += 1
    digits = value[dot + 1 : end]
    if len(digits) <= 6:
        return value
    return value[: dot + 1] + digits[:6] + value[end:]
