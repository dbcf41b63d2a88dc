"""Every source definition shipped in collectors/ is valid configuration."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from evidencekit.collectors.base import registry
from evidencekit.config import parse_config
from evidencekit.resources import bundled_dir

DEFINITIONS = sorted(bundled_dir("collectors").glob("*.yaml"))


def test_every_registered_collector_has_a_definition_file() -> None:
    assert {path.stem for path in DEFINITIONS} >= set(registry())


@pytest.mark.parametrize("path", DEFINITIONS, ids=lambda path: path.stem)
def test_definitions_validate(path: Path) -> None:
    blocks: dict[str, dict[str, Any]] = yaml.safe_load(path.read_text("utf-8"))
    assert blocks, path
    for label, source in blocks.items():
        config = parse_config(
            {
                "organisation": "Definitions check",
                "period": {"start": "2026-01-01", "end": "2026-03-31"},
                "production_environments": ["Production"],
                "sources": [source],
            },
            origin=f"{path.name}:{label}",
        )
        assert config.sources[0].type == path.stem
