"""Run the pipeline: collect into a snapshot, evaluate the policies, write the reports.

This is the only module that catches broadly: a collector that fails for any reason is
recorded as a failed source, and the run goes on with the others.
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from evidencekit import __version__
from evidencekit.access import build_access_review
from evidencekit.collectors import live
from evidencekit.collectors.base import ResourceData, SourceData, registry
from evidencekit.collectors.http import apply_fetch_report
from evidencekit.config import Config, ExportSource
from evidencekit.controls.catalogue import load_catalogue
from evidencekit.controls.mapping import check_mapping, control_results
from evidencekit.errors import ConfigError, SnapshotError
from evidencekit.evidence.snapshot import Snapshot, SnapshotStore, SnapshotWriter
from evidencekit.evidence.verify import verify_snapshot
from evidencekit.exitcodes import ExitCode
from evidencekit.policies.engine import check_builtins, make_engine
from evidencekit.policies.evaluate import RawFinding, evaluate_policies
from evidencekit.policies.loader import Policy, load_modules, load_policies
from evidencekit.policies.prepare import build_input, reads_raw_events
from evidencekit.reports import write_reports
from evidencekit.resources import bundled_dir
from evidencekit.results import (
    EvidenceRef,
    Finding,
    Period,
    PolicyResult,
    PolicyStatus,
    ResourceSummary,
    RunResult,
    SourceStatus,
    SourceSummary,
)
from evidencekit.timeutil import period_bounds, to_canonical, zone

logger = logging.getLogger(__name__)

SourceCallback = Callable[[str, SourceData], None]


@dataclass(frozen=True)
class Collection:
    """A committed snapshot and the normalised data read from it."""

    snapshot: Snapshot
    sources: list[SourceData]


def collect(config: Config, on_source: SourceCallback | None = None) -> Collection:
    """Collect every configured source into one new snapshot."""
    store = SnapshotStore(config.store)
    with store.begin(
        organisation=config.organisation,
        period=_period_dict(config),
        tool_version=__version__,
    ) as writer:
        sources = []
        for source in config.sources:
            if isinstance(source, live.ExportCapable) and not live.is_live(source):
                data = _collect_export(writer, source)
                writer.add_source(data, mode="export", origin=str(source.path))
            else:
                assert not isinstance(source, ExportSource)  # noqa: S101  (narrowing)
                data, window = _collect_live(writer, source, config)
                writer.add_source(
                    data, mode="api", origin=live.origin(source), query_window=window
                )
            sources.append(data)
            if on_source is not None:
                on_source(source.name, data)
        snapshot = writer.commit()
    return Collection(snapshot=snapshot, sources=sources)


def open_snapshot(config: Config, snapshot_id: str | None) -> Collection:
    """Re-read a stored snapshot (the latest when no id is given) without collecting.

    The snapshot's files are checked against its manifest first, and its period
    must be the configured one: evaluating altered evidence, or a quarter's
    evidence against another quarter, would report on something else.
    """
    store = SnapshotStore(config.store)
    if snapshot_id is not None and snapshot_id not in store.ids():
        raise ConfigError(f"there is no snapshot {snapshot_id!r} in {config.store}")
    snapshot = store.get(snapshot_id) if snapshot_id else store.latest()
    if snapshot is None:
        raise SnapshotError(f"the store {config.store} holds no snapshot yet")
    problems = verify_snapshot(store, snapshot.id).problems
    if problems:
        shown = "; ".join(f"{p.kind} {p.path or ''}: {p.detail}" for p in problems[:5])
        raise SnapshotError(
            f"snapshot {snapshot.id} does not match its manifest ({shown}); "
            "run `evidencekit verify` for the full list"
        )
    recorded, wanted = snapshot.manifest.get("period", {}), _period_dict(config)
    if any(recorded.get(key) != wanted[key] for key in ("start", "end", "timezone")):
        raise ConfigError(
            f"snapshot {snapshot.id} was collected for "
            f"{recorded.get('start')}..{recorded.get('end')} "
            f"({recorded.get('timezone')}), but the config's period is "
            f"{wanted['start']}..{wanted['end']} ({wanted['timezone']})"
        )
    collected = {entry["name"] for entry in snapshot.manifest.get("sources", [])}
    configured = {source.name for source in config.sources}
    if collected != configured:
        raise ConfigError(
            f"snapshot {snapshot.id} holds sources {', '.join(sorted(collected))}, "
            f"but the config names {', '.join(sorted(configured))}: a configured "
            "source missing from it would read as not collected"
        )
    return Collection(snapshot=snapshot, sources=read_snapshot(snapshot))


def read_snapshot(snapshot: Snapshot) -> list[SourceData]:
    """Read a snapshot's sources back, keeping the statuses recorded at collection."""
    collectors = registry()
    sources = []
    for entry in snapshot.manifest["sources"]:
        name, kind = entry["name"], entry["type"]
        if entry["status"] == SourceStatus.FAILED:
            data = SourceData(
                name=name,
                type=kind,
                location=entry.get("origin", ""),
                status=SourceStatus.FAILED,
                error=entry.get("error"),
            )
        else:
            data = collectors[kind]().read(snapshot.source_folder(name), name)
            _apply_recorded_status(data, entry)
        sources.append(data)
    return sources


def evaluate(config: Config, collection: Collection) -> RunResult:
    """Evaluate the shipped policies on a collection and map them to controls."""
    policy_dir = config.policy_dir or bundled_dir("policies")
    policies = load_policies(policy_dir)
    catalogue = load_catalogue()
    check_mapping(catalogue, policies)

    engine = make_engine(config.engine)
    modules = load_modules(policy_dir)
    check_builtins(engine.name, modules)
    engine.load(modules)

    input_doc = build_input(
        config, collection.sources, keep_events=reads_raw_events(modules)
    )
    _check_production_environments(config, input_doc, collection.sources)
    availability = resource_availability(collection.sources)
    policy_results, raw_findings = evaluate_policies(
        engine,
        policies,
        input_doc,
        availability,
        not_collected=not_collected(collection.sources),
    )
    findings = _resolve_findings(raw_findings, policies, collection)
    controls = control_results(catalogue, list(config.frameworks), policy_results)
    return RunResult(
        organisation=config.organisation,
        period=_period(config),
        frameworks=list(config.frameworks),
        snapshot_id=collection.snapshot.id,
        manifest_sha256=collection.snapshot.manifest_sha256,
        generated_at=to_canonical(datetime.now(UTC)),
        tool_version=__version__,
        engine=engine.name,
        sources=[_summary(data) for data in collection.sources],
        findings=findings,
        policies=policy_results,
        controls=controls,
        manifest=collection.snapshot.manifest,
        access_review=build_access_review(config, collection.sources),
    )


def _check_production_environments(
    config: Config, input_doc: dict[str, Any], sources: list[SourceData]
) -> None:
    """Refuse a production environment name that matches no Octopus environment.

    Otherwise a typo ("Prod") would leave every production deployment out of scope
    and the deployment policies would find nothing to test.
    """
    environments = input_doc.get("octopus", {}).get("environments", {})
    complete = [
        data
        for data in sources
        if data.type == "octopus"
        and _resource_status(data, data.resources.get("environments"))
        is SourceStatus.COMPLETE
    ]
    if not complete:
        return  # the policies that need environments are reported not tested
    known = {env.get("Name") for env in environments.values()} | set(environments)
    unmatched = [name for name in config.production_environments if name not in known]
    if unmatched:
        names = ", ".join(sorted(str(env.get("Name")) for env in environments.values()))
        raise ConfigError(
            f"production_environments {', '.join(unmatched)} match no Octopus "
            f"environment in the evidence (its environments: {names or 'none'})"
        )


def exit_code(result: RunResult) -> ExitCode:
    """Map a result to the process exit code; incomplete evidence wins over findings."""
    if not result.evidence_complete or _evaluation_incomplete(result.policies):
        return ExitCode.INCOMPLETE
    if result.findings:
        return ExitCode.FINDINGS
    return ExitCode.OK


def record_run(config: Config, result: RunResult, code: ExitCode) -> None:
    """Add the evaluated run to the store's index."""
    store = SnapshotStore(config.store)
    store.index.record_run(
        result.snapshot_id,
        datetime.now(UTC),
        result.engine,
        int(code),
        result.policies,
    )
    store.close()


def run(
    config: Config,
    out_dir: Path,
    collect_with: Callable[[Config], Collection] = collect,
) -> tuple[RunResult, ExitCode, list[Path]]:
    """Collect, evaluate and report in one go; ``collect_with`` may add progress."""
    started = time.monotonic()
    collection = collect_with(config)
    result = evaluate(config, collection)
    code = exit_code(result)
    written = write_reports(result, out_dir)
    record_run(config, result, code)
    logger.info(
        "run snapshot=%s findings=%d exit=%d elapsed=%.2fs",
        result.snapshot_id,
        len(result.findings),
        code,
        time.monotonic() - started,
    )
    return result, code, written


def resource_availability(sources: list[SourceData]) -> dict[str, SourceStatus]:
    """Map ``<type>.<resource>`` to its worst status across the sources of that type."""
    order = list(SourceStatus)
    availability: dict[str, SourceStatus] = {}
    for data in sources:
        declared = _declared_resources(data.type)
        for name in declared:
            status = _resource_status(data, data.resources.get(name))
            key = f"{data.type}.{name}"
            current = availability.get(key)
            if current is None or order.index(status) > order.index(current):
                availability[key] = status
    return availability


def not_collected(sources: list[SourceData]) -> frozenset[str]:
    """Resources out of scope: of a type no source has, or optional and absent.

    A resource of a configured type that a source was meant to deliver, but did not,
    is not here: that is an evidence gap.
    """
    configured = {data.type for data in sources}
    out = {
        f"{kind}.{spec.name}"
        for kind, collector in registry().items()
        if kind not in configured
        for spec in collector.resources
    }
    for kind in configured:
        typed = [data for data in sources if data.type == kind]
        for spec in registry()[kind].resources:
            if not spec.required and all(
                data.status is not SourceStatus.FAILED
                and _resource_status(data, data.resources.get(spec.name))
                is SourceStatus.MISSING
                for data in typed
            ):
                out.add(f"{kind}.{spec.name}")
    return frozenset(out)


def _collect_export(writer: SnapshotWriter, source: live.ExportCapable) -> SourceData:
    """Stage an export folder's evidence files, then read the staged copy."""
    collector = registry()[source.type]()
    if source.path is None:
        raise ConfigError(f"source {source.name}: no export folder (path) is set")
    try:
        files = collector.evidence_files(source.path)
        staged = writer.stage_files(source.name, source.path, files)
        data = collector.read(staged, source.name)
    except Exception as err:  # the runner records any failure as a failed source
        return _failed(source.name, source.type, str(source.path), err)
    data.location = str(source.path)  # not the staging folder, which is renamed
    return data


def _collect_live(
    writer: SnapshotWriter, source: live.LiveSource, config: Config
) -> tuple[SourceData, dict[str, str | None]]:
    """Fetch pages into a scratch folder, stage them, then read them like an export."""
    window = fetch_window(config)
    shown: dict[str, str | None] = {
        "from": to_canonical(window[0]),
        "to": to_canonical(window[1]),
    }
    collector = registry()[source.type]()
    config.store.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".fetch-", dir=config.store) as scratch:
        dest = Path(scratch) / source.name
        try:
            report = live.fetch_source(source, dest, window)
            files = collector.evidence_files(dest)
            staged = writer.stage_files(source.name, dest, files)
            data = collector.read(staged, source.name)
        except Exception as err:  # the runner records any failure as a failed source
            return _failed(source.name, source.type, live.origin(source), err), shown
    apply_fetch_report(report, data)
    data.location = live.origin(source)
    return data, shown


def fetch_window(config: Config) -> tuple[datetime, datetime]:
    """The time range a live fetch asks for.

    It reaches back from the period's end by the inactivity threshold when that is
    longer than the period, so inactive-users sees the events it needs.
    """
    start, end = period_bounds(
        config.period.start, config.period.end, zone(config.period.timezone)
    )
    lookback = end - timedelta(days=config.policies.inactivity_days)
    return min(start, lookback), end


def _failed(name: str, kind: str, location: str, err: Exception) -> SourceData:
    logger.error("source=%s failed: %s", name, err)
    logger.debug("source=%s traceback", name, exc_info=True)
    return SourceData(
        name=name,
        type=kind,
        location=location,
        status=SourceStatus.FAILED,
        error=str(err) or type(err).__name__,
    )


def _apply_recorded_status(data: SourceData, entry: dict[str, Any]) -> None:
    """Keep gaps found at collection time (a live fetch cut short) after re-reading.

    Each resource keeps the worse of the status recorded in the manifest and the
    status the re-read gives, so a gap known only at collection is never lost.
    """
    order = list(SourceStatus)
    for recorded in entry.get("resources", []):
        resource = data.resources.get(recorded["name"])
        if resource is None or recorded["status"] == SourceStatus.COMPLETE:
            continue
        for warning in recorded.get("warnings", []):
            if warning not in resource.warnings:
                resource.warnings.append(warning)
        status = SourceStatus(recorded["status"])
        if order.index(status) > order.index(resource.status):
            resource.status = status
    if entry.get("status") == SourceStatus.INCOMPLETE and data.status is (
        SourceStatus.COMPLETE
    ):
        data.status = SourceStatus.INCOMPLETE
        data.error = data.error or entry.get("error")


def _declared_resources(source_type: str) -> list[str]:
    return [spec.name for spec in registry()[source_type].resources]


def _resource_status(data: SourceData, resource: ResourceData | None) -> SourceStatus:
    if data.status is SourceStatus.FAILED:
        return SourceStatus.FAILED
    if resource is None:
        return SourceStatus.MISSING
    return resource.status


def _evaluation_incomplete(policies: list[PolicyResult]) -> bool:
    """True if a policy errored or lacked some of the evidence it requires."""
    return any(
        result.status is PolicyStatus.ERROR or result.evidence_gaps
        for result in policies
    )


def _resolve_findings(
    raw_findings: list[RawFinding], policies: list[Policy], collection: Collection
) -> list[Finding]:
    by_id = {policy.id: policy for policy in policies}
    locator = _EvidenceLocator(collection)
    return [
        Finding(
            policy=raw.policy,
            resource=raw.resource,
            controls=list(by_id[raw.policy].controls),
            severity=by_id[raw.policy].severity,
            message=raw.message,
            evidence=[locator.locate(ref) for ref in raw.evidence],
        )
        for raw in raw_findings
    ]


class _EvidenceLocator:
    """Turn ``source/resource/id`` references into file and hash pointers."""

    def __init__(self, collection: Collection) -> None:
        self._snapshot = collection.snapshot
        self._sources = {data.name: data for data in collection.sources}

    def locate(self, ref: str) -> EvidenceRef:
        source, _, rest = ref.partition("/")
        resource, _, record_id = rest.partition("/")
        data = self._sources.get(source)
        record = None
        if data is not None and resource in data.resources:
            record = data.resources[resource].records.get(record_id)
        file = record.get("_file") if record else None
        return EvidenceRef(
            ref=ref,
            source=source,
            resource=resource,
            record_id=record_id,
            file=file,
            sha256=self._snapshot.file_sha256(source, file) if file else None,
        )


def _summary(data: SourceData) -> SourceSummary:
    return SourceSummary(
        name=data.name,
        type=data.type,
        status=data.overall_status(),
        location=data.location,
        error=data.error,
        resources=[
            ResourceSummary(
                name=resource.name,
                status=resource.status,
                records=len(resource.records),
                duplicates=resource.duplicates,
                warnings=list(resource.warnings),
            )
            for resource in data.resources.values()
        ],
    )


def _period(config: Config) -> Period:
    start, end = period_bounds(
        config.period.start, config.period.end, zone(config.period.timezone)
    )
    return Period(
        start=config.period.start.isoformat(),
        end=config.period.end.isoformat(),
        timezone=config.period.timezone,
        start_utc=to_canonical(start),
        end_utc=to_canonical(end),
    )


def _period_dict(config: Config) -> dict[str, str]:
    period = _period(config)
    return {
        "start": period.start,
        "end": period.end,
        "timezone": period.timezone,
        "start_utc": period.start_utc,
        "end_utc": period.end_utc,
    }
