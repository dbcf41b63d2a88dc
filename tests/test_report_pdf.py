"""report.pdf: renders the run's facts, shows markup as text, caps its lists."""

from __future__ import annotations

import logging
import re
from dataclasses import replace
from pathlib import Path

import pytest
from pypdf import PdfReader

import report_fixtures as fx
from evidencekit.reports import write_reports
from evidencekit.reports.pdf_report import (
    BundledFilesOnly,
    Caps,
    render_html,
    write_pdf,
)
from evidencekit.resources import bundled_dir
from evidencekit.results import RunResult


def _text(path: Path) -> str:
    reader = PdfReader(path)
    return "\n".join(page.extract_text() for page in reader.pages)


def _squashed(text: str) -> str:
    """Drop all white space, so values wrapped over lines can be found."""
    return re.sub(r"\s+", "", text)


@pytest.fixture(scope="module")
def normal_pdf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_pdf(fx.run_result(), tmp_path_factory.mktemp("pdf") / "report.pdf")


def _without_glyphless_text(result: RunResult) -> RunResult:
    """Drop the emoji, which the installed fonts cannot draw.

    WeasyPrint then writes a custom font encoding that poppler reads but pypdf cannot
    decode, so text checks with pypdf need a PDF without it; the emoji itself is
    covered by test_text_without_a_glyph_still_renders.
    """
    findings = [
        replace(finding, message=finding.message.replace("🚀", ""),
                resource=finding.resource.replace("🚀", ""))
        for finding in result.findings
    ]  # fmt: skip
    return replace(result, findings=findings)


@pytest.fixture(scope="module")
def hostile_pdf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("hostile")
    result = _without_glyphless_text(fx.hostile_run_result())
    return write_pdf(result, folder / "report.pdf")


def test_pdf_carries_the_run_facts_findings_and_hashes(normal_pdf: Path) -> None:
    reader = PdfReader(normal_pdf)
    text = _text(normal_pdf)
    squashed = _squashed(text)

    assert normal_pdf.read_bytes().startswith(b"%PDF-")
    assert len(reader.pages) >= 5
    assert fx.ORGANISATION in text
    assert (
        _squashed(
            "Deployment of Payments API 4.12.0 to Production has no linked change "
            "request"
        )
        in squashed
    )
    assert fx.MANIFEST_SHA256 in squashed
    assert fx.sha("servicenow/change_request.json") in squashed  # an evidence file
    assert "Europe/London" in text
    assert "Appendix A. Evidence manifest" in text


def test_incomplete_evidence_is_on_the_cover_and_every_page(normal_pdf: Path) -> None:
    pages = [page.extract_text() for page in PdfReader(normal_pdf).pages]

    assert "EVIDENCE INCOMPLETE: THIS IS NOT A COMPLETE RESULT" in pages[0]
    assert "servicenow/sys_user is incomplete" in pages[0]
    assert "1 POLICY COULD NOT BE EVALUATED" in pages[0]
    assert all("EVIDENCE INCOMPLETE" in page for page in pages)
    assert re.search(r"Page 2 of \d+", pages[1])


def test_complete_and_failed_runs_say_so(tmp_path: Path) -> None:
    complete = _text(write_pdf(fx.complete_run_result(), tmp_path / "complete.pdf"))
    failed = _text(write_pdf(fx.failed_source_run_result(), tmp_path / "failed.pdf"))

    assert "EVIDENCE COMPLETE" in complete
    assert "EVIDENCE INCOMPLETE" not in complete
    assert "Source servicenow failed." in failed
    assert "credentials were rejected" in failed


def test_hostile_markup_is_shown_as_text(hostile_pdf: Path) -> None:
    reader = PdfReader(hostile_pdf)
    squashed = _squashed(_text(hostile_pdf))

    assert _squashed("<script>alert('pwned')</script>") in squashed
    assert _squashed('<img src="file:///etc/passwd" onerror="alert(1)">') in squashed
    assert _squashed("<style>body { display: none }</style>") in squashed
    assert _squashed("<b>Evil</b> & Co =1+1 ⟨U+202E⟩plc") in squashed
    assert "bell⟨U+0007⟩nul⟨U+0000⟩" in squashed
    assert _squashed("مرحلة الإنتاج") in squashed  # right-to-left text kept as is
    assert "שלום" in squashed
    assert "⟨U+202E⟩evil.exe⟨U+202C⟩" in squashed
    # the CSS payload did not hide the rest of the document
    assert _squashed("Appendix A. Evidence manifest") in squashed
    for page in reader.pages:
        resources = page.get("/Resources") or {}
        assert "/XObject" not in resources or not resources["/XObject"]
    assert b"/JavaScript" not in hostile_pdf.read_bytes()


def test_text_without_a_glyph_still_renders(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="weasyprint")
    path = write_pdf(fx.hostile_run_result(), tmp_path / "report.pdf")

    assert len(PdfReader(path).pages) >= 5
    # Known gap: without an emoji font the rocket is drawn as an empty box (its
    # text is still in the PDF); WeasyPrint says so in the log.
    assert "U+1F680" in caplog.text


def test_template_escapes_evidence_text() -> None:
    html = render_html(fx.hostile_run_result(), Caps(), bundled_dir("reports"))

    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&#39;pwned&#39;)&lt;/script&gt;" in html
    assert '<img src="file' not in html
    assert "</table><style>" not in html


def test_long_values_are_shortened_with_a_marker(hostile_pdf: Path) -> None:
    squashed = _squashed(_text(hostile_pdf))

    marker = f"[truncated: {len(fx.LONG_MESSAGE):,} characters; full value in"
    assert _squashed(marker) in squashed
    assert "AB" * 800 not in squashed


def test_cap_note_says_where_the_other_findings_are(tmp_path: Path) -> None:
    result = replace(fx.run_result(), findings=fx.many_findings(40))
    path = write_pdf(result, tmp_path / "report.pdf", Caps(findings=5, manifest=3))
    text = _text(path)

    assert _squashed(
        "This report lists the first 5 of 40 findings, most severe first. The other "
        "35 are in report.xlsx (sheet Findings) and results.json."
    ) in _squashed(text)
    assert _squashed("first 3 of 14 evidence files") in _squashed(text)
    assert "Deployments-20003" in text  # critical ones come first
    assert "Deployments-20000" not in text  # a low one, beyond the cap


def test_renderer_may_only_read_the_bundled_folder() -> None:
    folder = bundled_dir("reports")
    fetcher = BundledFilesOnly(folder)

    css = fetcher.fetch((folder / "report.css").as_uri())
    assert css is not None
    for url in ("file:///etc/passwd", "http://127.0.0.1:9/x.png",
                (folder / ".." / "pyproject.toml").as_uri()):  # fmt: skip
        with pytest.raises(ValueError, match="may only load bundled files"):
            fetcher.fetch(url)


def test_write_reports_writes_all_three(tmp_path: Path) -> None:
    written = write_reports(fx.run_result(), tmp_path / "out")

    assert [path.name for path in written] == [
        "results.json", "report.xlsx", "report.pdf",
    ]  # fmt: skip
    assert all(path.stat().st_size > 0 for path in written)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(
        path.name for path in written
    )  # no temporary files left behind
