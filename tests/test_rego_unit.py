"""Run every Rego unit test (`test_*` rule) in the shipped policies, one case each."""

import re
from pathlib import Path
from typing import Any

import pytest
import regorus

from evidencekit.policies.engine import check_builtins, short_error
from evidencekit.policies.loader import (
    TEST_SUFFIX,
    load_modules,
    load_policies,
    load_test_modules,
    package_of,
)
from evidencekit.resources import bundled_dir

POLICY_DIR = bundled_dir("policies")
_TEST_RULE = re.compile(r"^(test_[A-Za-z0-9_]*)\b", re.MULTILINE)


def rego_unit_tests() -> list[tuple[str, str, str]]:
    """Return ``(file, package, rule)`` for every test rule, each listed once."""
    cases = []
    for path, text in load_test_modules(POLICY_DIR):
        package = package_of(text, path)
        for rule in dict.fromkeys(_TEST_RULE.findall(text)):
            cases.append((path, package, rule))
    return cases


CASES = rego_unit_tests()


@pytest.fixture(scope="module")
def rego_engine() -> Any:
    engine = regorus.Engine()
    for path, text in load_modules(POLICY_DIR) + load_test_modules(POLICY_DIR):
        engine.add_policy(path, text)
    return engine


@pytest.mark.parametrize(
    ("path", "package", "rule"),
    CASES,
    ids=[f"{path}::{rule}" for path, _, rule in CASES],
)
def test_rego_unit(rego_engine: Any, path: str, package: str, rule: str) -> None:
    try:
        value = rego_engine.eval_rule(f"data.{package}.{rule}")
    except RuntimeError as err:
        pytest.fail(f"{path}: {rule} raised: {short_error(err)}")
    if value is None:
        pytest.fail(f"{path}: {rule} is undefined (a failed test)")
    assert value is True, f"{path}: {rule} evaluated to {value!r}, not true"


def test_every_policy_file_has_unit_tests_beside_it() -> None:
    untested = [
        path
        for path, _ in load_modules(POLICY_DIR)
        if not (POLICY_DIR / path).with_name(Path(path).stem + TEST_SUFFIX).is_file()
    ]

    assert untested == [], f"policy files without a sibling *{TEST_SUFFIX}: {untested}"


def test_the_test_rule_pattern_finds_rules_not_mentions() -> None:
    text = (
        "package p_test\n\n"
        "test_links_by_form_value if {\n"
        "    # test_in_a_comment is not a rule\n"
        '    x := "test_in_a_string"\n'
        "}\n\n"
        "test_links_by_form_value if { true }\n"
    )

    assert list(dict.fromkeys(_TEST_RULE.findall(text))) == ["test_links_by_form_value"]


def test_shipped_policies_load_with_valid_metadata() -> None:
    policies = load_policies(POLICY_DIR)

    assert len(policies) == len({policy.id for policy in policies})
    assert all(policy.controls and policy.requires for policy in policies)


def test_shipped_modules_pass_the_builtin_check() -> None:
    check_builtins("regorus", load_modules(POLICY_DIR) + load_test_modules(POLICY_DIR))
