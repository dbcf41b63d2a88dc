"""Fetch a live source into a folder in its export layout, whatever its type."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from evidencekit.collectors import aws_iam_live
from evidencekit.collectors.aws_iam import AwsSource
from evidencekit.collectors.http import FetchReport
from evidencekit.collectors.jsm import JsmSource
from evidencekit.collectors.jsm_live import fetch_jsm, jsm_client
from evidencekit.collectors.kubernetes_live import fetch_kubernetes
from evidencekit.collectors.kubernetes_rbac import KubernetesSource
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
from evidencekit.config import ExportSource
from evidencekit.errors import ConfigError

LiveSource = (
    OctopusApiSource | ServiceNowApiSource | KubernetesSource | JsmSource | AwsSource
)
# Sources that can name an export folder (``path``) instead of a live system.
ExportCapable = ExportSource | KubernetesSource | JsmSource | AwsSource


def is_live(source: object) -> bool:
    """True for a source read from a running system rather than an export folder."""
    if isinstance(source, KubernetesSource):
        return source.kubeconfig is not None
    if isinstance(source, JsmSource | AwsSource):
        return source.is_live
    return isinstance(source, OctopusApiSource | ServiceNowApiSource)


def fetch_source(
    source: LiveSource, dest: Path, window: tuple[datetime, datetime]
) -> FetchReport:
    """Fetch one live source's pages into ``dest`` and report what is missing."""
    if isinstance(source, KubernetesSource):
        if source.kubeconfig is None:
            raise ConfigError(f"source {source.name}: no kubeconfig to fetch from")
        return fetch_kubernetes(
            dest,
            kubeconfig=source.kubeconfig,
            context=source.context,
            source=source.name,
        )
    if isinstance(source, AwsSource):
        return aws_iam_live.fetch_source(source, dest)
    if isinstance(source, JsmSource):
        with jsm_client(source) as client:
            return fetch_jsm(client, dest, source=source, window=window)
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
    if isinstance(source, AwsSource):
        return aws_iam_live.origin(source)
    if isinstance(source, KubernetesSource):
        context = f" context {source.context}" if source.context else ""
        return f"kubeconfig {source.kubeconfig}{context} (cluster {source.cluster})"
    return source.url or ""


__all__ = ["ExportCapable", "LiveSource", "fetch_source", "is_live", "origin"]
