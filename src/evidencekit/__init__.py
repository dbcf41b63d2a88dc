"""Collect compliance evidence, evaluate it with Rego policies and report on it."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("evidencekit")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+source"

__all__ = ["__version__"]
