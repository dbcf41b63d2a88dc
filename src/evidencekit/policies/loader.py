"""Find the Rego policies in a folder and read their METADATA blocks.

This regorus build has no ``rego.metadata.*``, so the package-level ``# METADATA``
block (YAML inside comments, directly above ``package``) is parsed here, in Python,
and validated before anything is evaluated.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from evidencekit.errors import PolicyError
from evidencekit.policies.prepare import known_resources

SEVERITIES = ("critical", "high", "medium", "low")
POLICY_PACKAGE_PREFIX = "evidencekit.policies."
LIBRARY_PACKAGE_PREFIX = "evidencekit.lib."
TEST_SUFFIX = "_test.rego"

_CONTROL_REF = re.compile(r"^(iso27001-2022|soc2-2017):[A-Z0-9.]+$")
_KEBAB_ID = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
_PACKAGE_LINE = re.compile(r"^package\s+([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)\s*(?:#.*)?$")
_REQUIRED_CUSTOM = ("id", "severity", "controls", "requires")


@dataclass(frozen=True)
class Policy:
    """One Rego policy and the metadata it declares."""

    id: str
    title: str
    description: str
    severity: str
    controls: list[str]
    requires: list[str]  # "<type>.<resource>", e.g. "octopus.deployments"
    package: str  # e.g. "evidencekit.policies.change_approval"
    path: Path
    source: str


def load_policies(policy_dir: Path) -> list[Policy]:
    """Load and validate every policy (not library, not test) under a folder."""
    policies = []
    for path in _rego_files(policy_dir, tests=False):
        text = _read(path)
        package = package_of(text, path)
        if package.startswith(LIBRARY_PACKAGE_PREFIX):
            continue
        policies.append(_parse_policy(path, text, package))
    if not policies:
        raise PolicyError(f"no policies found in {policy_dir} (expected *.rego files)")
    _reject_duplicate_ids(policies)
    return policies


def load_modules(policy_dir: Path) -> list[tuple[str, str]]:
    """Return ``(path, text)`` of every policy and library module, tests excluded."""
    return [_module(policy_dir, path) for path in _rego_files(policy_dir, tests=False)]


def load_test_modules(policy_dir: Path) -> list[tuple[str, str]]:
    """Return ``(path, text)`` of every ``*_test.rego`` module under a folder."""
    return [_module(policy_dir, path) for path in _rego_files(policy_dir, tests=True)]


def package_of(text: str, path: Path | str) -> str:
    """Return the package a Rego module declares; raise if it declares none."""
    for line in text.splitlines():
        match = _PACKAGE_LINE.match(line.strip())
        if match:
            return match.group(1)
    raise PolicyError(f"policy file {path}: no 'package' line found")


def metadata_block(text: str, path: Path | str) -> dict[str, Any]:
    """Parse the ``# METADATA`` comment block directly above the package line."""
    lines = text.splitlines()
    package_index = next(
        (i for i, line in enumerate(lines) if _PACKAGE_LINE.match(line.strip())), None
    )
    if package_index is None:
        raise PolicyError(f"policy file {path}: no 'package' line found")
    start = package_index - 1
    while start >= 0 and lines[start].lstrip().startswith("#"):
        if lines[start].strip() == "# METADATA":
            return _parse_yaml(lines[start + 1 : package_index], path)
        start -= 1
    raise PolicyError(
        f"policy file {path}: no '# METADATA' comment block directly above 'package'"
    )


def _rego_files(policy_dir: Path, *, tests: bool) -> list[Path]:
    if not policy_dir.is_dir():
        raise PolicyError(f"policy folder {policy_dir} does not exist")
    files = sorted(policy_dir.rglob("*.rego"))
    return [path for path in files if path.name.endswith(TEST_SUFFIX) is tests]


def _module(policy_dir: Path, path: Path) -> tuple[str, str]:
    return path.relative_to(policy_dir).as_posix(), _read(path)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as err:
        raise PolicyError(f"cannot read policy file {path}: {err.strerror}") from err
    except UnicodeDecodeError as err:
        raise PolicyError(f"policy file {path} is not UTF-8 text: {err}") from err


def _parse_yaml(comment_lines: list[str], path: Path | str) -> dict[str, Any]:
    body = "\n".join(_uncomment(line) for line in comment_lines)
    try:
        parsed = yaml.safe_load(body)
    except yaml.YAMLError as err:
        raise PolicyError(
            f"policy file {path}: METADATA is not valid YAML: {err}"
        ) from err
    if not isinstance(parsed, dict):
        raise PolicyError(f"policy file {path}: METADATA must be a YAML mapping")
    return parsed


def _uncomment(line: str) -> str:
    text = line.lstrip()[1:]
    return text[1:] if text.startswith(" ") else text


def _parse_policy(path: Path, text: str, package: str) -> Policy:
    metadata = metadata_block(text, path)
    custom = metadata.get("custom")
    custom = custom if isinstance(custom, dict) else {}
    _require_fields(path, metadata, custom)
    policy = Policy(
        id=_string(path, "custom.id", custom["id"]),
        title=_string(path, "title", metadata["title"]),
        description=_string(path, "description", metadata.get("description") or ""),
        severity=_string(path, "custom.severity", custom["severity"]),
        controls=_string_list(path, "custom.controls", custom["controls"]),
        requires=_string_list(path, "custom.requires", custom["requires"]),
        package=package,
        path=path,
        source=text,
    )
    _validate(policy)
    return policy


def _require_fields(
    path: Path, metadata: dict[str, Any], custom: dict[str, Any]
) -> None:
    missing = [] if _present(metadata.get("title")) else ["title"]
    missing += [
        f"custom.{key}" for key in _REQUIRED_CUSTOM if not _present(custom.get(key))
    ]
    if missing:
        raise PolicyError(
            f"policy file {path}: METADATA field {missing[0]!r} is missing or empty"
            + (f" (also {', '.join(missing[1:])})" if missing[1:] else "")
        )


def _present(value: Any) -> bool:
    return value not in (None, "", [])


def _string(path: Path, field: str, value: Any) -> str:
    if not isinstance(value, str):
        raise PolicyError(f"policy file {path}: METADATA field {field!r} must be text")
    return value.strip()


def _string_list(path: Path, field: str, value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise PolicyError(
            f"policy file {path}: METADATA field {field!r} must be a list of text"
        )
    return [item.strip() for item in value]


def _validate(policy: Policy) -> None:
    where = f"policy file {policy.path}"
    if not _KEBAB_ID.match(policy.id):
        raise PolicyError(f"{where}: custom.id {policy.id!r} is not kebab-case")
    if policy.severity not in SEVERITIES:
        raise PolicyError(
            f"{where}: custom.severity {policy.severity!r} is not one of "
            f"{', '.join(SEVERITIES)}"
        )
    for control in policy.controls:
        if not _CONTROL_REF.match(control):
            raise PolicyError(
                f"{where}: custom.controls entry {control!r} is not a control ref "
                "like 'iso27001-2022:A.8.32' or 'soc2-2017:CC8.1'"
            )
    for resource in policy.requires:
        _validate_resource(where, resource)
    expected = POLICY_PACKAGE_PREFIX + policy.id.replace("-", "_")
    if policy.package != expected:
        raise PolicyError(
            f"{where}: package {policy.package} does not match custom.id "
            f"{policy.id!r} (expected package {expected})"
        )


def _validate_resource(where: str, resource: str) -> None:
    source_type, _, name = resource.partition(".")
    resources = known_resources()
    if name not in resources.get(source_type, ()):
        known = ", ".join(
            f"{kind}.{item}" for kind, items in resources.items() for item in items
        )
        raise PolicyError(
            f"{where}: custom.requires entry {resource!r} is not a known resource "
            f"(one of {known})"
        )


def _reject_duplicate_ids(policies: list[Policy]) -> None:
    seen: dict[str, Path] = {}
    for policy in policies:
        if policy.id in seen:
            raise PolicyError(
                f"policy file {policy.path}: custom.id {policy.id!r} is already used "
                f"by {seen[policy.id]}"
            )
        seen[policy.id] = policy.path
