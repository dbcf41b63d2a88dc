"""Write report.pdf, the summary an auditor reads, from a Jinja2 template.

The template (``reports/report.html.j2`` with ``report.css``) is rendered with
autoescaping on, and every value passes through ``safe_text.pdf_text`` on its way
out, so evidence text can neither add markup nor hide itself. WeasyPrint may only read
files from the bundled ``reports`` folder: nothing in the evidence can make the
renderer open a local file or the network.

The PDF is a summary at any size: it lists at most ``findings_cap`` findings (most
severe first) and ``manifest_cap`` manifest files, and says how many more are in
report.xlsx and results.json.

Known shortcoming: a character no installed font can draw (emoji, or Chinese, Japanese
and Korean text when only DejaVu is installed) is drawn as an empty box. Its text is
still in the PDF (copy, search and poppler's pdftotext give it back; pypdf cannot
decode that font encoding), and WeasyPrint logs a warning naming the code point. The
workbook and results.json show the value in full. Installing Noto fonts fixes it; the
stylesheet already falls back to them.
"""

from __future__ import annotations

import logging
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

# Without the system library libharfbuzz-subset, WeasyPrint warns at import time and
# subsets fonts with fontTools instead (same PDF, slower). That warning is about the
# machine, not this code, so it is silenced here only; the install image should add
# the library (Debian: libharfbuzz-subset0).
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="HarfBuzz-Subset will be required")
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher, URLFetcherResponse

from evidencekit.errors import ReportError
from evidencekit.reports.json_report import (
    SEVERITY_ORDER,
    atomic_output,
    control_finding_counts,
    evaluation_errors,
    evidence_gaps,
    manifest_files,
    sorted_controls,
    sorted_findings,
    summarise,
)
from evidencekit.reports.safe_text import PDF_SHORT_LIMIT, pdf_text
from evidencekit.reports.xlsx_report import FRAMEWORK_NAMES, MANUAL_EVIDENCE
from evidencekit.resources import bundled_dir
from evidencekit.results import ControlStatus, PolicyStatus, RunResult, SourceStatus

logger = logging.getLogger(__name__)

TEMPLATE = "report.html.j2"
FINDINGS_CAP = 300
MANIFEST_CAP = 400


@dataclass(frozen=True)
class Caps:
    """How many findings and manifest rows the PDF lists before it refers onwards."""

    findings: int = FINDINGS_CAP
    manifest: int = MANIFEST_CAP


class BundledFilesOnly(URLFetcher):  # type: ignore[misc]  # weasyprint is untyped
    """A URL fetcher that serves the report's own folder and refuses everything else."""

    def __init__(self, folder: Path) -> None:
        super().__init__(allowed_protocols={"file"}, allow_redirects=False)
        self.folder = folder.resolve()

    def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:
        """Fetch a file under the report folder; raise for any other address."""
        target = Path(url.removeprefix("file://").split("?")[0]).resolve()
        if not url.startswith("file://") or not target.is_relative_to(self.folder):
            raise ValueError(f"report.pdf may only load bundled files, not {url!r}")
        return super().fetch(url, headers)


def write_pdf(result: RunResult, path: Path, caps: Caps | None = None) -> Path:
    """Render the PDF report atomically and return its path."""
    started = time.monotonic()
    folder = bundled_dir("reports")
    html = render_html(result, caps or Caps(), folder)
    document = HTML(
        string=html, base_url=str(folder) + "/", url_fetcher=BundledFilesOnly(folder)
    )
    with atomic_output(path) as temporary:
        document.write_pdf(temporary)
    logger.info(
        "report written format=pdf path=%s findings=%d elapsed=%.2fs",
        path,
        len(result.findings),
        time.monotonic() - started,
    )
    return path


def render_html(result: RunResult, caps: Caps, folder: Path) -> str:
    """Render the report's HTML from the bundled template."""
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(folder),
        autoescape=True,
        finalize=_finalize,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["short"] = _short
    environment.filters["count_format"] = _count_format
    try:
        template = environment.get_template(TEMPLATE)
    except jinja2.TemplateError as err:
        raise ReportError(f"report template {folder / TEMPLATE}: {err}") from err
    return template.render(report_context(result, caps))


def report_context(result: RunResult, caps: Caps) -> dict[str, Any]:
    """Gather what the template shows; values stay raw, the template escapes them."""
    findings = sorted_findings(result.findings)
    files = manifest_files(result.manifest)
    return {
        "result": result,
        "gaps": evidence_gaps(result),
        "errors": evaluation_errors(result),
        "failed_sources": [
            s.name for s in result.sources if s.status is SourceStatus.FAILED
        ],
        "summary": summarise(result),
        "framework_names": FRAMEWORK_NAMES,
        "control_statuses": [status.value for status in ControlStatus],
        "policy_statuses": [status.value for status in PolicyStatus],
        "controls_by_framework": _controls_by_framework(result),
        "control_findings": control_finding_counts(result),
        "findings": [_finding_view(finding) for finding in findings[: caps.findings]],
        "findings_total": len(findings),
        "files": files[: caps.manifest],
        "files_total": len(files),
        "manual_evidence": MANUAL_EVIDENCE,
        "collected_at": result.manifest.get("collected_at"),
        "previous_manifest": result.manifest.get("previous_manifest_sha256"),
    }


def _controls_by_framework(result: RunResult) -> dict[str, list[Any]]:
    grouped: dict[str, list[Any]] = {}
    for control in sorted_controls(result):
        grouped.setdefault(control.framework, []).append(control)
    return grouped


def _finding_view(finding: Any) -> dict[str, Any]:
    severity = finding.severity.lower()
    return {
        "finding": finding,
        "severity_class": severity if severity in SEVERITY_ORDER else "other",
    }


def _finalize(value: Any) -> Any:
    # Every {{ value }} passes through here before it is escaped.
    if value is None:
        return ""
    if isinstance(value, str):
        return pdf_text(value)
    return value


def _count_format(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) else ""


def _short(value: Any) -> str:
    return pdf_text("" if value is None else str(value), PDF_SHORT_LIMIT)
