"""Map policy verdicts onto framework controls, failing closed.

A control's status comes only from the policies mapped to it. A control that no policy
covers is ``manual``: the tool has no evidence for it either way. An error or an
untested policy can only make a control ``not_tested``, never ``pass``.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Protocol

from evidencekit.controls.catalogue import Catalogue, Control
from evidencekit.errors import PolicyError
from evidencekit.results import ControlResult, ControlStatus, PolicyResult, PolicyStatus

logger = logging.getLogger(__name__)


class MappedPolicy(Protocol):
    """Anything with a policy id and the control refs it maps to."""

    @property
    def id(self) -> str:
        """The policy id, e.g. ``change-approval``."""
        ...

    @property
    def controls(self) -> Sequence[str]:
        """Control refs such as ``iso27001-2022:A.8.32``."""
        ...


def check_mapping(catalogue: Catalogue, policies: Iterable[MappedPolicy]) -> None:
    """Raise PolicyError if a policy maps to no control or to an unknown one."""
    for policy in policies:
        if isinstance(policy.controls, str):
            raise PolicyError(
                f"policy {policy.id!r}: controls must be a list of refs, "
                f"got the single string {policy.controls!r}"
            )
        if not policy.controls:
            raise PolicyError(
                f"policy {policy.id!r} maps to no control; list at least one ref "
                "such as 'iso27001-2022:A.8.32' under custom.controls"
            )
        for ref in policy.controls:
            _check_ref(catalogue, policy.id, ref)


def coverage(
    catalogue: Catalogue, policies: Sequence[MappedPolicy]
) -> dict[str, list[str]]:
    """Return the ids of the policies mapped to each catalogue control, in order.

    Controls no policy covers are listed with an empty list. The mapping is checked
    first, so a ref to an unknown control raises instead of being dropped.
    """
    check_mapping(catalogue, policies)
    mapped = _policies_by_ref(policies)
    return {
        control.ref: mapped.get(control.ref, [])
        for framework in catalogue.frameworks.values()
        for control in framework.controls
    }


def control_results(
    catalogue: Catalogue, frameworks: list[str], policies: list[PolicyResult]
) -> list[ControlResult]:
    """Derive the status of every control in scope, in catalogue order."""
    check_mapping(catalogue, policies)
    statuses = _statuses_by_id(policies)
    mapped = _policies_by_ref(policies)
    results = []
    for framework_id in dict.fromkeys(frameworks):
        for control in catalogue.framework(framework_id).controls:
            policy_ids = mapped.get(control.ref, [])
            status = control_status([statuses[policy_id] for policy_id in policy_ids])
            results.append(_result(control, status, policy_ids))
    _log_summary(frameworks, results)
    return results


def control_status(policy_statuses: Sequence[PolicyStatus]) -> ControlStatus:
    """Combine the verdicts of a control's policies; anything unproven is not a pass."""
    if not policy_statuses:
        return ControlStatus.MANUAL
    if PolicyStatus.FAIL in policy_statuses:
        return ControlStatus.FAIL
    if all(status == PolicyStatus.PASS for status in policy_statuses):
        return ControlStatus.PASS
    # not_tested, error or any status this code does not know.
    return ControlStatus.NOT_TESTED


def _check_ref(catalogue: Catalogue, policy_id: str, ref: str) -> None:
    """Raise PolicyError naming the policy if a ref is malformed or unknown."""
    try:
        catalogue.get(ref)
    except ValueError as err:
        raise PolicyError(f"policy {policy_id!r}: {err}") from err
    except KeyError as err:
        raise PolicyError(
            f"policy {policy_id!r} maps to {ref!r}: {err.args[0]}"
        ) from err


def _statuses_by_id(policies: list[PolicyResult]) -> dict[str, PolicyStatus]:
    """Index policy statuses by id; two results for one id could hide a failure."""
    statuses: dict[str, PolicyStatus] = {}
    for policy in policies:
        if policy.id in statuses:
            raise PolicyError(
                f"policy {policy.id!r} has more than one result; "
                "expected one result per policy"
            )
        statuses[policy.id] = policy.status
    return statuses


def _policies_by_ref(policies: Iterable[MappedPolicy]) -> dict[str, list[str]]:
    """Index policy ids by control ref, each id once, in the policies' order."""
    mapped: dict[str, list[str]] = {}
    for policy in policies:
        for ref in policy.controls:
            policy_ids = mapped.setdefault(ref, [])
            if policy.id not in policy_ids:
                policy_ids.append(policy.id)
    return mapped


def _result(
    control: Control, status: ControlStatus, policies: list[str]
) -> ControlResult:
    """Build the ControlResult of one control."""
    return ControlResult(
        framework=control.framework,
        id=control.id,
        title=control.title,
        theme=control.theme,
        status=status,
        policies=list(policies),
    )


def _log_summary(frameworks: list[str], results: list[ControlResult]) -> None:
    """Log one INFO line with the number of controls in each status."""
    counts = Counter(result.status for result in results)
    logger.info(
        "control results frameworks=%s controls=%d pass=%d fail=%d "
        "not_tested=%d manual=%d",
        ",".join(frameworks),
        len(results),
        counts[ControlStatus.PASS],
        counts[ControlStatus.FAIL],
        counts[ControlStatus.NOT_TESTED],
        counts[ControlStatus.MANUAL],
    )
