"""Load the framework control catalogues shipped with evidencekit and validate them.

Each framework is one YAML file under ``controls/data/`` named by its id. A control is
addressed by a ref ``<framework>:<control id>`` (``iso27001-2022:A.8.32``), the form
policies use in their ``custom.controls`` metadata.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from evidencekit.config import FRAMEWORKS
from evidencekit.errors import EvidencekitError

logger = logging.getLogger(__name__)

# What a well-formed control id looks like in each framework. The exact number of
# controls is checked by the tests, not here, so a catalogue can be read on its own.
_ID_PATTERNS = {
    "iso27001-2022": re.compile(r"^A\.[5-8]\.[1-9][0-9]?$"),
    "soc2-2017": re.compile(r"^(CC[1-9]|A1|C1|PI1|P[1-8])\.[1-9]$"),
}
_REF_PATTERN = re.compile(
    r"^(?P<framework>[a-z0-9][a-z0-9-]*):(?P<id>[A-Z0-9][A-Z0-9.]*)$"
)
_CONTROL_KEYS = frozenset({"id", "title", "theme"})
_FILE_KEYS = frozenset({"framework", "name", "controls"})


class CatalogueError(EvidencekitError):
    """A control catalogue file is missing, malformed or inconsistent."""


@dataclass(frozen=True)
class Control:
    """One control (or criterion) of a framework."""

    framework: str
    id: str
    title: str
    theme: str

    @property
    def ref(self) -> str:
        """Return the control's ref, e.g. ``iso27001-2022:A.8.32``."""
        return f"{self.framework}:{self.id}"


@dataclass(frozen=True)
class Framework:
    """A framework and its controls, in the catalogue's order."""

    id: str
    name: str
    controls: list[Control]


@dataclass(frozen=True)
class Catalogue:
    """Every framework evidencekit knows, with lookup by control ref.

    Known shortcoming: ``load_catalogue`` hands every caller the same cached object,
    and its dict and lists can be mutated; nothing stops a caller from doing so, and a
    change would be seen by every later caller in the process. Treat it as read-only.
    """

    frameworks: dict[str, Framework]
    _by_ref: dict[str, Control] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_ref = {
            control.ref: control
            for framework in self.frameworks.values()
            for control in framework.controls
        }
        object.__setattr__(self, "_by_ref", by_ref)

    def __contains__(self, ref: object) -> bool:
        """Say whether a ref names a control in the catalogue."""
        return ref in self._by_ref

    def framework(self, framework_id: str) -> Framework:
        """Return one framework; raise KeyError naming the known ones."""
        try:
            return self.frameworks[framework_id]
        except KeyError:
            known = ", ".join(self.frameworks)
            raise KeyError(
                f"framework {framework_id!r} is not in the catalogue (known: {known})"
            ) from None

    def get(self, ref: str) -> Control:
        """Return the control a ref names; raise KeyError saying what is wrong."""
        framework_id, control_id = parse_ref(ref)
        framework = self.framework(framework_id)
        control = self._by_ref.get(ref)
        if control is None:
            raise KeyError(
                f"control {control_id!r} is not in {framework.name} "
                f"({len(framework.controls)} controls, e.g. "
                f"{framework.controls[0].id}); check the ref {ref!r}"
            )
        return control


def parse_ref(ref: str) -> tuple[str, str]:
    """Split ``<framework>:<control id>``; raise ValueError if it is malformed."""
    match = _REF_PATTERN.match(ref) if isinstance(ref, str) else None
    if match is None:
        raise ValueError(
            f"control ref {ref!r} is malformed: expected <framework>:<control id>, "
            "e.g. 'iso27001-2022:A.8.32' or 'soc2-2017:CC8.1'"
        )
    return match["framework"], match["id"]


@cache
def load_catalogue() -> Catalogue:
    """Load and validate every shipped framework catalogue (read once per process)."""
    data = resources.files("evidencekit.controls").joinpath("data")
    frameworks: dict[str, Framework] = {}
    for framework_id in FRAMEWORKS:
        with resources.as_file(data.joinpath(f"{framework_id}.yaml")) as path:
            framework = read_framework(path)
        if framework.id != framework_id:
            raise CatalogueError(
                f"control catalogue {path.name}: framework is {framework.id!r}, "
                f"expected {framework_id!r} to match the file name"
            )
        frameworks[framework_id] = framework
    logger.debug(
        "control catalogue loaded frameworks=%s controls=%d",
        ",".join(frameworks),
        sum(len(framework.controls) for framework in frameworks.values()),
    )
    return Catalogue(frameworks)


def read_framework(path: Path) -> Framework:
    """Read one framework catalogue file and validate every control in it."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise CatalogueError(
            f"cannot read control catalogue {path}: {err.strerror}"
        ) from err
    except yaml.YAMLError as err:
        raise CatalogueError(
            f"control catalogue {path} is not valid YAML: {err}"
        ) from err
    return parse_framework(raw, origin=path.name)


def parse_framework(raw: Any, *, origin: str) -> Framework:
    """Validate the parsed YAML of one catalogue file and build its Framework."""
    if not isinstance(raw, dict) or set(raw) != _FILE_KEYS:
        keys = sorted(raw) if isinstance(raw, dict) else type(raw).__name__
        raise CatalogueError(
            f"control catalogue {origin}: expected a mapping with exactly the keys "
            f"{sorted(_FILE_KEYS)}, got {keys}"
        )
    framework_id = _text(raw, "framework", origin)
    if framework_id not in FRAMEWORKS:
        raise CatalogueError(
            f"control catalogue {origin}: framework {framework_id!r} is unknown; "
            f"expected one of {', '.join(FRAMEWORKS)}"
        )
    entries = raw["controls"]
    if not isinstance(entries, list) or not entries:
        raise CatalogueError(
            f"control catalogue {origin}: 'controls' must be a non-empty list"
        )
    controls = [
        _parse_control(entry, framework_id, f"{origin}, control #{number}")
        for number, entry in enumerate(entries, start=1)
    ]
    _check_unique(controls, origin)
    _check_themes(controls, origin)
    return Framework(framework_id, _text(raw, "name", origin), controls)


def _parse_control(entry: Any, framework_id: str, where: str) -> Control:
    """Validate one control entry: exactly id, title and theme, all non-empty."""
    if not isinstance(entry, dict) or set(entry) != _CONTROL_KEYS:
        keys = sorted(map(str, entry)) if isinstance(entry, dict) else entry
        raise CatalogueError(
            f"control catalogue {where}: expected exactly the keys "
            f"{sorted(_CONTROL_KEYS)}, got {keys!r} (quote a title containing a comma)"
        )
    control_id = _text(entry, "id", where)
    if not _ID_PATTERNS[framework_id].match(control_id):
        raise CatalogueError(
            f"control catalogue {where}: id {control_id!r} is not a well-formed "
            f"{framework_id} control id (pattern {_ID_PATTERNS[framework_id].pattern})"
        )
    where = f"{where} ({control_id})"
    return Control(
        framework_id,
        control_id,
        _text(entry, "title", where),
        _text(entry, "theme", where),
    )


def _text(mapping: dict[str, Any], key: str, where: str) -> str:
    """Return a required string field, stripped; raise if it is absent or blank."""
    value = mapping.get(key)
    if not isinstance(value, str) or not value.strip():
        raise CatalogueError(
            f"control catalogue {where}: field {key!r} must be a non-empty string, "
            f"got {value!r}"
        )
    return value.strip()


def _check_unique(controls: list[Control], origin: str) -> None:
    """Reject a catalogue that lists one control id twice."""
    seen: set[str] = set()
    for control in controls:
        if control.id in seen:
            raise CatalogueError(
                f"control catalogue {origin}: control id {control.id!r} appears twice"
            )
        seen.add(control.id)


def _check_themes(controls: list[Control], origin: str) -> None:
    """Reject controls of one group (``A.5``, ``CC6``) that disagree on their theme."""
    themes: dict[str, Control] = {}
    for control in controls:
        group = control.id.rpartition(".")[0]
        first = themes.setdefault(group, control)
        if first.theme != control.theme:
            raise CatalogueError(
                f"control catalogue {origin}: {control.id} has theme "
                f"{control.theme!r} but {first.id} in the same group has "
                f"{first.theme!r}"
            )
