"""Rego engines: regorus in-process (the default) or a running OPA server.

An engine loads the policy modules once, then evaluates every policy package against
one input document and returns each package's ``findings`` and ``tested``. A value
that is undefined or has the wrong type comes back as an error, never as a pass.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any, Protocol
from urllib.parse import urlsplit

import regorus
import requests
from opa_client.errors import RegoParseError
from opa_client.opa import OpaClient

from evidencekit.config import OpaEngineConfig, RegorusEngineConfig
from evidencekit.errors import ConfigError, EngineError
from evidencekit.policies.loader import package_of

log = logging.getLogger(__name__)

_MISSING_FUNCTION = "could not find function"
_NO_SUCH_RULE = "not a valid rule path"
_UNDEFINED = "<undefined>"  # what regorus's eval_rule_as_json returns for undefined


@dataclass(frozen=True)
class PackageOutput:
    """What one policy package produced: its findings and count, or an error."""

    findings: list[dict[str, Any]] | None
    tested: int | None
    error: str | None
    # Seconds of the evaluation that produced it; packages evaluated together
    # (see RegorusEngine.evaluate) share the time of their joint evaluation.
    elapsed: float = 0.0


class Engine(Protocol):
    """A Rego engine that evaluates policy packages against one input document."""

    name: str

    def load(self, modules: list[tuple[str, str]]) -> None:
        """Compile the ``(path, rego text)`` modules, replacing any loaded before."""
        ...

    def evaluate(
        self, input_doc: dict[str, Any], packages: list[str]
    ) -> dict[str, PackageOutput]:
        """Evaluate each package's ``findings`` and ``tested`` against the input."""
        ...


def make_engine(config: RegorusEngineConfig | OpaEngineConfig) -> Engine:
    """Build the engine a run's configuration names."""
    if isinstance(config, OpaEngineConfig):
        token = config.token.resolve() if config.token is not None else None
        return OpaServerEngine(config.url, token=token)
    return RegorusEngine()


class RegorusEngine:
    """Evaluate in-process with regorus, setting the input once per evaluation."""

    name = "regorus"

    def __init__(self, *, joint: bool = False) -> None:
        self._engine: Any = None
        self.joint = joint  # one query for every package; see evaluate()

    def load(self, modules: list[tuple[str, str]]) -> None:
        """Compile the modules into a fresh regorus engine."""
        engine = regorus.Engine()
        for path, text in modules:
            try:
                engine.add_policy(path, text)
            except RuntimeError as err:
                raise EngineError(
                    f"regorus cannot compile policy module {path}: {short_error(err)}"
                ) from err
        self._engine = engine

    def evaluate(
        self, input_doc: dict[str, Any], packages: list[str]
    ) -> dict[str, PackageOutput]:
        """Set the input once, then evaluate every package against it, one by one.

        Evaluating all packages in one joint query computed shared library rules
        once and was faster, but with this regorus build the findings of one
        package could depend on which other packages were in the query and in what
        order (seen with the AWS policies). A slower answer that does not change is
        the one to give, so each package is its own query; ``joint=True`` keeps the
        faster path for experiments.
        """
        if self._engine is None:
            raise EngineError("regorus engine: evaluate called before load")
        self._set_input(input_doc)
        loaded = set(self._engine.get_packages())
        present = [package for package in packages if f"data.{package}" in loaded]
        together = self._evaluate_together(present) if present and self.joint else None
        outputs = {}
        for package in packages:
            if package not in present:
                outputs[package] = PackageOutput(
                    None, None, f"package {package} is not loaded"
                )
            elif together is not None:
                outputs[package] = together[package]
            else:
                outputs[package] = self._evaluate_package(package)
        return outputs

    def _evaluate_together(
        self, packages: list[str]
    ) -> dict[str, PackageOutput] | None:
        started = time.perf_counter()
        # One statement a line: regorus refuses query lines over 1,024 columns.
        query = "\n".join(
            f"findings_{n} := data.{package}.findings\n"
            f"tested_{n} := data.{package}.tested"
            for n, package in enumerate(packages)
        )
        try:
            rows = json.loads(self._engine.eval_query_as_json(query)).get("result")
        except RuntimeError as err:
            log.info(
                "joint evaluation failed, evaluating packages one by one: %s",
                short_error(err),
            )
            return None
        if not rows:
            log.info("joint evaluation undefined, evaluating packages one by one")
            return None
        elapsed = time.perf_counter() - started
        log.info(
            "engine=regorus packages=%d evaluated=together elapsed=%.2fs",
            len(packages),
            elapsed,
        )
        bindings = rows[0].get("bindings", {})
        return {
            package: _timed(
                package_output(
                    package, bindings.get(f"findings_{n}"), bindings.get(f"tested_{n}")
                ),
                elapsed,
            )
            for n, package in enumerate(packages)
        }

    def _set_input(self, input_doc: dict[str, Any]) -> None:
        # set_input (Python objects) measured faster than json.dumps + set_input_json
        # on the full document for 200,000 deployments and 50,000 changes: 6.2 s
        # against 11.3 s (and 2.0 s against 4.3 s for deployments and tasks alone).
        started = time.perf_counter()
        try:
            self._engine.set_input(input_doc)
        except (RuntimeError, TypeError, ValueError) as err:
            raise EngineError(
                f"regorus rejected the policy input document: {short_error(err)}"
            ) from err
        log.info(
            "engine=regorus input_set elapsed=%.2fs", time.perf_counter() - started
        )

    def _evaluate_package(self, package: str) -> PackageOutput:
        started = time.perf_counter()
        try:
            findings, tested = self._findings_and_tested(package)
        except RuntimeError as err:
            error = f"evaluating data.{package} failed: {short_error(err)}"
            return PackageOutput(None, None, error, time.perf_counter() - started)
        output = package_output(package, findings, tested)
        return _timed(output, time.perf_counter() - started)

    def _findings_and_tested(self, package: str) -> tuple[Any, Any]:
        query = f"findings := data.{package}.findings; tested := data.{package}.tested"
        rows = json.loads(self._engine.eval_query_as_json(query)).get("result")
        if rows:
            bindings = rows[0].get("bindings", {})
            return bindings.get("findings"), bindings.get("tested")
        # The pair is undefined: evaluate each rule alone to tell which one is.
        return self._rule(package, "findings"), self._rule(package, "tested")

    def _rule(self, package: str, rule: str) -> Any:
        try:
            text = self._engine.eval_rule_as_json(f"data.{package}.{rule}")
        except RuntimeError as err:
            if _NO_SUCH_RULE in str(err):
                return None  # the package does not define the rule at all
            raise
        value = json.loads(text)
        return None if value == _UNDEFINED else value


class OpaServerEngine:
    """Evaluate on a running OPA server through its REST API.

    Known shortcoming: OPA's data API takes the input with every query, so the input
    document is serialised and sent once per package (eight times for the shipped
    policies), not once per evaluation as with regorus. At the largest scale this
    costs seconds of JSON encoding and network transfer per package. Also, ``load``
    only adds and replaces modules: one pushed by an earlier run under another path
    stays on the server and can still conflict with, or add rules to, a package.
    """

    name = "opa"

    def __init__(self, url: str, *, token: str | None = None, timeout: float = 60.0):
        host, port, ssl = _split_url(url)
        self.url = url
        self._client = OpaClient(
            host=host, port=port, ssl=ssl, token=token, timeout=timeout, retries=2
        )

    def load(self, modules: list[tuple[str, str]]) -> None:
        """Push every module to ``/v1/policies/evidencekit/<path>``.

        OPA compiles each module against those already pushed, so a policy that calls
        a library function is refused until the library is there; refused modules are
        pushed again after the others until nothing more goes in.
        """
        pending = list(modules)
        while pending:
            refused = list(self._push_all(pending))
            if len(refused) == len(pending):
                path, _, err = refused[0]
                raise EngineError(
                    f"OPA at {self.url} refused policy module {path}: {err}"
                )
            pending = [(path, text) for path, text, _ in refused]

    def evaluate(
        self, input_doc: dict[str, Any], packages: list[str]
    ) -> dict[str, PackageOutput]:
        """Query ``/v1/data/<package>`` for each package with the input document."""
        return {package: self._query(input_doc, package) for package in packages}

    def _push_all(
        self, modules: list[tuple[str, str]]
    ) -> Iterator[tuple[str, str, RegoParseError]]:
        for path, text in modules:
            try:
                self._client.update_policy_from_string(
                    text, f"evidencekit/{path}", rego_compat=False
                )
            except RegoParseError as err:
                yield path, text, err
            except requests.RequestException as err:
                raise EngineError(
                    f"pushing policy module {path} to OPA at {self.url} failed: {err}"
                ) from err

    def _query(self, input_doc: dict[str, Any], package: str) -> PackageOutput:
        started = time.perf_counter()
        try:
            body = self._client.query_rule(input_doc, package)
        except requests.RequestException as err:
            error = f"OPA at {self.url} could not evaluate data.{package}: {err}"
            return PackageOutput(None, None, error, time.perf_counter() - started)
        result = body.get("result")
        if not isinstance(result, dict):
            error = f"data.{package} is undefined on OPA at {self.url}"
            return PackageOutput(None, None, error, time.perf_counter() - started)
        output = package_output(package, result.get("findings"), result.get("tested"))
        return _timed(output, time.perf_counter() - started)


def package_output(package: str, findings: Any, tested: Any) -> PackageOutput:
    """Check the types of a package's two values; anything unexpected is an error."""
    problems = []
    if findings is None:
        problems.append(f"data.{package}.findings is undefined")
    elif not isinstance(findings, list):
        problems.append(f"data.{package}.findings is not a set of objects")
    if tested is None:
        problems.append(f"data.{package}.tested is undefined")
    elif isinstance(tested, bool) or not isinstance(tested, int) or tested < 0:
        problems.append(f"data.{package}.tested is {tested!r}, not a count")
    if problems:
        return PackageOutput(None, None, "; ".join(problems))
    return PackageOutput(findings, tested, None)


def short_error(err: BaseException) -> str:
    """Keep the meaningful head of a regorus error, dropping the Rust backtrace."""
    head = str(err).split("Stack backtrace:", 1)[0]
    location = re.search(r"-->\s*(\S+)", head)
    messages = [
        line.strip().removeprefix("error:").strip()
        for line in head.splitlines()
        if line.strip().startswith("error:")
    ]
    if messages:
        where = f" (at {location.group(1)})" if location else ""
        return "; ".join(messages) + where
    lines = [line.strip() for line in head.splitlines() if line.strip()]
    return " ".join(lines[:3]) or type(err).__name__


def check_builtins(engine_name: str, modules: list[tuple[str, str]]) -> None:
    """Fail at start-up if the engine lacks a builtin function the modules call."""
    if engine_name != RegorusEngine.name:
        log.info(
            "builtin check skipped engine=%s: the server compiles the modules "
            "against its own builtins when they are pushed",
            engine_name,
        )
        return
    if regorus_has_builtin("evidencekit_probe.no_such_builtin"):
        raise EngineError(
            "the builtin probe cannot tell a missing regorus builtin from a present "
            "one (the error text changed?); refusing to run unchecked policies"
        )
    callers = builtin_calls(modules)
    missing = {
        name: paths for name, paths in callers.items() if not regorus_has_builtin(name)
    }
    if missing:
        listed = "; ".join(
            f"{name} (used by {', '.join(sorted(paths))})"
            for name, paths in sorted(missing.items())
        )
        raise EngineError(f"regorus lacks builtins the policies call: {listed}")
    log.info("builtin check passed engine=regorus builtins=%d", len(callers))


@cache
def regorus_has_builtin(name: str) -> bool:
    """Probe regorus with a call of ``name`` with no arguments.

    A missing builtin is reported as "could not find function"; an arity or type
    error means the function exists.
    """
    probe = regorus.Engine()
    try:
        probe.add_policy(
            "builtin_probe.rego", f"package evidencekit_probe\nx := {name}()\n"
        )
    except RuntimeError as err:
        raise EngineError(f"cannot probe builtin {name}: {short_error(err)}") from err
    try:
        probe.eval_rule_as_json("data.evidencekit_probe.x")
    except RuntimeError as err:
        return _MISSING_FUNCTION not in str(err)
    return True


def builtin_calls(modules: list[tuple[str, str]]) -> dict[str, set[str]]:
    """Map each function the modules call but do not define to its calling files."""
    parsed = _parse_modules(modules)
    defined: dict[str, set[str]] = {}
    for module in parsed:
        defined.setdefault(module.package, set()).update(module.functions)
    callers: dict[str, set[str]] = {}
    for module in parsed:
        for name in module.calls:
            root = name.split(".", 1)[0]
            if root == "data" or root in module.aliases:
                continue
            if name not in defined[module.package]:
                callers.setdefault(name, set()).add(module.path)
    return callers


@dataclass(frozen=True)
class _ModuleCalls:
    path: str
    package: str
    aliases: set[
        str
    ]  # names bound by imports, e.g. "links" for data.evidencekit.lib.links
    functions: set[str]  # functions the module defines
    calls: set[str]  # names of every function the module calls


def _parse_modules(modules: list[tuple[str, str]]) -> list[_ModuleCalls]:
    parser = regorus.Engine()
    for path, text in modules:
        try:
            parser.add_policy(path, text)
        except RuntimeError as err:
            raise EngineError(
                f"cannot parse policy module {path}: {short_error(err)}"
            ) from err
    return [_module_calls(entry) for entry in json.loads(parser.get_ast_as_json())]


def _module_calls(entry: dict[str, Any]) -> _ModuleCalls:
    path, text = entry["source"]["file"], entry["source"]["contents"]
    raw: bytes = text.encode("utf-8")  # AST spans are byte offsets

    def span_text(span: dict[str, Any]) -> str:
        return raw[int(span["start"]) : int(span["end"])].decode("utf-8")

    ast = entry["ast"]
    aliases = {_import_alias(item, span_text) for item in ast.get("imports") or []}
    functions = {
        span_text(_span(rule["Spec"]["head"]["Func"]["refr"]))
        for rule in ast.get("rules") or []
        if "Func" in rule.get("Spec", {}).get("head", {})
    }
    calls = {span_text(_span(fcn)) for fcn in _find_calls(ast.get("rules"))}
    return _ModuleCalls(path, package_of(text, path), aliases, functions, calls)


def _import_alias(
    item: dict[str, Any], span_text: Callable[[dict[str, Any]], str]
) -> str:
    if item.get("as"):
        return span_text(item["as"])
    return span_text(_span(item["refr"])).rsplit(".", 1)[-1]


def _span(node: dict[str, Any]) -> dict[str, Any]:
    """Return the span of an AST node shaped ``{"Kind": {"span": ...}}``."""
    inner = next(iter(node.values()))
    span: dict[str, Any] = inner["span"]
    return span


def _find_calls(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "Call" and isinstance(value, dict) and "fcn" in value:
                yield value["fcn"]
            yield from _find_calls(value)
    elif isinstance(node, list):
        for item in node:
            yield from _find_calls(item)


def _split_url(url: str) -> tuple[str, int, bool]:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"engine.url {url!r} must be an http:// or https:// URL")
    if parts.path not in ("", "/") or parts.query:
        # opa-python-client always talks to <scheme>://<host>:<port>/v1.
        raise ConfigError(
            f"engine.url {url!r} has a path; OPA must be served at the root of its URL"
        )
    secure = parts.scheme == "https"
    return parts.hostname, parts.port or (443 if secure else 80), secure


def _timed(output: PackageOutput, elapsed: float) -> PackageOutput:
    return PackageOutput(output.findings, output.tested, output.error, elapsed)
