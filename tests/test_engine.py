"""The Rego engines: regorus in-process, OPA over REST, and the builtin check."""

import json
import re
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from evidencekit.config import OpaEngineConfig, RegorusEngineConfig
from evidencekit.errors import ConfigError, EngineError
from evidencekit.policies.engine import (
    OpaServerEngine,
    PackageOutput,
    RegorusEngine,
    builtin_calls,
    check_builtins,
    make_engine,
    regorus_has_builtin,
    short_error,
)

UNAPPROVED = """\
package evidencekit.policies.unapproved

import rego.v1

findings contains finding if {
    some deployment in input.octopus.deployments
    not deployment.FormValues["Octopus.ServiceNow.ChangeRequest.Number"]
    finding := {
        "resource": deployment.Id,
        "message": sprintf("deployment %s names no change", [deployment.Id]),
        "evidence": [deployment._ref],
    }
}

tested := count(input.octopus.deployments)
"""

NO_TESTED = """\
package evidencekit.policies.no_tested

import rego.v1

findings := set()

tested := count(input.octopus.tasks) if input.octopus.tasks.counted
"""

CONFLICT = """\
package evidencekit.policies.conflict

import rego.v1

findings := set()

tested := 1

tested := 2 if input.octopus
"""

NOT_A_SET = """\
package evidencekit.policies.not_a_set

import rego.v1

findings := "none"

tested := -1
"""

DEPLOYMENTS = {
    "Deployments-7": {
        "Id": "Deployments-7",
        "EnvironmentId": "Environments-2",
        "TaskId": "ServerTasks-70",
        "FormValues": {},
        "_ref": "octo/deployments/Deployments-7",
    },
    "Deployments-8": {
        "Id": "Deployments-8",
        "EnvironmentId": "Environments-2",
        "TaskId": "ServerTasks-80",
        "FormValues": {"Octopus.ServiceNow.ChangeRequest.Number": "CHG0031337"},
        "_ref": "octo/deployments/Deployments-8",
    },
}
INPUT = {"octopus": {"deployments": DEPLOYMENTS, "tasks": {}}}


def regorus_with(*modules: tuple[str, str], joint: bool = False) -> RegorusEngine:
    engine = RegorusEngine(joint=joint)
    engine.load(list(modules))
    return engine


def test_findings_and_tested_come_back_per_package() -> None:
    engine = regorus_with(("unapproved.rego", UNAPPROVED))

    outputs = engine.evaluate(INPUT, ["evidencekit.policies.unapproved"])

    output = outputs["evidencekit.policies.unapproved"]
    assert output.error is None
    assert output.tested == 2
    assert output.findings == [
        {
            "resource": "Deployments-7",
            "message": "deployment Deployments-7 names no change",
            "evidence": ["octo/deployments/Deployments-7"],
        }
    ]


class CountingInput:
    """Wrap a regorus engine and count inputs set and queries run."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.inputs_set = 0
        self.queries: list[str] = []

    def set_input(self, document: dict[str, Any]) -> None:
        self.inputs_set += 1
        self.inner.set_input(document)

    def eval_query_as_json(self, query: str) -> str:
        self.queries.append(query)
        return str(self.inner.eval_query_as_json(query))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def test_the_input_is_set_once_for_all_packages() -> None:
    engine = regorus_with(
        ("unapproved.rego", UNAPPROVED), ("no_tested.rego", NO_TESTED)
    )
    counter = CountingInput(engine._engine)
    engine._engine = counter

    outputs = engine.evaluate(
        INPUT, ["evidencekit.policies.unapproved", "evidencekit.policies.no_tested"]
    )

    assert counter.inputs_set == 1
    assert outputs["evidencekit.policies.unapproved"].tested == 2


def test_packages_are_evaluated_in_one_query_when_all_are_defined() -> None:
    engine = regorus_with(
        ("unapproved.rego", UNAPPROVED),
        ("unapproved_copy.rego", UNAPPROVED.replace(".unapproved", ".copy")),
        joint=True,
    )
    counter = CountingInput(engine._engine)
    engine._engine = counter

    outputs = engine.evaluate(
        INPUT, ["evidencekit.policies.unapproved", "evidencekit.policies.copy"]
    )

    assert len(counter.queries) == 1
    assert outputs["evidencekit.policies.copy"] == PackageOutput(
        outputs["evidencekit.policies.unapproved"].findings,
        2,
        None,
        outputs["evidencekit.policies.unapproved"].elapsed,
    )
    assert outputs["evidencekit.policies.copy"].findings


def test_many_packages_fit_in_one_joint_query() -> None:
    # regorus refuses query lines over 1,024 columns; twelve packages would pass that
    names = [f"evidencekit.policies.unapproved_in_region_{n:02d}" for n in range(12)]
    engine = regorus_with(
        *[
            (
                f"{name}.rego",
                UNAPPROVED.replace("evidencekit.policies.unapproved", name),
            )
            for name in names
        ],
        joint=True,
    )
    counter = CountingInput(engine._engine)
    engine._engine = counter

    outputs = engine.evaluate(INPUT, names)

    assert len(counter.queries) == 1
    assert [outputs[name].tested for name in names] == [2] * 12


def test_undefined_tested_is_an_error_not_a_pass() -> None:
    engine = regorus_with(("no_tested.rego", NO_TESTED))

    output = engine.evaluate(INPUT, ["evidencekit.policies.no_tested"])[
        "evidencekit.policies.no_tested"
    ]

    assert output.findings is None
    assert output.tested is None
    assert output.error == "data.evidencekit.policies.no_tested.tested is undefined"


def test_a_package_without_a_findings_rule_is_an_error() -> None:
    only_tested = "package evidencekit.policies.only_tested\n\ntested := 3\n"
    engine = regorus_with(("only_tested.rego", only_tested))

    output = engine.evaluate(INPUT, ["evidencekit.policies.only_tested"])[
        "evidencekit.policies.only_tested"
    ]

    assert (output.findings, output.tested) == (None, None)
    assert output.error == "data.evidencekit.policies.only_tested.findings is undefined"


def test_wrong_types_are_errors() -> None:
    engine = regorus_with(("not_a_set.rego", NOT_A_SET))

    output = engine.evaluate(INPUT, ["evidencekit.policies.not_a_set"])[
        "evidencekit.policies.not_a_set"
    ]

    assert output.error is not None
    assert "findings is not a set of objects" in output.error
    assert "tested is -1, not a count" in output.error


def test_a_runtime_error_keeps_the_message_without_the_backtrace() -> None:
    engine = regorus_with(("conflict.rego", CONFLICT), ("unapproved.rego", UNAPPROVED))

    outputs = engine.evaluate(
        INPUT, ["evidencekit.policies.conflict", "evidencekit.policies.unapproved"]
    )

    assert outputs["evidencekit.policies.conflict"].error == (
        "evaluating data.evidencekit.policies.conflict failed: rule conflicts with "
        "rule at conflict.rego:7:1 (at conflict.rego:9:1)"
    )
    # one broken package does not take the others down
    assert outputs["evidencekit.policies.unapproved"].tested == 2


def test_a_package_that_is_not_loaded_is_an_error() -> None:
    engine = regorus_with(("unapproved.rego", UNAPPROVED))

    output = engine.evaluate(INPUT, ["evidencekit.policies.absent"])[
        "evidencekit.policies.absent"
    ]

    assert output.error == "package evidencekit.policies.absent is not loaded"


def test_a_module_that_does_not_compile_names_its_file() -> None:
    broken = UNAPPROVED.replace("some deployment in", "some deployment on")

    with pytest.raises(
        EngineError, match=re.escape("cannot compile policy module bad.rego")
    ):
        regorus_with(("bad.rego", broken))


def test_evaluate_before_load_is_refused() -> None:
    with pytest.raises(EngineError, match="before load"):
        RegorusEngine().evaluate(INPUT, ["evidencekit.policies.unapproved"])


def test_short_error_keeps_location_and_message() -> None:
    raw = RuntimeError(
        "\n--> b.rego:6:1\n  |\n6 | tested := 2\n  | ^\n"
        "error: rule conflicts with rule at b.rego:5:1\n\n"
        "Stack backtrace:\n   0: <unknown>\n   1: <unknown>\n"
    )

    assert short_error(raw) == "rule conflicts with rule at b.rego:5:1 (at b.rego:6:1)"
    assert short_error(
        RuntimeError("not a valid rule path\n\nStack backtrace:\n 0:")
    ) == ("not a valid rule path")


@pytest.mark.parametrize(
    ("name", "present"),
    [
        ("crypto.sha256", False),
        ("rego.metadata.rule", False),
        ("regex.find_n", True),
        ("time.parse_rfc3339_ns", True),
        ("concat", True),
        ("time.now_ns", True),  # takes no arguments, so the probe call succeeds
    ],
)
def test_the_probe_tells_missing_builtins_from_present_ones(
    name: str, present: bool
) -> None:
    assert regorus_has_builtin(name) is present


LIBRARY = """\
package evidencekit.lib.changelink

import rego.v1

change_number(d) := n if {
    n := regex.find_n(`\\bCHG[0-9]{7}\\b`, d.Comments, 1)[0]
}
"""

USES_LIBRARY = """\
package evidencekit.policies.digest

import data.evidencekit.lib.changelink as link
import rego.v1

# crypto.md5(x) in a comment is not a call
label(d) := concat(" ", ["deployment", d.Id, "calls crypto.sha1(x)"])

findings contains {"resource": d.Id, "message": label(d), "evidence": [digest]} if {
    some d in input.octopus.deployments
    number := link.change_number(d)
    data.evidencekit.lib.changelink.change_number(d) == number
    digest := crypto.sha256(number)
    rego.metadata.rule()
}

tested := count(input.octopus.deployments)
"""


def test_builtin_calls_leave_out_functions_the_modules_define() -> None:
    calls = builtin_calls(
        [("lib/changelink.rego", LIBRARY), ("digest.rego", USES_LIBRARY)]
    )

    assert calls == {
        "regex.find_n": {"lib/changelink.rego"},
        "concat": {"digest.rego"},
        "crypto.sha256": {"digest.rego"},
        "rego.metadata.rule": {"digest.rego"},
        "count": {"digest.rego"},
    }


def test_functions_defined_in_another_file_of_the_package_are_not_builtins() -> None:
    helper = "package evidencekit.policies.digest\n\nfingerprint(x) := x\n"
    caller = (
        "package evidencekit.policies.digest\n\nimport rego.v1\n\n"
        "tested := count([fingerprint(1)])\n"
    )

    calls = builtin_calls([("a.rego", helper), ("b.rego", caller)])

    assert calls == {"count": {"b.rego"}}


def test_missing_builtins_are_listed_with_the_files_using_them() -> None:
    modules = [("lib/changelink.rego", LIBRARY), ("digest.rego", USES_LIBRARY)]

    with pytest.raises(EngineError) as caught:
        check_builtins("regorus", modules)

    assert str(caught.value) == (
        "regorus lacks builtins the policies call: crypto.sha256 (used by "
        "digest.rego); rego.metadata.rule (used by digest.rego)"
    )


def test_modules_using_only_present_builtins_pass_the_check() -> None:
    check_builtins(
        "regorus", [("lib/changelink.rego", LIBRARY), ("unapproved.rego", UNAPPROVED)]
    )


def test_the_builtin_check_is_left_to_an_opa_server() -> None:
    check_builtins("opa", [("digest.rego", USES_LIBRARY)])


def test_make_engine_follows_the_config(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPA_TOKEN", "s3cret")

    assert isinstance(make_engine(RegorusEngineConfig()), RegorusEngine)
    opa = make_engine(
        OpaEngineConfig(
            type="opa",
            url="https://opa.example.invalid:8443",
            token={"env": "OPA_TOKEN"},
        )
    )
    assert isinstance(opa, OpaServerEngine)
    assert opa.name == "opa"


@pytest.mark.parametrize(
    "url", ["opa.internal:8181", "ftp://opa.internal", "http://opa.internal/v1"]
)
def test_an_unusable_opa_url_is_a_config_error(url: str) -> None:
    with pytest.raises(ConfigError, match=re.escape("engine.url")):
        OpaServerEngine(url)


def opa_engine(httpserver: HTTPServer, token: str | None = None) -> OpaServerEngine:
    return OpaServerEngine(httpserver.url_for("/"), token=token, timeout=5)


def test_modules_are_pushed_as_policies_and_refused_ones_retried(
    httpserver: HTTPServer,
) -> None:
    pushed: list[str] = []

    def put_policy(request: Request) -> Response:
        path = request.path.removeprefix("/v1/policies/")
        assert request.headers["Content-Type"] == "text/plain"
        assert request.headers["Authorization"] == "Bearer t0ken"
        if path == "evidencekit/unapproved.rego" and not pushed:
            # OPA refuses a module that calls a library function it does not know yet
            error = {
                "code": "invalid_parameter",
                "message": "error(s) occurred while compiling module(s)",
                "errors": [{"message": "undefined function data.evidencekit.lib.x"}],
            }
            return Response(
                json.dumps(error), status=400, content_type="application/json"
            )
        pushed.append(path)
        assert request.get_data(as_text=True) == dict(modules)[path.split("/", 1)[1]]
        return Response("{}", status=200, content_type="application/json")

    modules = [("unapproved.rego", UNAPPROVED), ("lib/changelink.rego", LIBRARY)]
    for path, _ in modules:
        httpserver.expect_request(
            f"/v1/policies/evidencekit/{path}", method="PUT"
        ).respond_with_handler(put_policy)

    opa_engine(httpserver, token="t0ken").load(modules)

    assert pushed == ["evidencekit/lib/changelink.rego", "evidencekit/unapproved.rego"]


def test_a_module_opa_always_refuses_is_an_engine_error(httpserver: HTTPServer) -> None:
    error = {"code": "invalid_parameter", "message": "rego_parse_error: unexpected"}
    httpserver.expect_request(
        "/v1/policies/evidencekit/unapproved.rego", method="PUT"
    ).respond_with_json(error, status=400)

    with pytest.raises(
        EngineError, match=re.escape("refused policy module unapproved.rego")
    ):
        opa_engine(httpserver).load([("unapproved.rego", UNAPPROVED)])


def test_packages_are_queried_with_the_input(httpserver: HTTPServer) -> None:
    finding = {
        "resource": "Deployments-7",
        "message": "deployment Deployments-7 names no change",
        "evidence": ["octo/deployments/Deployments-7"],
    }
    httpserver.expect_request(
        "/v1/data/evidencekit/policies/unapproved",
        method="POST",
        json={"input": INPUT},
    ).respond_with_json({"result": {"findings": [finding], "tested": 2, "x": 1}})
    httpserver.expect_request(
        "/v1/data/evidencekit/policies/no_tested", method="POST"
    ).respond_with_json({"result": {"findings": []}})
    httpserver.expect_request(
        "/v1/data/evidencekit/policies/absent", method="POST"
    ).respond_with_json({})

    outputs = opa_engine(httpserver).evaluate(
        INPUT,
        [
            "evidencekit.policies.unapproved",
            "evidencekit.policies.no_tested",
            "evidencekit.policies.absent",
        ],
    )

    assert outputs["evidencekit.policies.unapproved"].findings == [finding]
    assert outputs["evidencekit.policies.unapproved"].tested == 2
    assert outputs["evidencekit.policies.no_tested"].error == (
        "data.evidencekit.policies.no_tested.tested is undefined"
    )
    assert outputs["evidencekit.policies.absent"].error == (
        f"data.evidencekit.policies.absent is undefined on OPA at "
        f"{httpserver.url_for('/')}"
    )


def test_an_opa_evaluation_failure_is_an_error_for_that_package(
    httpserver: HTTPServer,
) -> None:
    httpserver.expect_request(
        "/v1/data/evidencekit/policies/conflict", method="POST"
    ).respond_with_json(
        {"code": "internal_error", "message": "eval_conflict_error"}, status=500
    )

    output = opa_engine(httpserver).evaluate(INPUT, ["evidencekit.policies.conflict"])[
        "evidencekit.policies.conflict"
    ]

    assert output.findings is None
    assert output.error is not None
    assert "could not evaluate data.evidencekit.policies.conflict" in output.error
    assert "500" in output.error
