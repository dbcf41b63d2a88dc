"""Read Kubernetes RBAC objects from YAML or JSON files and resolve who may do what.

The folder holds what ``kubectl get roles,clusterroles,rolebindings,
clusterrolebindings -A -o yaml`` writes (a ``kind: List``), typed lists as the API
server sends them (``kind: RoleList`` whose items carry no ``kind``), several
documents separated by ``---``, or single objects, in ``.yaml``, ``.yml`` or
``.json`` files anywhere under the folder. Besides the four kinds, the collector
derives ``grants``: the effective permissions of every bound subject, resolved the
way the API server's RBAC authoriser reads them (docs/data-model.md).

Known shortcomings, each reported rather than hidden where it can be:

- A kind with no object in the export cannot be told apart from a kind that was not
  exported, so it marks that resource MISSING. A cluster that really has no Roles
  needs an empty ``kind: RoleList`` file (the live fetcher always writes one).
- The groups a User belongs to come from the authenticator (OIDC, client
  certificates, cloud IAM), which RBAC objects do not show; grants are kept per
  bound subject, and the implicit groups of service accounts
  (``system:serviceaccounts``, ``system:serviceaccounts:<ns>``,
  ``system:authenticated``) are not folded into each account: those groups get
  their own grant records, flagged broad.
- One cluster per run: sources of one type are merged by id, and two clusters share
  names such as ``cluster-admin``.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from evidencekit.collectors._files import (
    FieldProblem,
    ResourceBuilder,
    check_export_folder,
    preview,
    relative_name,
)
from evidencekit.collectors.base import (
    FileStats,
    Record,
    ResourceData,
    ResourceSpec,
    SourceData,
    register,
)
from evidencekit.errors import CollectionError, EvidenceError
from evidencekit.results import SourceStatus
from evidencekit.timeutil import TimestampError, parse_iso_offset, to_canonical

logger = logging.getLogger(__name__)

RBAC_GROUP = "rbac.authorization.k8s.io"
SUFFIXES: tuple[str, ...] = (".yaml", ".yml", ".json")
# Object kind -> resource name under input.kubernetes.
KINDS: dict[str, str] = {
    "Role": "roles",
    "ClusterRole": "clusterroles",
    "RoleBinding": "rolebindings",
    "ClusterRoleBinding": "clusterrolebindings",
}
LIST_KINDS: dict[str, str] = {f"{kind}List": kind for kind in KINDS}
GRANTS = "grants"
SERVICE_ACCOUNT_PREFIX = "system:serviceaccount:"
# Subjects whose binding reaches far more principals than its name suggests.
BROAD_GROUPS: dict[str, str] = {
    "system:masters": "its members bypass RBAC authorisation entirely",
    "system:authenticated": "every authenticated user and service account",
    "system:unauthenticated": "every anonymous request",
    "system:serviceaccounts": "every service account in the cluster",
}
BROAD_USERS: dict[str, str] = {"system:anonymous": "every anonymous request"}
_SELECTOR_OPERATORS = frozenset({"In", "NotIn", "Exists", "DoesNotExist"})
_SUBJECT_KINDS = frozenset({"User", "Group", "ServiceAccount"})
# kubectl apply keeps a full copy of the object here; the raw file still has it.
_DROPPED_ANNOTATIONS = frozenset({"kubectl.kubernetes.io/last-applied-configuration"})

_RESOURCES = (
    ("roles", "Namespaced Roles and their rules"),
    ("clusterroles", "ClusterRoles, their rules and aggregation selectors"),
    ("rolebindings", "RoleBindings: subjects granted a role in one namespace"),
    ("clusterrolebindings", "ClusterRoleBindings: subjects granted a role everywhere"),
    (GRANTS, "Effective permissions of each bound subject, derived from the above"),
)
_FILES = ("*.yaml", "*.yml", "*.json")
_SPECS = tuple(
    ResourceSpec(name=name, description=description, required=True, files=_FILES)
    for name, description in _RESOURCES
)


class KubernetesSource(BaseModel):
    """A Kubernetes cluster's RBAC objects: an export folder or a live kubeconfig."""

    model_config = ConfigDict(extra="forbid", strict=False, frozen=True)

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    type: Literal["kubernetes"]
    path: Path | None = None
    kubeconfig: Path | None = None
    context: str | None = None
    cluster: str = Field(min_length=1, max_length=200)  # shown in reports

    @model_validator(mode="after")
    def _one_origin(self) -> KubernetesSource:
        if (self.path is None) == (self.kubeconfig is None):
            raise ValueError("give either path (an export folder) or kubeconfig")
        if self.context is not None and self.kubeconfig is None:
            raise ValueError("context is only used with kubeconfig")
        return self


@register
class KubernetesRbacCollector:
    """Read RBAC objects exported from a cluster and derive each subject's grants."""

    type: ClassVar[str] = "kubernetes"
    description: ClassVar[str] = (
        "Kubernetes Roles, ClusterRoles and their bindings from kubectl or API "
        "server YAML/JSON, with the effective permissions of every bound subject"
    )
    resources: ClassVar[tuple[ResourceSpec, ...]] = _SPECS
    permissions: ClassVar[tuple[str, ...]] = (
        "get, list on roles.rbac.authorization.k8s.io (all namespaces)",
        "get, list on clusterroles.rbac.authorization.k8s.io",
        "get, list on rolebindings.rbac.authorization.k8s.io (all namespaces)",
        "get, list on clusterrolebindings.rbac.authorization.k8s.io",
    )

    def evidence_files(self, folder: Path) -> list[Path]:
        """List the YAML and JSON files under the folder, hidden ones skipped."""
        return _list_files(folder, self.type)

    def read(self, folder: Path, source_name: str) -> SourceData:
        """Read every RBAC object under the folder and resolve the grants."""
        started = time.monotonic()
        paths = _list_files(folder, source_name)
        data = SourceData(name=source_name, type=self.type, location=str(folder))
        reader = _FolderReader(folder, source_name)
        for path in paths:
            reader.read_file(path)
        for name, resource in reader.finish().items():
            data.resources[name] = resource
        logger.info(
            "collected source=%s type=%s status=%s records=%d subjects=%d "
            "elapsed=%.2fs",
            data.name,
            data.type,
            data.overall_status().value,
            sum(len(resource.records) for resource in data.resources.values()),
            len(data.resources[GRANTS].records),
            time.monotonic() - started,
        )
        return data


def _list_files(folder: Path, source: str) -> list[Path]:
    check_export_folder(folder, source)
    try:
        return list(_walk(folder))
    except OSError as err:
        raise CollectionError(
            f"cannot list the folder ({err.strerror})", source=source, file=str(folder)
        ) from err


def _walk(folder: Path) -> Iterator[Path]:
    """Yield the evidence files under a folder in path order, skipping hidden ones."""
    for path in sorted(folder.rglob("*")):
        parts = path.relative_to(folder).parts
        if any(part.startswith(".") for part in parts):
            continue
        if path.is_file() and path.suffix in SUFFIXES:
            yield path


# ---------------------------------------------------------------------------- reading


@dataclass
class _Item:
    """One object found in a file, with where it was and the kind it must be."""

    raw: Any
    where: str
    kind: str | None  # from the object, or from its typed list
    api_version: str | None
    marker: bool = False  # stands for a typed list itself, which may be empty


@dataclass
class _FolderReader:
    """Read the files of one folder into the four RBAC resources."""

    folder: Path
    source: str
    builders: dict[str, ResourceBuilder] = field(init=False)
    seen: set[str] = field(default_factory=set)  # kinds met as objects or lists

    def __post_init__(self) -> None:
        self.builders = {
            name: ResourceBuilder(self.source, name) for name in KINDS.values()
        }
        self.builders[GRANTS] = ResourceBuilder(self.source, GRANTS)

    def read_file(self, path: Path) -> None:
        """Read every object of one file into the resource of its kind."""
        relative = relative_name(path, self.folder)
        try:
            documents = _load_documents(path, relative, self.source)
        except EvidenceError as err:
            for name in KINDS.values():
                self.builders[name].open_file(path, relative)
                self.builders[name].bad_file(err)
            return
        stats: dict[str, FileStats] = {}
        other: dict[str, int] = {}
        for item in _items(documents):
            self._read_item(item, path, relative, stats, other)
        if other:
            kinds = ", ".join(
                f"{kind} ({count})" for kind, count in sorted(other.items())
            )
            self.builders[GRANTS].note(f"ignored objects in {relative}: {kinds}")

    def _read_item(
        self,
        item: _Item,
        path: Path,
        relative: str,
        stats: dict[str, FileStats],
        other: dict[str, int],
    ) -> None:
        if item.marker and item.kind is not None:
            self._stats(item.kind, path, relative, stats)  # the kind was listed
            return
        if item.kind is None:
            self.builders[GRANTS].bad_record(
                _problem(self.source, relative, item.where, "the object has no kind")
            )
            return
        if item.kind not in KINDS or not _is_rbac(item.api_version):
            label = f"{item.api_version or '(no apiVersion)'} {item.kind}"
            other[label] = other.get(label, 0) + 1
            return
        builder = self.builders[KINDS[item.kind]]
        file_stats = self._stats(item.kind, path, relative, stats)
        try:
            key, record = _normalise(item, self.source, relative)
        except EvidenceError as err:
            builder.bad_record(err)
            file_stats.records += 1
            return
        builder.add(key, record, file_stats)

    def _stats(
        self, kind: str, path: Path, relative: str, stats: dict[str, FileStats]
    ) -> FileStats:
        self.seen.add(kind)
        if kind not in stats:
            stats[kind] = self.builders[KINDS[kind]].open_file(path, relative)
        return stats[kind]

    def finish(self) -> dict[str, ResourceData]:
        """Grade absent kinds, resolve the grants and return every resource."""
        for kind, name in KINDS.items():
            if kind not in self.seen and not self.builders[name].data.files:
                self.builders[name].missing(
                    f"no {kind} object and no {kind}List in the export; export all "
                    "four kinds (kubectl get roles,clusterroles,rolebindings,"
                    "clusterrolebindings -A -o yaml)"
                )
        resources = {name: self.builders[name].finish() for name in KINDS.values()}
        grants = self.builders[GRANTS]
        for name, resource in resources.items():
            if resource.status is not SourceStatus.COMPLETE:
                grants.gap(
                    f"derived from {name}, which is {resource.status.value}; "
                    "subjects may hold permissions not shown here"
                )
        resolver = GrantResolver(self.source, resources)
        grants.data.records = resolver.resolve()
        for warning in resolver.warnings:
            # A binding to a role that is not in the export means the export is
            # partial (a real cluster always has cluster-admin, say): a gap, not
            # a note, or the subjects' real access would read as none.
            grants.gap(warning)
        resources[GRANTS] = grants.finish()
        return resources


def _load_documents(path: Path, relative: str, source: str) -> list[Any]:
    """Parse a JSON file (one document) or a YAML file (one or more documents)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as err:
        raise EvidenceError(
            f"cannot read the file ({err.strerror})", source=source, file=relative
        ) from err
    except UnicodeDecodeError as err:
        raise EvidenceError(
            f"the file is not UTF-8 text ({err})", source=source, file=relative
        ) from err
    try:
        if path.suffix == ".json":
            return [json.loads(text)]
        return [doc for doc in yaml.safe_load_all(text) if doc is not None]
    except (ValueError, RecursionError, yaml.YAMLError) as err:
        kind = "JSON" if path.suffix == ".json" else "YAML"
        raise EvidenceError(
            f"the file is not valid {kind} ({_short(err)})",
            source=source,
            file=relative,
        ) from err


def _short(err: Exception) -> str:
    return " ".join(str(err).split())[:300]


def _items(documents: list[Any]) -> Iterator[_Item]:
    """Yield each object of the documents, unwrapping ``List`` and typed lists."""
    for number, document in enumerate(documents, start=1):
        where = f"document {number}"
        if not isinstance(document, dict):
            yield _Item(document, where, None, None)
            continue
        kind, version = document.get("kind"), document.get("apiVersion")
        if kind == "List" or kind in LIST_KINDS:
            yield from _list_items(document, where, kind, version)
        else:
            yield _Item(document, where, _text_or_none(kind), _text_or_none(version))


def _list_items(
    document: dict[str, Any], where: str, kind: str, version: Any
) -> Iterator[_Item]:
    typed = LIST_KINDS.get(kind)
    items = document.get("items") or []
    if not isinstance(items, list):
        yield _Item(items, f"{where} items", None, None)
        return
    if typed is not None:
        yield _Item(None, where, typed, _text_or_none(version), marker=True)
    for index, raw in enumerate(items):
        own = raw.get("kind") if isinstance(raw, dict) else None
        own_version = raw.get("apiVersion") if isinstance(raw, dict) else None
        yield _Item(
            raw,
            f"{where} items[{index}]",
            _text_or_none(own) or typed,
            _text_or_none(own_version) or _text_or_none(version),
        )


def _text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _is_rbac(api_version: str | None) -> bool:
    # A typed list or a bare object without apiVersion is taken as RBAC by kind.
    return api_version is None or api_version.startswith(f"{RBAC_GROUP}/")


def _problem(source: str, relative: str, record: str, reason: str) -> EvidenceError:
    return EvidenceError(reason, source=source, file=relative, record=record)


# ---------------------------------------------------------------------- normalising


def _normalise(item: _Item, source: str, relative: str) -> tuple[str, Record]:
    """Check and normalise one RBAC object; return its key and record."""
    raw = item.raw
    if not isinstance(raw, dict):
        raise _problem(
            source, relative, item.where, f"expected an object, got {preview(raw)}"
        )
    kind = item.kind or ""
    namespaced = kind in ("Role", "RoleBinding")
    try:
        metadata = _metadata(raw.get("metadata"), namespaced=namespaced)
    except FieldProblem as err:
        raise EvidenceError(
            err.reason,
            source=source,
            file=relative,
            record=item.where,
            field=err.field_name,
        ) from err
    key = _key(metadata)
    try:
        record = _body(kind, raw)
    except FieldProblem as err:
        raise EvidenceError(
            err.reason, source=source, file=relative, record=key, field=err.field_name
        ) from err
    return key, {
        "apiVersion": item.api_version,
        "kind": kind,
        "metadata": metadata,
        **record,
    }


def _key(metadata: Record) -> str:
    namespace = metadata["namespace"]
    return f"{namespace}/{metadata['name']}" if namespace else str(metadata["name"])


def _metadata(raw: Any, *, namespaced: bool) -> Record:
    if not isinstance(raw, dict):
        raise FieldProblem("metadata", f"expected an object, got {preview(raw)}")
    name = raw.get("name")
    if not isinstance(name, str) or not name:
        raise FieldProblem("metadata.name", f"expected a name, got {preview(name)}")
    namespace = raw.get("namespace")
    if namespaced and (not isinstance(namespace, str) or not namespace):
        raise FieldProblem(
            "metadata.namespace", f"expected a namespace, got {preview(namespace)}"
        )
    annotations = _string_map(raw.get("annotations"), "metadata.annotations")
    return {
        "name": name,
        "namespace": namespace if namespaced else None,
        "uid": _text_or_none(raw.get("uid")),
        "creationTimestamp": _timestamp(raw.get("creationTimestamp")),
        "labels": _string_map(raw.get("labels"), "metadata.labels"),
        "annotations": {
            key: value
            for key, value in annotations.items()
            if key not in _DROPPED_ANNOTATIONS
        },
    }


def _timestamp(value: Any) -> str | None:
    field_name = "metadata.creationTimestamp"
    if value is None or value == "":
        return None
    if isinstance(value, datetime):  # unquoted in hand-written YAML
        if value.tzinfo is None:
            raise FieldProblem(field_name, f"{value.isoformat()} has no UTC offset")
        return to_canonical(value)
    if not isinstance(value, str):
        raise FieldProblem(
            field_name, f"expected an RFC 3339 time, got {preview(value)}"
        )
    try:
        return parse_iso_offset(value)
    except TimestampError as err:
        raise FieldProblem(field_name, str(err)) from err


def _string_map(value: Any, field_name: str) -> dict[str, str]:
    if value is None:
        return {}
    if isinstance(value, dict) and all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        return dict(value)
    raise FieldProblem(
        field_name, f"expected string keys and values, got {preview(value)}"
    )


def _strings(value: Any, field_name: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return list(value)
    raise FieldProblem(field_name, f"expected a list of strings, got {preview(value)}")


def _body(kind: str, raw: dict[str, Any]) -> Record:
    if kind in ("Role", "ClusterRole"):
        body: Record = {"rules": _rules(raw.get("rules"))}
        if kind == "ClusterRole":
            body["aggregationRule"] = _aggregation(raw.get("aggregationRule"))
            body["aggregatedFrom"] = []  # filled in by the resolver
        return body
    return {
        "subjects": _subjects(raw.get("subjects")),
        "roleRef": _role_ref(raw.get("roleRef")),
        "broad": False,  # filled in by the resolver
        "broadSubjects": [],
    }


def _rules(value: Any) -> list[Record]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise FieldProblem("rules", f"expected a list of rules, got {preview(value)}")
    rules = []
    for index, rule in enumerate(value):
        where = f"rules[{index}]"
        if not isinstance(rule, dict):
            raise FieldProblem(where, f"expected an object, got {preview(rule)}")
        rules.append(
            {
                name: _strings(rule.get(name), f"{where}.{name}")
                for name in (
                    "apiGroups",
                    "resources",
                    "verbs",
                    "resourceNames",
                    "nonResourceURLs",
                )
            }
        )
    return rules


def _aggregation(value: Any) -> Record | None:
    if value is None:
        return None
    selectors = value.get("clusterRoleSelectors") if isinstance(value, dict) else None
    if not isinstance(value, dict) or not isinstance(selectors or [], list):
        raise FieldProblem(
            "aggregationRule", f"expected clusterRoleSelectors, got {preview(value)}"
        )
    return {
        "clusterRoleSelectors": [
            _selector(selector, f"aggregationRule.clusterRoleSelectors[{index}]")
            for index, selector in enumerate(selectors or [])
        ]
    }


def _selector(value: Any, where: str) -> Record:
    if not isinstance(value, dict):
        raise FieldProblem(where, f"expected a label selector, got {preview(value)}")
    expressions = value.get("matchExpressions") or []
    if not isinstance(expressions, list):
        raise FieldProblem(f"{where}.matchExpressions", "expected a list")
    return {
        "matchLabels": _string_map(value.get("matchLabels"), f"{where}.matchLabels"),
        "matchExpressions": [
            _expression(expression, f"{where}.matchExpressions[{index}]")
            for index, expression in enumerate(expressions)
        ],
    }


def _expression(value: Any, where: str) -> Record:
    if not isinstance(value, dict) or not isinstance(value.get("key"), str):
        raise FieldProblem(where, f"expected key and operator, got {preview(value)}")
    operator = value.get("operator")
    if operator not in _SELECTOR_OPERATORS:
        raise FieldProblem(
            f"{where}.operator",
            f"expected In, NotIn, Exists or DoesNotExist, got {preview(operator)}",
        )
    return {
        "key": value["key"],
        "operator": operator,
        "values": _strings(value.get("values"), f"{where}.values"),
    }


def _subjects(value: Any) -> list[Record]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise FieldProblem("subjects", f"expected a list, got {preview(value)}")
    return [
        _subject(subject, f"subjects[{index}]") for index, subject in enumerate(value)
    ]


def _subject(value: Any, where: str) -> Record:
    if not isinstance(value, dict):
        raise FieldProblem(where, f"expected an object, got {preview(value)}")
    kind, name = value.get("kind"), value.get("name")
    if kind not in _SUBJECT_KINDS:
        raise FieldProblem(
            f"{where}.kind",
            f"expected User, Group or ServiceAccount, got {preview(kind)}",
        )
    if not isinstance(name, str) or not name:
        raise FieldProblem(f"{where}.name", f"expected a name, got {preview(name)}")
    namespace = value.get("namespace")
    if kind == "ServiceAccount" and (not isinstance(namespace, str) or not namespace):
        raise FieldProblem(
            f"{where}.namespace",
            f"a ServiceAccount subject needs a namespace, got {preview(namespace)}",
        )
    return {
        "kind": kind,
        "name": name,
        "namespace": namespace if kind == "ServiceAccount" else None,
        "apiGroup": _text_or_none(value.get("apiGroup")),
    }


def _role_ref(value: Any) -> Record:
    if not isinstance(value, dict):
        raise FieldProblem("roleRef", f"expected an object, got {preview(value)}")
    kind, name = value.get("kind"), value.get("name")
    if kind not in ("Role", "ClusterRole"):
        raise FieldProblem(
            "roleRef.kind", f"expected Role or ClusterRole, got {preview(kind)}"
        )
    if not isinstance(name, str) or not name:
        raise FieldProblem("roleRef.name", f"expected a name, got {preview(name)}")
    return {
        "apiGroup": _text_or_none(value.get("apiGroup")),
        "kind": kind,
        "name": name,
    }


# ------------------------------------------------------------------------ resolving


@dataclass(frozen=True)
class _Rule:
    """A rule with the ClusterRole it was aggregated from (None: the role's own)."""

    rule: Record
    origin: str | None  # _ref of the component ClusterRole


class GrantResolver:
    """Resolve bindings into each subject's effective permissions."""

    def __init__(self, source: str, resources: dict[str, ResourceData]) -> None:
        self.source = source
        self.roles = resources["roles"].records
        self.cluster_roles = resources["clusterroles"].records
        self.role_bindings = resources["rolebindings"].records
        self.cluster_role_bindings = resources["clusterrolebindings"].records
        self.warnings: list[str] = []
        self._effective: dict[str, list[_Rule]] = {}
        self._grants: dict[str, Record] = {}

    def resolve(self) -> dict[str, Record]:
        """Return the grant records, keyed by subject."""
        self._aggregate()
        for key in sorted(self.role_bindings):
            self._bind(self.role_bindings[key], "RoleBinding")
        for key in sorted(self.cluster_role_bindings):
            self._bind(self.cluster_role_bindings[key], "ClusterRoleBinding")
        for grant in self._grants.values():
            grant["permissions"].sort(key=_permission_order)
            grant["bindings"] = sorted(set(grant["bindings"]))
        return dict(sorted(self._grants.items()))

    # aggregation -------------------------------------------------------------------

    def _aggregate(self) -> None:
        """Compute each ClusterRole's rules: its stored rules plus those it selects.

        The authoriser reads the stored rules; the aggregation controller rewrites
        an aggregated role's rules to the union of the selected roles' rules, and
        repeats until nothing changes (an aggregated role may select another).
        Both are kept, so an export whose controller had not caught up, or a
        hand-written aggregated role with empty rules, still shows every
        permission that is, or will be, granted.
        """
        selected = {
            name: self._selected(name, role["aggregationRule"])
            for name, role in self.cluster_roles.items()
        }
        effective = {
            name: [_Rule(rule, None) for rule in role["rules"]]
            for name, role in self.cluster_roles.items()
        }
        for _ in range(len(effective) + 1):
            changed = False
            for name in sorted(effective):
                gathered = _unique_rules(
                    [*effective[name], *self._inherited(selected[name], effective)]
                )
                if len(gathered) != len(effective[name]):
                    effective[name], changed = gathered, True
            if not changed:
                break
        for name, role in self.cluster_roles.items():
            role["aggregatedFrom"] = selected[name]
        self._effective = effective

    def _inherited(
        self, components: list[str], effective: dict[str, list[_Rule]]
    ) -> list[_Rule]:
        origin = {name: self.cluster_roles[name]["_ref"] for name in components}
        return [
            _Rule(item.rule, item.origin or origin[name])
            for name in components
            for item in effective[name]
        ]

    def _selected(self, name: str, aggregation: Record | None) -> list[str]:
        if aggregation is None:
            return []
        selectors = aggregation["clusterRoleSelectors"]
        return [
            other
            for other in sorted(self.cluster_roles)
            if other != name
            and any(
                selector_matches(
                    selector, self.cluster_roles[other]["metadata"]["labels"]
                )
                for selector in selectors
            )
        ]

    # binding -------------------------------------------------------------------------

    def _bind(self, binding: Record, binding_kind: str) -> None:
        namespace = binding["metadata"]["namespace"]
        scope = namespace if binding_kind == "RoleBinding" else "cluster"
        role, role_problem = self._role_of(binding, binding_kind)
        broad = []
        for subject in binding["subjects"]:
            grant = self._grant_for(subject)
            grant["bindings"].append(binding["_ref"])
            if grant["broad"]:
                broad.append(f"{subject['kind']} {subject['name']}")
            if role is None:
                grant["unresolved"].append(
                    {
                        "binding": binding["_ref"],
                        "roleRef": binding["roleRef"],
                        "reason": role_problem,
                    }
                )
                continue
            grant["permissions"].extend(
                self._permissions(binding, binding_kind, role, scope)
            )
        binding["broad"] = bool(broad)
        binding["broadSubjects"] = broad

    def _role_of(self, binding: Record, binding_kind: str) -> tuple[Record | None, str]:
        ref = binding["roleRef"]
        label = f"{binding_kind} {_key(binding['metadata'])}"
        if ref["kind"] == "ClusterRole":
            role = self.cluster_roles.get(ref["name"])
        elif binding_kind == "RoleBinding":
            role = self.roles.get(f"{binding['metadata']['namespace']}/{ref['name']}")
        else:
            reason = "a ClusterRoleBinding cannot refer to a Role"
            self.warnings.append(f"{label}: {reason}; its subjects get nothing from it")
            return None, reason
        if role is not None:
            return role, ""
        where = (
            ""
            if ref["kind"] == "ClusterRole"
            else f" in namespace {binding['metadata']['namespace']}"
        )
        reason = f"{ref['kind']} {ref['name']}{where} is not in the evidence"
        self.warnings.append(f"{label}: {reason}; its subjects get nothing from it")
        return None, reason

    def _permissions(
        self, binding: Record, binding_kind: str, role: Record, scope: str
    ) -> list[Record]:
        if role["kind"] == "ClusterRole":
            rules = self._effective[role["metadata"]["name"]]
        else:
            rules = [_Rule(rule, None) for rule in role["rules"]]
        via = {
            "binding": binding["_ref"],
            "binding_kind": binding_kind,
            "binding_name": _key(binding["metadata"]),
            "role": role["_ref"],
            "role_kind": role["kind"],
            "role_name": _key(role["metadata"]),
        }
        return [
            permission
            for rule in rules
            for permission in expand_rule(
                rule.rule, scope, {**via, "aggregated_from": rule.origin}
            )
        ]

    def _grant_for(self, subject: Record) -> Record:
        kind, name, namespace = _principal(subject)
        key = (
            f"{kind}:{namespace}/{name}"
            if kind == "ServiceAccount"
            else f"{kind}:{name}"
        )
        grant = self._grants.get(key)
        if grant is None:
            reason = _broad_reason(kind, name)
            grant = {
                "kind": kind,
                "name": name,
                "namespace": namespace,
                "username": _username(kind, name, namespace),
                "broad": reason is not None,
                "broad_reason": reason,
                "bindings": [],
                "permissions": [],
                "unresolved": [],
                "_ref": f"{self.source}/{GRANTS}/{key}",
                "_file": None,  # derived from several files; see via in each entry
            }
            self._grants[key] = grant
        return grant


def _principal(subject: Record) -> tuple[str, str, str | None]:
    """Return the subject as the authoriser sees it: (kind, name, namespace).

    A User named ``system:serviceaccount:<ns>:<name>`` is that service account.
    """
    kind, name = subject["kind"], subject["name"]
    if kind == "User" and name.startswith(SERVICE_ACCOUNT_PREFIX):
        namespace, _, account = name.removeprefix(SERVICE_ACCOUNT_PREFIX).partition(":")
        if namespace and account and ":" not in account:
            return "ServiceAccount", account, namespace
    return kind, name, subject["namespace"]


def _username(kind: str, name: str, namespace: str | None) -> str | None:
    if kind == "ServiceAccount":
        return f"{SERVICE_ACCOUNT_PREFIX}{namespace}:{name}"
    return name if kind == "User" else None


def _broad_reason(kind: str, name: str) -> str | None:
    if kind == "Group":
        if name in BROAD_GROUPS:
            return BROAD_GROUPS[name]
        if name.startswith("system:serviceaccounts:"):
            namespace = name.removeprefix("system:serviceaccounts:")
            return f"every service account in namespace {namespace}"
    if kind == "User":
        return BROAD_USERS.get(name)
    return None


def selector_matches(selector: Record, labels: dict[str, str]) -> bool:
    """Apply one label selector; an empty selector matches every object."""
    for key, value in selector["matchLabels"].items():
        if labels.get(key) != value:
            return False
    for expression in selector["matchExpressions"]:
        key, values = expression["key"], expression["values"]
        present = key in labels
        if expression["operator"] == "In" and not (present and labels[key] in values):
            return False
        if expression["operator"] == "NotIn" and present and labels[key] in values:
            return False
        if expression["operator"] == "Exists" and not present:
            return False
        if expression["operator"] == "DoesNotExist" and present:
            return False
    return True


def expand_rule(rule: Record, scope: str, via: Record) -> list[Record]:
    """Turn one rule into a permission entry per (apiGroup, resource) or URL.

    ``pods/exec`` becomes resource ``pods`` with subresource ``exec``; ``*`` and
    ``*/exec`` keep ``*`` as the resource. Non-resource URLs are granted only
    through a ClusterRoleBinding, as the API server does; a rule with no verbs or
    no API groups grants nothing.
    """
    common = {
        "scope": scope,
        "verbs": sorted(rule["verbs"]),
        "resourceNames": sorted(rule["resourceNames"]),
    }
    if not common["verbs"]:
        return []
    entries = []
    for group in rule["apiGroups"]:
        for combined in rule["resources"]:
            resource, slash, subresource = combined.partition("/")
            entries.append(
                _entry(common, group, resource, subresource if slash else None, via)
            )
    if scope == "cluster":
        for url in rule["nonResourceURLs"]:
            entry = _entry({**common, "resourceNames": []}, None, None, None, via)
            entries.append({**entry, "nonResourceURL": url})
    return entries


def _entry(
    common: Record,
    group: str | None,
    resource: str | None,
    subresource: str | None,
    via: Record,
) -> Record:
    return {
        "scope": common["scope"],
        "apiGroup": group,
        "resource": resource,
        "subresource": subresource,
        "nonResourceURL": None,
        "verbs": common["verbs"],
        "resourceNames": common["resourceNames"],
        "via": via,
    }


def _unique_rules(rules: list[_Rule]) -> list[_Rule]:
    """Drop repeated rules, keeping the first (the role's own before inherited)."""
    seen: set[str] = set()
    unique = []
    for item in rules:
        text = json.dumps(item.rule, sort_keys=True)
        if text not in seen:
            seen.add(text)
            unique.append(item)
    return unique


def _permission_order(entry: Record) -> tuple[str, ...]:
    via = entry["via"]
    return (
        entry["scope"],
        via["binding"],
        entry["apiGroup"] or "",
        entry["resource"] or "",
        entry["subresource"] or "",
        entry["nonResourceURL"] or "",
        ",".join(entry["verbs"]),
        ",".join(entry["resourceNames"]),
        via["aggregated_from"] or "",
    )
