"""Verdicts from engine outputs: gaps, errors, empty scope and malformed findings."""

import logging
from pathlib import Path
from typing import Any

import pytest

from evidencekit.policies.engine import PackageOutput, RegorusEngine
from evidencekit.policies.evaluate import RawFinding, evaluate_policies
from evidencekit.policies.loader import Policy
from evidencekit.results import PolicyStatus, SourceStatus

REQUIRES = ["octopus.deployments", "octopus.tasks", "servicenow.change_request"]
COMPLETE = dict.fromkeys(REQUIRES, SourceStatus.COMPLETE)


def finding(resource: str, message: str, *refs: str) -> dict[str, Any]:
    return {"resource": resource, "message": message, "evidence": list(refs)}


UNLINKED = finding(
    "Deployments-7",
    "deployment Deployments-7 is linked to no change request",
    "octo/deployments/Deployments-7",
    "octo/tasks/ServerTasks-70",
)
UNAPPROVED = finding(
    "Deployments-12",
    "change CHG0031337 is not approved (approval is requested)",
    "octo/deployments/Deployments-12",
    "snow/change_request/a1b2c3d4",
)


def policy(policy_id: str = "change-approval", **fields: Any) -> Policy:
    values: dict[str, Any] = {
        "id": policy_id,
        "title": "Production deployments have an approved change",
        "description": "Every production deployment has an approved change.",
        "severity": "high",
        "controls": ["iso27001-2022:A.8.32", "soc2-2017:CC8.1"],
        "requires": REQUIRES,
        "package": "evidencekit.policies." + policy_id.replace("-", "_"),
        "path": Path("policies") / (policy_id.replace("-", "_") + ".rego"),
        "source": "",
    }
    values.update(fields)
    return Policy(**values)


class FakeEngine:
    """An engine that returns prepared outputs and records what it was asked."""

    name = "fake"

    def __init__(self, outputs: dict[str, PackageOutput]) -> None:
        self.outputs = outputs
        self.calls: list[tuple[dict[str, Any], list[str]]] = []

    def load(self, modules: list[tuple[str, str]]) -> None:
        raise AssertionError("evaluate_policies must not reload modules")

    def evaluate(
        self, input_doc: dict[str, Any], packages: list[str]
    ) -> dict[str, PackageOutput]:
        self.calls.append((input_doc, packages))
        return {key: value for key, value in self.outputs.items() if key in packages}


def run_one(
    output: PackageOutput, availability: dict[str, SourceStatus] | None = None
) -> tuple[Any, list[RawFinding]]:
    engine = FakeEngine({"evidencekit.policies.change_approval": output})
    results, findings = evaluate_policies(
        engine, [policy()], {}, COMPLETE if availability is None else availability
    )
    [result] = results
    return result, findings


def test_no_findings_with_items_tested_is_a_pass() -> None:
    result, findings = run_one(PackageOutput([], 14, None))

    assert result.status is PolicyStatus.PASS
    assert (result.tested, result.findings, result.reason) == (14, 0, None)
    assert result.controls == ["iso27001-2022:A.8.32", "soc2-2017:CC8.1"]
    assert findings == []


def test_findings_fail_the_policy_and_keep_their_evidence() -> None:
    result, findings = run_one(PackageOutput([UNLINKED], 14, None))

    assert result.status is PolicyStatus.FAIL
    assert result.findings == 1
    assert findings == [
        RawFinding(
            "change-approval",
            "Deployments-7",
            "deployment Deployments-7 is linked to no change request",
            ["octo/deployments/Deployments-7", "octo/tasks/ServerTasks-70"],
        )
    ]


def test_nothing_in_scope_is_not_tested() -> None:
    result, _ = run_one(PackageOutput([], 0, None))

    assert result.status is PolicyStatus.NOT_TESTED
    assert result.reason == "nothing in scope"


@pytest.mark.parametrize(
    ("availability", "reason"),
    [
        (
            {"octopus.deployments": SourceStatus.COMPLETE},
            "octopus.tasks is missing; servicenow.change_request is missing",
        ),
        (
            {**COMPLETE, "octopus.tasks": SourceStatus.INCOMPLETE},
            "octopus.tasks is incomplete",
        ),
        (
            {**COMPLETE, "servicenow.change_request": SourceStatus.FAILED},
            "servicenow.change_request is from a source that failed",
        ),
        (
            {**COMPLETE, "octopus.tasks": SourceStatus.MISSING},
            "octopus.tasks is missing",
        ),
    ],
)
def test_incomplete_evidence_is_never_a_pass(
    availability: dict[str, SourceStatus], reason: str
) -> None:
    result, _ = run_one(PackageOutput([], 14, None), availability)

    assert result.status is PolicyStatus.NOT_TESTED
    assert result.reason == reason
    assert result.evidence_gaps == [
        name for name in REQUIRES if availability.get(name) is not SourceStatus.COMPLETE
    ]


def test_findings_from_partial_evidence_still_fail() -> None:
    partial = {**COMPLETE, "octopus.tasks": SourceStatus.INCOMPLETE}

    result, findings = run_one(PackageOutput([UNLINKED], 14, None), partial)

    assert result.status is PolicyStatus.FAIL
    assert result.reason == "octopus.tasks is incomplete"
    assert [item.resource for item in findings] == ["Deployments-7"]


def test_an_engine_error_is_an_error_with_its_reason() -> None:
    error = "data.evidencekit.policies.change_approval.tested is undefined"

    result, findings = run_one(PackageOutput(None, None, error))

    assert result.status is PolicyStatus.ERROR
    assert result.reason == error
    assert (result.tested, findings) == (0, [])


def test_an_engine_error_also_names_the_evidence_gaps() -> None:
    output = PackageOutput(None, None, "evaluating failed: divide by zero")

    result, _ = run_one(output, {**COMPLETE, "octopus.tasks": SourceStatus.MISSING})

    assert result.status is PolicyStatus.ERROR
    assert (
        result.reason
        == "evaluating failed: divide by zero; also octopus.tasks is missing"
    )


@pytest.mark.parametrize(
    ("bad", "problem"),
    [
        ({**UNLINKED, "resource": 7}, "'resource' is not text"),
        (
            {k: v for k, v in UNLINKED.items() if k != "message"},
            "'message' is not text",
        ),
        ({**UNLINKED, "evidence": "octo/deployments/Deployments-7"}, "'evidence' is"),
        ({**UNLINKED, "evidence": [["octo/deployments/Deployments-7"]]}, "'evidence'"),
        ("Deployments-7 is unlinked", "not an object"),
    ],
)
def test_a_malformed_finding_is_an_error_not_dropped(bad: Any, problem: str) -> None:
    result, findings = run_one(PackageOutput([UNAPPROVED, bad], 14, None))

    assert result.status is PolicyStatus.ERROR
    assert result.reason is not None
    assert result.reason.startswith("finding 2 of 2 is malformed (")
    assert problem in result.reason
    assert findings == []


def test_a_package_the_engine_did_not_return_is_an_error() -> None:
    engine = FakeEngine({})

    [result], _ = evaluate_policies(engine, [policy()], {}, COMPLETE)

    assert result.status is PolicyStatus.ERROR
    assert result.reason == (
        "the engine returned nothing for package evidencekit.policies.change_approval"
    )


def test_one_evaluation_covers_every_policy_and_findings_are_sorted() -> None:
    document: dict[str, Any] = {"octopus": {}}
    engine = FakeEngine(
        {
            "evidencekit.policies.segregation_of_duties": PackageOutput(
                [finding("Deployments-3", "deployer approved CHG0000003")], 3, None
            ),
            "evidencekit.policies.change_approval": PackageOutput(
                [UNLINKED, UNAPPROVED], 14, None
            ),
        }
    )
    policies = [policy("segregation-of-duties"), policy("change-approval")]

    results, findings = evaluate_policies(engine, policies, document, COMPLETE)

    assert len(engine.calls) == 1
    assert engine.calls[0][0] is document
    assert engine.calls[0][1] == [
        "evidencekit.policies.segregation_of_duties",
        "evidencekit.policies.change_approval",
    ]
    assert [result.id for result in results] == [
        "segregation-of-duties",
        "change-approval",
    ]
    assert [(item.policy, item.resource) for item in findings] == [
        ("change-approval", "Deployments-12"),
        ("change-approval", "Deployments-7"),
        ("segregation-of-duties", "Deployments-3"),
    ]


def test_one_log_line_per_policy(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="evidencekit.policies.evaluate")

    run_one(PackageOutput([UNLINKED], 14, None, elapsed=0.25))

    assert [record.getMessage() for record in caplog.records] == [
        "policy=change-approval status=fail tested=14 findings=1 elapsed=0.25s"
    ]


TASKS_POLICY = """\
package evidencekit.policies.task_state

import rego.v1

findings contains {
    "resource": task.Id,
    "message": sprintf("task %s ended in state %s", [task.Id, task.State]),
    "evidence": [task._ref],
} if {
    some task in input.octopus.tasks
    task.State != "Success"
}

tested := count(input.octopus.tasks)
"""


def test_with_regorus_end_to_end() -> None:
    engine = RegorusEngine()
    engine.load([("task_state.rego", TASKS_POLICY)])
    tasks = {
        "ServerTasks-70": {
            "Id": "ServerTasks-70",
            "State": "Failed",
            "_ref": "octo/tasks/ServerTasks-70",
        },
        "ServerTasks-71": {
            "Id": "ServerTasks-71",
            "State": "Success",
            "_ref": "octo/tasks/ServerTasks-71",
        },
    }
    task_policy = policy("task-state", requires=["octopus.tasks"])

    [result], findings = evaluate_policies(
        engine,
        [task_policy],
        {"octopus": {"tasks": tasks}},
        {"octopus.tasks": SourceStatus.COMPLETE},
    )

    assert (result.status, result.tested, result.findings) == (PolicyStatus.FAIL, 2, 1)
    assert findings == [
        RawFinding(
            "task-state",
            "ServerTasks-70",
            "task ServerTasks-70 ended in state Failed",
            ["octo/tasks/ServerTasks-70"],
        )
    ]


def test_findings_are_withheld_when_required_evidence_is_absent() -> None:
    """A failed source makes the findings that need it meaningless, not violations."""
    engine = FakeEngine(
        {"evidencekit.policies.change_approval": PackageOutput([UNLINKED], 1, None)}
    )
    failed = {**COMPLETE, "servicenow.change_request": SourceStatus.FAILED}
    results, findings = evaluate_policies(engine, [policy()], {}, failed)
    assert results[0].status is PolicyStatus.NOT_TESTED
    assert results[0].evidence_gaps == ["servicenow.change_request"]
    assert findings == []

    partial = {**COMPLETE, "servicenow.change_request": SourceStatus.INCOMPLETE}
    results, findings = evaluate_policies(engine, [policy()], {}, partial)
    assert results[0].status is PolicyStatus.FAIL
    assert [item.resource for item in findings] == ["Deployments-7"]
