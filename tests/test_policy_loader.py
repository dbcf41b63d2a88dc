"""Policy discovery and METADATA validation."""

import re
from pathlib import Path

import pytest

from evidencekit.errors import PolicyError
from evidencekit.policies.loader import (
    load_modules,
    load_policies,
    load_test_modules,
    metadata_block,
)

CHANGE_APPROVAL = """\
# METADATA
# title: Production deployments have an approved change
# description: >-
#   Every production deployment in the period is linked to an approved
#   change request.
# custom:
#   id: change-approval
#   severity: high
#   controls: [iso27001-2022:A.8.32, soc2-2017:CC8.1]
#   requires: [octopus.deployments, octopus.tasks,
#              servicenow.change_request]
package evidencekit.policies.change_approval

import rego.v1

tested := count(input.octopus.deployments)

findings := set()
"""

LIBRARY = """\
# Helpers that link deployments to changes.
package evidencekit.lib.changelink

import rego.v1

number(d) := d.FormValues["Octopus.ServiceNow.ChangeRequest.Number"]
"""

UNIT_TEST = """\
package evidencekit.policies.change_approval_test

import rego.v1

test_nothing_tested if {
    data.evidencekit.policies.change_approval.tested == 0 with input as {}
}
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def load_one(tmp_path: Path, text: str) -> None:
    write(tmp_path, "policy.rego", text)
    load_policies(tmp_path)


def test_policy_metadata_is_read_from_the_comment_block(tmp_path: Path) -> None:
    path = write(tmp_path, "change_approval.rego", CHANGE_APPROVAL)

    [policy] = load_policies(tmp_path)

    assert policy.id == "change-approval"
    assert policy.title == "Production deployments have an approved change"
    assert policy.description == (
        "Every production deployment in the period is linked to an approved "
        "change request."
    )
    assert policy.severity == "high"
    assert policy.controls == ["iso27001-2022:A.8.32", "soc2-2017:CC8.1"]
    assert policy.requires == [
        "octopus.deployments",
        "octopus.tasks",
        "servicenow.change_request",
    ]
    assert policy.package == "evidencekit.policies.change_approval"
    assert policy.path == path
    assert policy.source == CHANGE_APPROVAL


def test_libraries_and_tests_are_modules_not_policies(tmp_path: Path) -> None:
    write(tmp_path, "change_approval.rego", CHANGE_APPROVAL)
    write(tmp_path, "change_approval_test.rego", UNIT_TEST)
    write(tmp_path, "lib/changelink.rego", LIBRARY)
    write(tmp_path, "lib/changelink_test.rego", UNIT_TEST.replace("approval", "x"))

    policies = load_policies(tmp_path)
    modules = load_modules(tmp_path)
    tests = load_test_modules(tmp_path)

    assert [policy.id for policy in policies] == ["change-approval"]
    assert modules == [
        ("change_approval.rego", CHANGE_APPROVAL),
        ("lib/changelink.rego", LIBRARY),
    ]
    assert [path for path, _ in tests] == [
        "change_approval_test.rego",
        "lib/changelink_test.rego",
    ]


def test_policies_are_found_in_subfolders(tmp_path: Path) -> None:
    write(tmp_path, "change/change_approval.rego", CHANGE_APPROVAL)

    assert [policy.id for policy in load_policies(tmp_path)] == ["change-approval"]


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("# title: Production deployments have an approved change\n", "", "'title'"),
        ("#   id: change-approval\n", "", "'custom.id'"),
        ("#   severity: high\n", "", "'custom.severity'"),
        (
            "#   controls: [iso27001-2022:A.8.32, soc2-2017:CC8.1]\n",
            "#   controls: []\n",
            "'custom.controls'",
        ),
        (
            "#   requires: [octopus.deployments, octopus.tasks,\n"
            "#              servicenow.change_request]\n",
            "",
            "'custom.requires'",
        ),
    ],
)
def test_a_missing_field_is_named(
    tmp_path: Path, old: str, new: str, expected: str
) -> None:
    assert old in CHANGE_APPROVAL
    with pytest.raises(
        PolicyError, match=re.escape(f"policy.rego: METADATA field {expected}")
    ):
        load_one(tmp_path, CHANGE_APPROVAL.replace(old, new))


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("severity: high", "severity: severe", "custom.severity 'severe' is not one"),
        ("iso27001-2022:A.8.32,", "ISO27001:A.8.32,", "entry 'ISO27001:A.8.32'"),
        ("soc2-2017:CC8.1]", "soc2-2017:cc8.1]", "entry 'soc2-2017:cc8.1'"),
        ("octopus.tasks,", "octopus.task,", "requires entry 'octopus.task'"),
        ("octopus.tasks,", "jira.issues,", "requires entry 'jira.issues'"),
        ("id: change-approval", "id: Change_Approval", "is not kebab-case"),
        ("id: change-approval", "id: change-window", "does not match custom.id"),
        (
            "package evidencekit.policies.change_approval",
            "package evidencekit.change_approval",
            "expected package evidencekit.policies.change_approval",
        ),
        ("#   severity: high", "#   severity: [high", "not valid YAML"),
        ("#   severity: high", "#   severity: 3", "'custom.severity' must be text"),
    ],
)
def test_invalid_metadata_is_rejected_naming_the_field(
    tmp_path: Path, old: str, new: str, expected: str
) -> None:
    assert old in CHANGE_APPROVAL
    with pytest.raises(PolicyError, match=re.escape("policy.rego")) as caught:
        load_one(tmp_path, CHANGE_APPROVAL.replace(old, new))
    assert expected in str(caught.value)


def test_duplicate_ids_name_both_files(tmp_path: Path) -> None:
    write(tmp_path, "a/change_approval.rego", CHANGE_APPROVAL)
    write(tmp_path, "b/change_approval.rego", CHANGE_APPROVAL)

    with pytest.raises(PolicyError) as caught:
        load_policies(tmp_path)

    message = str(caught.value)
    assert "custom.id 'change-approval' is already used" in message
    assert str(tmp_path / "a" / "change_approval.rego") in message
    assert str(tmp_path / "b" / "change_approval.rego") in message


def test_metadata_must_sit_directly_above_the_package(tmp_path: Path) -> None:
    detached = CHANGE_APPROVAL.replace("package evidencekit", "\npackage evidencekit")

    with pytest.raises(PolicyError, match="no '# METADATA' comment block"):
        load_one(tmp_path, detached)


def test_a_policy_without_metadata_is_rejected(tmp_path: Path) -> None:
    bare = CHANGE_APPROVAL[CHANGE_APPROVAL.index("package") :]

    with pytest.raises(PolicyError, match=re.escape("policy.rego: no '# METADATA'")):
        load_one(tmp_path, bare)


def test_a_file_without_a_package_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match=re.escape("policy.rego: no 'package' line")):
        load_one(tmp_path, "# METADATA\n# title: x\nallow := true\n")


def test_comment_lines_above_metadata_are_ignored() -> None:
    text = "# Copyright the evidencekit authors.\n" + CHANGE_APPROVAL

    assert metadata_block(text, "x.rego")["custom"]["id"] == "change-approval"


def test_an_empty_or_missing_folder_is_an_error(tmp_path: Path) -> None:
    write(tmp_path, "lib/changelink.rego", LIBRARY)

    with pytest.raises(PolicyError, match="no policies found"):
        load_policies(tmp_path)
    with pytest.raises(PolicyError, match="does not exist"):
        load_modules(tmp_path / "absent")
