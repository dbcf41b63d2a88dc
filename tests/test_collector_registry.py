"""Every registered collector declares what it reads and what access it needs."""

from __future__ import annotations

import inspect

import pytest

from evidencekit.collectors.base import Collector, registry

COLLECTORS = sorted(registry().items())


def test_the_export_collectors_are_registered() -> None:
    assert {"octopus", "servicenow"} <= set(registry())


@pytest.mark.parametrize(("key", "collector"), COLLECTORS)
def test_collector_declares_its_metadata(key: str, collector: type[Collector]) -> None:
    assert collector.type == key
    assert collector.description.strip(), f"{key}: description is empty"
    assert collector.permissions, f"{key}: no permissions declared"
    assert all(p.strip() for p in collector.permissions), f"{key}: blank permission"
    assert collector.resources, f"{key}: no resources declared"
    assert any(spec.required for spec in collector.resources)


@pytest.mark.parametrize(("key", "collector"), COLLECTORS)
def test_resource_specs_are_unique_and_described(
    key: str, collector: type[Collector]
) -> None:
    names = [spec.name for spec in collector.resources]

    assert len(names) == len(set(names)), f"{key}: duplicate resource names"
    for spec in collector.resources:
        assert spec.name.strip() and spec.name == spec.name.strip()
        assert spec.description.strip(), f"{key}.{spec.name}: no description"
        assert spec.files, f"{key}.{spec.name}: no export files named"


@pytest.mark.parametrize(("key", "collector"), COLLECTORS)
def test_collector_implements_the_protocol(
    key: str, collector: type[Collector]
) -> None:
    instance = collector()

    for method in ("evidence_files", "read"):
        assert callable(getattr(instance, method)), f"{key}: no {method}()"
        assert inspect.getdoc(getattr(collector, method)), (
            f"{key}.{method}: no docstring"
        )
    assert list(inspect.signature(instance.read).parameters) == [
        "folder",
        "source_name",
    ]
