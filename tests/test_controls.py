"""The control catalogues and the mapping from policy verdicts to control statuses."""

from __future__ import annotations

import logging
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml

from evidencekit.controls.catalogue import (
    Catalogue,
    CatalogueError,
    load_catalogue,
    parse_framework,
    parse_ref,
    read_framework,
)
from evidencekit.controls.mapping import (
    check_mapping,
    control_results,
    control_status,
    coverage,
)
from evidencekit.errors import PolicyError
from evidencekit.results import ControlStatus, PolicyResult, PolicyStatus

POLICY_DIR = Path(__file__).resolve().parents[1] / "policies"
ISO = "iso27001-2022"
SOC2 = "soc2-2017"


def _ids(prefix: str, last: int) -> list[str]:
    return [f"{prefix}.{number}" for number in range(1, last + 1)]


ISO_THEMES = {
    "A.5": ("Organizational", 37),
    "A.6": ("People", 8),
    "A.7": ("Physical", 14),
    "A.8": ("Technological", 34),
}
SOC2_COMMON = {
    "CC1": 5,
    "CC2": 3,
    "CC3": 4,
    "CC4": 2,
    "CC5": 3,
    "CC6": 8,
    "CC7": 5,
    "CC8": 1,
    "CC9": 2,
}
SOC2_ADDITIONAL = {
    "A1": 3,
    "C1": 2,
    "PI1": 5,
    "P1": 1,
    "P2": 1,
    "P3": 2,
    "P4": 3,
    "P5": 2,
    "P6": 7,
    "P7": 1,
    "P8": 1,
}
SOC2_THEMES = {
    "CC1": "Control environment",
    "CC2": "Information and communication",
    "CC3": "Risk assessment",
    "CC4": "Monitoring activities",
    "CC5": "Control activities",
    "CC6": "Logical and physical access",
    "CC7": "System operations",
    "CC8": "Change management",
    "CC9": "Risk mitigation",
    "A1": "Availability",
    "C1": "Confidentiality",
    "PI1": "Processing integrity",
}
POLICY_CONTROLS = {
    ISO: [
        *("A.8.32", "A.8.19", "A.5.3", "A.8.2", "A.5.15"),
        *("A.5.18", "A.5.17", "A.8.5", "A.5.16", "A.8.13"),
    ],
    SOC2: ["CC8.1", "CC6.3", "CC6.1", "CC6.2", "A1.2"],
}


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return load_catalogue()


def _control_ids(catalogue: Catalogue, framework: str) -> list[str]:
    return [control.id for control in catalogue.framework(framework).controls]


# --- catalogue contents -------------------------------------------------------------


def test_iso_catalogue_is_exactly_the_93_annex_a_controls(catalogue: Catalogue) -> None:
    expected = [cid for group, (_, n) in ISO_THEMES.items() for cid in _ids(group, n)]
    assert len(expected) == 93
    assert _control_ids(catalogue, ISO) == expected


def test_soc2_catalogue_has_33_common_criteria_then_the_additional_ones(
    catalogue: Catalogue,
) -> None:
    common = [cid for group, n in SOC2_COMMON.items() for cid in _ids(group, n)]
    additional = [cid for group, n in SOC2_ADDITIONAL.items() for cid in _ids(group, n)]
    ids = _control_ids(catalogue, SOC2)
    assert len(common) == 33
    assert ids[:33] == common
    assert ids[33:] == additional
    assert len(ids) == 61


def test_iso_themes_follow_the_clause(catalogue: Catalogue) -> None:
    for control in catalogue.framework(ISO).controls:
        group = control.id.rpartition(".")[0]
        assert control.theme == ISO_THEMES[group][0], control.id


def test_soc2_themes_follow_the_criteria_series(catalogue: Catalogue) -> None:
    for control in catalogue.framework(SOC2).controls:
        series = control.id.split(".")[0]
        expected = "Privacy" if re.fullmatch(r"P[1-8]", series) else SOC2_THEMES[series]
        assert control.theme == expected, control.id


@pytest.mark.parametrize(
    ("framework", "name", "pattern"),
    [
        (ISO, "ISO/IEC 27001:2022 Annex A", r"A\.[5-8]\.\d{1,2}"),
        (SOC2, "SOC 2 (2017 Trust Services Criteria)", r"(CC\d|A1|C1|PI1|P\d)\.\d"),
    ],
)
def test_framework_names_ids_titles_and_refs(
    catalogue: Catalogue, framework: str, name: str, pattern: str
) -> None:
    loaded = catalogue.framework(framework)
    ids = [control.id for control in loaded.controls]
    assert loaded.id == framework
    assert loaded.name == name
    assert len(set(ids)) == len(ids)
    for control in loaded.controls:
        assert re.fullmatch(pattern, control.id), control.id
        assert control.framework == framework
        assert control.ref == f"{framework}:{control.id}"
        assert 0 < len(control.title) <= 60, control.id
        assert control.title == control.title.strip()
        assert catalogue.get(control.ref) is control


def test_only_the_known_frameworks_are_loaded(catalogue: Catalogue) -> None:
    assert list(catalogue.frameworks) == [ISO, SOC2]


def test_control_ids_the_policies_use_exist(catalogue: Catalogue) -> None:
    for framework, ids in POLICY_CONTROLS.items():
        for control_id in ids:
            assert f"{framework}:{control_id}" in catalogue


def test_catalogue_is_loaded_once() -> None:
    assert load_catalogue() is load_catalogue()


# --- refs ---------------------------------------------------------------------------


def test_get_returns_the_control_with_its_title_and_theme(catalogue: Catalogue) -> None:
    control = catalogue.get("soc2-2017:CC8.1")
    assert (control.framework, control.id, control.theme) == (
        SOC2,
        "CC8.1",
        "Change management",
    )
    assert control.title


def test_get_unknown_control_names_the_framework_and_ref(catalogue: Catalogue) -> None:
    with pytest.raises(KeyError, match=r"'A\.8\.35' is not in ISO/IEC 27001:2022"):
        catalogue.get("iso27001-2022:A.8.35")


def test_get_unknown_framework_lists_the_known_ones(catalogue: Catalogue) -> None:
    with pytest.raises(KeyError, match="known: iso27001-2022, soc2-2017"):
        catalogue.get("iso27001-2013:A.12.1")


def test_parse_ref_splits_framework_and_id() -> None:
    assert parse_ref("iso27001-2022:A.8.32") == (ISO, "A.8.32")
    assert parse_ref("soc2-2017:PI1.5") == (SOC2, "PI1.5")


@pytest.mark.parametrize(
    "ref",
    [
        "A.8.32",
        "iso27001-2022:",
        ":A.8.32",
        "iso27001-2022: A.8.32",
        "ISO27001-2022:A.8.32",
        "iso27001-2022:A.8.32:extra",
        "soc2-2017:cc8.1",
        "",
    ],
)
def test_parse_ref_rejects_malformed_refs(ref: str) -> None:
    with pytest.raises(ValueError, match="malformed"):
        parse_ref(ref)


# --- catalogue validation -----------------------------------------------------------


def _raw(*controls: dict[str, Any], framework: str = ISO) -> dict[str, Any]:
    return {"framework": framework, "name": "Test", "controls": list(controls)}


def _entry(
    control_id: str, title: str = "Changes to systems controlled"
) -> dict[str, Any]:
    return {"id": control_id, "title": title, "theme": "Technological"}


def test_parse_framework_builds_controls_in_file_order() -> None:
    framework = parse_framework(_raw(_entry("A.8.32"), _entry("A.8.2")), origin="t")
    assert [control.ref for control in framework.controls] == [
        "iso27001-2022:A.8.32",
        "iso27001-2022:A.8.2",
    ]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (_raw(_entry("A.8.32"), _entry("A.8.32")), "'A.8.32' appears twice"),
        (_raw(_entry("A.8.32", title="  ")), "field 'title' must be a non-empty"),
        (_raw({**_entry("A.8.2"), "theme": ""}), "field 'theme' must be a non-empty"),
        (_raw({"id": "A.8.2", "title": "x"}), "expected exactly the keys"),
        (_raw(_entry("8.32")), "'8.32' is not a well-formed iso27001-2022"),
        (_raw(_entry("A.9.1")), "'A.9.1' is not a well-formed"),
        (_raw(_entry("CC8.1"), framework="soc2-2017x"), "'soc2-2017x' is unknown"),
        (_raw(framework=ISO), "'controls' must be a non-empty list"),
        (
            _raw(_entry("A.8.1"), {**_entry("A.8.2"), "theme": "People"}),
            "A.8.2 has theme 'People' but A.8.1",
        ),
        ({"framework": ISO, "controls": [_entry("A.8.1")]}, "exactly the keys"),
        (["A.8.1"], "expected a mapping"),
    ],
)
def test_parse_framework_rejects_bad_catalogues(raw: Any, message: str) -> None:
    with pytest.raises(CatalogueError, match=re.escape(message)):
        parse_framework(raw, origin="iso27001-2022.yaml")


def test_unquoted_comma_in_a_flow_title_is_caught(tmp_path: Path) -> None:
    path = tmp_path / "iso27001-2022.yaml"
    path.write_text(
        "framework: iso27001-2022\nname: ISO\ncontrols:\n"
        "  - {id: A.8.15, theme: Technological, title: Logs kept, protected}\n",
        encoding="utf-8",
    )
    with pytest.raises(CatalogueError, match=r"iso27001-2022\.yaml, control #1"):
        read_framework(path)


def test_unreadable_or_invalid_yaml_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(CatalogueError, match="cannot read control catalogue"):
        read_framework(tmp_path / "absent.yaml")
    broken = tmp_path / "soc2-2017.yaml"
    broken.write_text("framework: [soc2-2017\n", encoding="utf-8")
    with pytest.raises(CatalogueError, match=r"soc2-2017\.yaml is not valid YAML"):
        read_framework(broken)


# --- status rules -------------------------------------------------------------------


def _policy(
    policy_id: str, status: PolicyStatus, controls: list[str], **extra: Any
) -> PolicyResult:
    tested = 0 if status is PolicyStatus.NOT_TESTED else 14
    findings = 3 if status is PolicyStatus.FAIL else 0
    return PolicyResult(
        id=policy_id,
        title=f"{policy_id} title",
        description=f"What {policy_id} checks.",
        severity="high",
        controls=controls,
        status=status,
        tested=tested,
        findings=findings,
        **extra,
    )


def _by_ref(
    catalogue: Catalogue, frameworks: list[str], policies: list[PolicyResult]
) -> dict[str, Any]:
    return {
        f"{result.framework}:{result.id}": result
        for result in control_results(catalogue, frameworks, policies)
    }


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        ([], ControlStatus.MANUAL),
        ([PolicyStatus.PASS], ControlStatus.PASS),
        ([PolicyStatus.PASS, PolicyStatus.PASS], ControlStatus.PASS),
        ([PolicyStatus.FAIL], ControlStatus.FAIL),
        ([PolicyStatus.PASS, PolicyStatus.FAIL], ControlStatus.FAIL),
        ([PolicyStatus.ERROR, PolicyStatus.FAIL], ControlStatus.FAIL),
        ([PolicyStatus.NOT_TESTED, PolicyStatus.FAIL], ControlStatus.FAIL),
        ([PolicyStatus.ERROR], ControlStatus.NOT_TESTED),
        ([PolicyStatus.NOT_TESTED], ControlStatus.NOT_TESTED),
        ([PolicyStatus.PASS, PolicyStatus.ERROR], ControlStatus.NOT_TESTED),
        ([PolicyStatus.PASS, PolicyStatus.NOT_TESTED], ControlStatus.NOT_TESTED),
    ],
)
def test_control_status_fails_closed(
    statuses: list[PolicyStatus], expected: ControlStatus
) -> None:
    assert control_status(statuses) is expected


def test_unrecognised_policy_status_is_never_a_pass() -> None:
    assert control_status(["skipped"]) is ControlStatus.NOT_TESTED  # type: ignore[list-item]


def test_control_results_cover_every_control_in_catalogue_order(
    catalogue: Catalogue,
) -> None:
    policies = [_policy("change-approval", PolicyStatus.PASS, ["soc2-2017:CC8.1"])]
    results = control_results(catalogue, [ISO, SOC2], policies)
    refs = [f"{result.framework}:{result.id}" for result in results]
    expected = [
        control.ref
        for framework in catalogue.frameworks.values()
        for control in framework.controls
    ]
    assert refs == expected


def test_unmapped_controls_are_manual_and_mapped_ones_follow_policies(
    catalogue: Catalogue,
) -> None:
    policies = [
        _policy(
            "change-approval",
            PolicyStatus.PASS,
            ["iso27001-2022:A.8.32", "iso27001-2022:A.8.19", "soc2-2017:CC8.1"],
        ),
        _policy(
            "backup-runbook-runs",
            PolicyStatus.NOT_TESTED,
            ["iso27001-2022:A.8.13", "soc2-2017:A1.2"],
            reason="octopus.runbookruns is missing from source octopus-prod",
        ),
    ]
    results = _by_ref(catalogue, [ISO, SOC2], policies)
    change = results["iso27001-2022:A.8.32"]
    assert change.status is ControlStatus.PASS
    assert change.policies == ["change-approval"]
    assert change.title == catalogue.get("iso27001-2022:A.8.32").title
    assert change.theme == "Technological"
    assert results["soc2-2017:A1.2"].status is ControlStatus.NOT_TESTED
    assert results["iso27001-2022:A.5.1"].status is ControlStatus.MANUAL
    assert results["iso27001-2022:A.5.1"].policies == []
    assert (
        sum(r.status is ControlStatus.MANUAL for r in results.values())
        == 61 - 2 + 93 - 3
    )


def test_one_passing_and_one_failing_policy_make_the_control_fail(
    catalogue: Catalogue,
) -> None:
    policies = [
        _policy("change-approval", PolicyStatus.PASS, ["iso27001-2022:A.8.32"]),
        _policy("change-window", PolicyStatus.FAIL, ["iso27001-2022:A.8.32"]),
    ]
    result = _by_ref(catalogue, [ISO], policies)["iso27001-2022:A.8.32"]
    assert result.status is ControlStatus.FAIL
    assert result.policies == ["change-approval", "change-window"]


def test_a_policy_error_makes_its_controls_not_tested(catalogue: Catalogue) -> None:
    policies = [
        _policy("segregation-of-duties", PolicyStatus.PASS, ["iso27001-2022:A.5.3"]),
        _policy(
            "privileged-users",
            PolicyStatus.ERROR,
            ["iso27001-2022:A.8.2", "iso27001-2022:A.5.3", "soc2-2017:CC6.3"],
            reason="findings is undefined in evidencekit.policies.privileged_users",
        ),
    ]
    results = _by_ref(catalogue, [ISO, SOC2], policies)
    assert results["iso27001-2022:A.8.2"].status is ControlStatus.NOT_TESTED
    assert results["iso27001-2022:A.5.3"].status is ControlStatus.NOT_TESTED
    assert results["soc2-2017:CC6.3"].status is ControlStatus.NOT_TESTED


def test_only_frameworks_in_scope_are_reported(catalogue: Catalogue) -> None:
    policies = [
        _policy(
            "change-approval", PolicyStatus.FAIL, [f"{ISO}:A.8.32", f"{SOC2}:CC8.1"]
        )
    ]
    results = control_results(catalogue, [SOC2], policies)
    assert {result.framework for result in results} == {SOC2}
    assert len(results) == 61
    assert [r.id for r in results if r.status is ControlStatus.FAIL] == ["CC8.1"]


def test_a_framework_listed_twice_is_reported_once(catalogue: Catalogue) -> None:
    assert len(control_results(catalogue, [ISO, ISO], [])) == 93


def test_unknown_framework_in_scope_is_an_error(catalogue: Catalogue) -> None:
    with pytest.raises(KeyError, match="'pci-dss-4' is not in the catalogue"):
        control_results(catalogue, ["pci-dss-4"], [])


def test_control_results_reject_an_unknown_control(catalogue: Catalogue) -> None:
    policies = [_policy("change-approval", PolicyStatus.FAIL, [f"{ISO}:A.12.1.2"])]
    with pytest.raises(PolicyError, match="'change-approval'"):
        control_results(catalogue, [ISO], policies)


def test_two_results_for_one_policy_are_rejected(catalogue: Catalogue) -> None:
    policies = [
        _policy("change-approval", PolicyStatus.PASS, [f"{ISO}:A.8.32"]),
        _policy("change-approval", PolicyStatus.FAIL, [f"{ISO}:A.8.32"]),
    ]
    with pytest.raises(PolicyError, match="more than one result"):
        control_results(catalogue, [ISO], policies)


def test_control_results_log_one_summary_line(
    catalogue: Catalogue, caplog: pytest.LogCaptureFixture
) -> None:
    policies = [_policy("change-approval", PolicyStatus.FAIL, [f"{SOC2}:CC8.1"])]
    with caplog.at_level(logging.INFO, logger="evidencekit.controls.mapping"):
        control_results(catalogue, [SOC2], policies)
    assert caplog.messages == [
        "control results frameworks=soc2-2017 controls=61 pass=0 fail=1 "
        "not_tested=0 manual=60"
    ]


# --- mapping checks and coverage ----------------------------------------------------


def test_check_mapping_accepts_known_controls(catalogue: Catalogue) -> None:
    policies = [
        _policy("api-key-expiry", PolicyStatus.PASS, [f"{ISO}:A.5.17", f"{SOC2}:CC6.1"])
    ]
    check_mapping(catalogue, policies)


@pytest.mark.parametrize(
    ("controls", "message"),
    [
        ([f"{ISO}:A.8.32", f"{ISO}:A.8.99"], r"'api-key-expiry' maps to .*A\.8\.99"),
        ([f"{SOC2}:CC10.1"], r"'api-key-expiry' maps to 'soc2-2017:CC10\.1'"),
        (["pci-dss-4:8.3.9"], r"'api-key-expiry'.*known: iso27001-2022"),
        (["A.5.17"], r"'api-key-expiry'.*malformed"),
        ([], r"'api-key-expiry' maps to no control"),
    ],
)
def test_check_mapping_rejects_bad_mappings(
    catalogue: Catalogue, controls: list[str], message: str
) -> None:
    policies = [_policy("api-key-expiry", PolicyStatus.PASS, controls)]
    with pytest.raises(PolicyError, match=message):
        check_mapping(catalogue, policies)


def test_check_mapping_rejects_a_single_string(catalogue: Catalogue) -> None:
    policy = _policy("api-key-expiry", PolicyStatus.PASS, [])
    odd = replace(policy, controls=f"{ISO}:A.5.17")
    with pytest.raises(PolicyError, match="must be a list of refs"):
        check_mapping(catalogue, [odd])


def test_coverage_lists_every_control_with_its_policies(catalogue: Catalogue) -> None:
    policies = [
        _policy(
            "change-approval", PolicyStatus.PASS, [f"{ISO}:A.8.32", f"{SOC2}:CC8.1"]
        ),
        _policy("change-window", PolicyStatus.PASS, [f"{ISO}:A.8.32", f"{ISO}:A.8.32"]),
    ]
    mapped = coverage(catalogue, policies)
    assert len(mapped) == 93 + 61
    assert next(iter(mapped)) == "iso27001-2022:A.5.1"
    assert mapped["iso27001-2022:A.8.32"] == ["change-approval", "change-window"]
    assert mapped["soc2-2017:CC8.1"] == ["change-approval"]
    assert mapped["soc2-2017:P8.1"] == []


def test_coverage_rejects_an_unknown_control(catalogue: Catalogue) -> None:
    policies = [_policy("change-approval", PolicyStatus.PASS, [f"{SOC2}:CC8.2"])]
    with pytest.raises(PolicyError, match=r"CC8\.2"):
        coverage(catalogue, policies)


# --- the shipped policies -----------------------------------------------------------


def _metadata(path: Path) -> dict[str, Any]:
    """Parse the ``# METADATA`` comment block that precedes ``package``."""
    lines = path.read_text(encoding="utf-8").splitlines()
    start = next(
        (n for n, line in enumerate(lines) if line.strip() == "# METADATA"), None
    )
    assert start is not None, f"{path.name} has no # METADATA block"
    block = []
    for line in lines[start + 1 :]:
        if not line.startswith("#"):
            assert line.startswith("package "), (
                f"{path.name}: METADATA not before package"
            )
            break
        block.append(line[2:] if line.startswith("# ") else line[1:])
    parsed = yaml.safe_load("\n".join(block))
    assert isinstance(parsed, dict), f"{path.name}: METADATA is not a mapping"
    return parsed


def test_every_shipped_policy_maps_to_known_controls(catalogue: Catalogue) -> None:
    paths = sorted(
        path for path in POLICY_DIR.glob("*.rego") if not path.stem.endswith("_test")
    )
    assert paths, (
        f"no policies found in {POLICY_DIR}; the shipped policies are required"
    )
    for path in paths:
        custom = _metadata(path).get("custom") or {}
        controls = custom.get("controls")
        assert isinstance(controls, list), f"{path.name}: custom.controls is not a list"
        assert controls, f"{path.name} maps to no control"
        for ref in controls:
            assert ref in catalogue, (
                f"{path.name} maps to {ref!r}, not in the catalogue"
            )
