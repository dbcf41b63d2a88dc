"""The `evidencekit` command line: parse, call the runner, map results to exit codes."""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.logging import RichHandler
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from evidencekit import __version__, runner
from evidencekit.collectors.base import SourceData
from evidencekit.collectors.http import page_listener
from evidencekit.config import Config, load_config
from evidencekit.controls.catalogue import load_catalogue
from evidencekit.controls.mapping import coverage
from evidencekit.errors import ConfigError, EvidencekitError, SnapshotError
from evidencekit.evidence.snapshot import SnapshotStore
from evidencekit.evidence.verify import verify_snapshot
from evidencekit.exitcodes import ExitCode
from evidencekit.lint import lint_exit_code, lint_lines
from evidencekit.policies.loader import load_policies
from evidencekit.reports import write_reports
from evidencekit.reports.json_report import write_json
from evidencekit.resources import bundled_dir
from evidencekit.results import RunResult, run_result_from_dict

logger = logging.getLogger(__name__)
stderr = Console(stderr=True)

F = TypeVar("F", bound=Callable[..., Any])

config_option = click.option(
    "--config",
    "config_path",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="The run's YAML configuration.",
)


def _handle_errors(func: F) -> F:
    """Show expected errors as one message (traceback with -v) and exit with a code."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        verbose = click.get_current_context().find_root().params.get("verbose", 0)
        try:
            return func(*args, **kwargs)
        except click.ClickException:
            raise  # click prints usage errors itself and exits 2
        except BrokenPipeError:
            # The reader of our output went away (`| head`): nothing is wrong.
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115  (for the exit flush)
            sys.exit(int(ExitCode.OK))
        except ConfigError as err:
            _fail(err, ExitCode.USAGE, verbose)
        except SnapshotError as err:
            _fail(err, ExitCode.INCOMPLETE, verbose)
        except EvidencekitError as err:
            _fail(err, ExitCode.INCOMPLETE, verbose)
        except Exception as err:  # a crash must never exit 1, which means findings
            logger.debug("unexpected error", exc_info=True)
            _fail(
                RuntimeError(f"unexpected {type(err).__name__}: {err} (use -v)"),
                ExitCode.INCOMPLETE,
                verbose,
            )

    return wrapper  # type: ignore[return-value]


def _fail(err: Exception, code: ExitCode, verbose: int) -> None:
    if verbose:
        logger.exception("evidencekit stopped")
    stderr.print(
        f"[bold red]error:[/] {escape(str(err))}",
        highlight=False,
        markup=True,
        soft_wrap=True,
    )
    sys.exit(int(code))


@click.group()
@click.version_option(__version__, prog_name="evidencekit")
@click.option(
    "-v", "--verbose", count=True, help="INFO logs and tracebacks; -vv for DEBUG."
)
def main(verbose: int) -> None:
    """Collect compliance evidence, evaluate it with Rego policies, and report on it."""
    levels = {0: logging.WARNING, 1: logging.INFO}
    handler: logging.Handler
    if stderr.is_terminal:
        handler = RichHandler(console=stderr, show_path=False, markup=False)
    else:  # cron, CI and Kubernetes logs: one plain line per record
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s")
        )
    # Other libraries' logs stay at WARNING (font subsetting, HTTP pools).
    logging.basicConfig(level=logging.WARNING, handlers=[handler], force=True)
    if verbose < 2:  # WeasyPrint warns about fonts on every PDF; not a run problem
        logging.getLogger("weasyprint").setLevel(logging.ERROR)
        logging.getLogger("fontTools").setLevel(logging.ERROR)
        # urllib3 logs each retry with its URL; our HTTP layer reports the outcome.
        logging.getLogger("urllib3").setLevel(logging.ERROR)
    logging.getLogger("evidencekit").setLevel(levels.get(verbose, logging.DEBUG))


@main.command()
@config_option
@click.option(
    "--out",
    "out_dir",
    default="out",
    show_default=True,
    type=click.Path(path_type=Path, file_okay=False),
    help="Folder for results.json, report.xlsx and report.pdf.",
)
@_handle_errors
def run(config_path: Path, out_dir: Path) -> None:
    """Collect, evaluate and report: the whole audit run."""
    config = load_config(config_path)
    result, code, written = runner.run(config, out_dir, _collect_with_progress)
    _print_summary(result, code, written)
    sys.exit(int(code))


@main.command()
@config_option
@_handle_errors
def collect(config_path: Path) -> None:
    """Collect every source into a new snapshot and print its id."""
    config = load_config(config_path)
    collection = _collect_with_progress(config)
    incomplete = [
        data.name for data in collection.sources if data.overall_status() != "complete"
    ]
    click.echo(collection.snapshot.id)
    if incomplete:
        stderr.print(f"incomplete evidence from: {', '.join(incomplete)}")
        sys.exit(int(ExitCode.INCOMPLETE))


@main.command()
@config_option
@click.option("--snapshot", "snapshot_id", help="Snapshot id (default: the latest).")
@click.option(
    "--out",
    "out_dir",
    default="out",
    show_default=True,
    type=click.Path(path_type=Path, file_okay=False),
    help="Folder for results.json.",
)
@_handle_errors
def evaluate(config_path: Path, snapshot_id: str | None, out_dir: Path) -> None:
    """Evaluate the policies on a stored snapshot and write results.json."""
    config = load_config(config_path)
    collection = runner.open_snapshot(config, snapshot_id)
    result = runner.evaluate(config, collection)
    code = runner.exit_code(result)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "results.json"
    write_json(result, path)
    runner.record_run(config, result, code)
    _print_summary(result, code, [path])
    sys.exit(int(code))


@main.command()
@config_option
@_handle_errors
def lint(config_path: Path) -> None:
    """Collect, evaluate and print the octolint-style findings, one per line."""
    config = load_config(config_path)
    result = runner.evaluate(config, _collect_with_progress(config))
    policies = load_policies(config.policy_dir or bundled_dir("policies"))
    for line in lint_lines(result, policies):
        click.echo(line)
    code = lint_exit_code(result, policies)
    if not result.evidence_complete:  # a failed source wins over lint findings
        code = ExitCode.INCOMPLETE
    sys.exit(int(code))


@main.command()
@click.option(
    "--results",
    "results_path",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="A results.json written by `evaluate` or `run`.",
)
@click.option(
    "--out",
    "out_dir",
    default="out",
    show_default=True,
    type=click.Path(path_type=Path, file_okay=False),
)
@_handle_errors
def report(results_path: Path, out_dir: Path) -> None:
    """Write the three reports from a results.json."""
    try:
        data = json.loads(results_path.read_text(encoding="utf-8"))
        result = run_result_from_dict(data)
    except (ValueError, KeyError, TypeError) as err:
        raise ConfigError(f"{results_path} is not an evidencekit results file") from err
    written = write_reports(result, out_dir)
    code = runner.exit_code(result)
    _print_summary(result, code, written)
    sys.exit(int(code))


@main.command()
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Take the store folder from this config.",
)
@click.option(
    "--store",
    "store_dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="The evidence store folder (default .evidencekit).",
)
@click.option("--snapshot", "snapshot_id", help="Check one snapshot (default: all).")
@_handle_errors
def verify(
    config_path: Path | None, store_dir: Path | None, snapshot_id: str | None
) -> None:
    """Check snapshot hashes and the chain; exit 3 on any problem."""
    if config_path is not None and store_dir is not None:
        raise click.UsageError("give --config or --store, not both")
    if store_dir is None:
        default = Path(".evidencekit")
        store_dir = load_config(config_path).store if config_path else default
    if not store_dir.is_dir():
        raise ConfigError(f"no evidence store at {store_dir}")
    outcome = verify_snapshot(SnapshotStore(store_dir), snapshot_id)
    for problem in outcome.problems:
        location = f" {problem.path}" if problem.path else ""
        click.echo(f"{problem.kind}: {problem.snapshot_id}{location}: {problem.detail}")
    for note in getattr(outcome, "notes", []):
        click.echo(f"note: {note}")
    click.echo(
        f"checked {len(outcome.checked)} snapshot(s): "
        + ("intact" if outcome.ok else f"{len(outcome.problems)} problem(s)")
    )
    sys.exit(int(ExitCode.OK if outcome.ok else ExitCode.INCOMPLETE))


@main.command()
@click.option(
    "--framework",
    type=click.Choice(["iso27001-2022", "soc2-2017"]),
    help="Only this framework.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@_handle_errors
def controls(framework: str | None, as_json: bool) -> None:
    """List the control catalogue and which policies cover each control."""
    catalogue = load_catalogue()
    covered = coverage(catalogue, load_policies(bundled_dir("policies")))
    rows = [
        {
            "framework": fw.id,
            "id": control.id,
            "title": control.title,
            "theme": control.theme,
            "policies": covered.get(control.ref, []),
        }
        for fw in catalogue.frameworks.values()
        if framework in (None, fw.id)
        for control in fw.controls
    ]
    if as_json:
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    for row in rows:
        policies = ", ".join(row["policies"]) or "manual evidence"
        click.echo(f"{row['framework']}:{row['id']}\t{row['title']}\t{policies}")


def _collect_with_progress(config: Config) -> runner.Collection:
    """Collect; on a terminal, show a bar per source with its pages and records."""
    if not stderr.is_terminal:
        return runner.collect(config)
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[pages]} pages"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=stderr, transient=True) as progress:
        tasks = {
            source.name: progress.add_task(f"{source.name}: collecting", pages=0)
            for source in config.sources
        }

        def page(dest: Path, relative: str) -> None:
            task = tasks.get(dest.name)  # a live fetch writes into <scratch>/<name>
            if task is not None:
                pages = progress.tasks[task].fields["pages"] + 1
                progress.update(task, pages=pages)

        def done(name: str, data: SourceData) -> None:
            records = sum(len(r.records) for r in data.resources.values())
            pages = sum(len(r.files) for r in data.resources.values())
            progress.update(
                tasks[name],
                total=1,
                completed=1,
                pages=pages,
                description=f"{name}: {records:,} records, {data.overall_status()}",
            )

        with page_listener(page):
            return runner.collect(config, on_source=done)


def _print_summary(result: RunResult, code: ExitCode, written: list[Path]) -> None:
    counts: dict[str, int] = {}
    for policy in result.policies:
        counts[policy.status] = counts.get(policy.status, 0) + 1
    click.echo(f"snapshot {result.snapshot_id}")
    click.echo(f"manifest sha256 {result.manifest_sha256}")
    for source in result.sources:
        click.echo(f"source {source.name}: {source.status}, {source.records} records")
        if source.error:
            click.echo(f"  error: {source.error}")
    statuses = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    click.echo(f"policies: {statuses}; findings: {len(result.findings)}")
    if not result.evidence_complete:
        click.echo("EVIDENCE INCOMPLETE: results cannot show compliance")
    for path in written:
        click.echo(f"wrote {path}")
    click.echo(f"exit code {int(code)} ({code.name.lower()})")
