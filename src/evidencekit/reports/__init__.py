"""Write the three reports of a run: results.json, report.xlsx and report.pdf."""

from __future__ import annotations

from pathlib import Path

from evidencekit.reports.json_report import write_json
from evidencekit.reports.pdf_report import write_pdf
from evidencekit.reports.xlsx_report import write_xlsx
from evidencekit.results import RunResult

__all__ = ["write_json", "write_pdf", "write_reports", "write_xlsx"]


def write_reports(result: RunResult, out_dir: Path) -> list[Path]:
    """Write every report into ``out_dir`` and return their paths, JSON first.

    results.json is written first because it is the complete record: if a later
    report fails, the full result is already on disk.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    return [
        write_json(result, out_dir / "results.json"),
        write_xlsx(result, out_dir / "report.xlsx"),
        write_pdf(result, out_dir / "report.pdf"),
    ]
