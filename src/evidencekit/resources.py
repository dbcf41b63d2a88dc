"""Find the folders shipped with evidencekit: policies, report templates, collectors."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def bundled_dir(name: str) -> Path:
    """Return a top-level project folder (``policies``, ``reports``, ``collectors``).

    In a source checkout (including an editable install) the folder sits at the top of
    the repository; in a wheel it is packaged under ``evidencekit/_bundled``.
    """
    for candidate in (_PACKAGE.parents[1] / name, _PACKAGE / "_bundled" / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"evidencekit's {name!r} folder is not installed")
