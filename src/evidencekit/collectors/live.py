"""Fetch a live source into a folder in its export layout, whatever its type."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from evidencekit.collectors.http import FetchReport
from evidencekit.collectors.octopus_live import (
    OctopusApiSource,
    fetch_octopus,
    octopus_client,
)
from evidencekit.collectors.servicenow_live import (
    ServiceNowApiSource,
    fetch_servicenow,
    servicenow_client,
)

LiveSource = OctopusApiSource | ServiceNowApiSource


def fetch_source(
    source: LiveSource, dest: Path, window: tuple[datetime, datetime]
) -> FetchReport:
    """Fetch one live source's pages into ``dest`` and report what is missing."""
    if isinstance(source, OctopusApiSource):
        with octopus_client(source) as client:
            return fetch_octopus(
                client,
                dest,
                spaces=source.spaces,
                window=window,
                page_size=source.page_size,
            )
    with servicenow_client(source) as client:
        return fetch_servicenow(client, dest, window=window, page_size=source.page_size)


def origin(source: LiveSource) -> str:
    """Where a live source is, for the manifest (the URL, never a credential)."""
    return source.url


__all__ = ["LiveSource", "ServiceNowApiSource", "fetch_source", "origin"]
