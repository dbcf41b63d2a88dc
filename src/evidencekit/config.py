"""Load and validate the YAML configuration of a run."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    field_validator,
    model_validator,
)

from evidencekit.collectors.aws_iam import AwsSource
from evidencekit.collectors.jsm import JsmSource
from evidencekit.collectors.kubernetes_rbac import KubernetesSource
from evidencekit.collectors.octopus_live import OctopusApiSource
from evidencekit.collectors.servicenow_live import ServiceNowApiSource
from evidencekit.errors import ConfigError
from evidencekit.secrets import SecretRef
from evidencekit.timeutil import TimestampError, zone

Framework = Literal["iso27001-2022", "soc2-2017"]
FRAMEWORKS: tuple[Framework, ...] = ("iso27001-2022", "soc2-2017")


class _Strict(BaseModel):
    """A config section: unknown keys and wrong types are errors."""

    model_config = ConfigDict(extra="forbid", strict=False, frozen=True)


class Period(_Strict):
    """The audit period: inclusive dates in a named time zone."""

    start: date
    end: date
    timezone: str = "UTC"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            zone(value)
        except TimestampError as err:
            raise ValueError(str(err)) from err
        return value

    @model_validator(mode="after")
    def _ordered(self) -> Period:
        if self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}")
        return self


class ExportSource(_Strict):
    """A source read from a folder of the system's own export files."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    type: Literal["octopus", "servicenow"]
    path: Path


def _source_tag(value: Any) -> str:
    """Pick the source model: Octopus and ServiceNow are live when they name a url."""
    if isinstance(value, dict):
        kind, live = value.get("type"), "url" in value
    else:
        kind, live = getattr(value, "type", None), hasattr(value, "url")
    if kind in ("octopus", "servicenow"):
        return f"{kind}-{'api' if live else 'export'}"
    return str(kind)


SourceConfig = Annotated[
    Annotated[ExportSource, Tag("octopus-export")]
    | Annotated[ExportSource, Tag("servicenow-export")]
    | Annotated[OctopusApiSource, Tag("octopus-api")]
    | Annotated[ServiceNowApiSource, Tag("servicenow-api")]
    | Annotated[KubernetesSource, Tag("kubernetes")]
    | Annotated[JsmSource, Tag("jsm")]
    | Annotated[AwsSource, Tag("aws")],
    Discriminator(
        _source_tag,
        custom_error_type="source_type",
        custom_error_message=(
            "a source needs a type (octopus, servicenow, jsm, aws, kubernetes) and "
            "either path (an export folder) or the settings of its live API"
        ),
    ),
]
LIVE_SOURCES = (OctopusApiSource, ServiceNowApiSource)
_SOURCE_TAGS = {
    "octopus-export",
    "servicenow-export",
    "octopus-api",
    "servicenow-api",
    "kubernetes",
    "jsm",
    "aws",
}


class PolicySettings(_Strict):
    """Parameters the policies read."""

    privileged_allowlist: list[str] = Field(default_factory=list)
    api_key_max_days: int = Field(default=365, ge=1, le=36500, strict=True)
    inactivity_days: int = Field(default=90, ge=1, le=3650, strict=True)
    backup_runbooks: list[str] = Field(default_factory=list)
    emergency_review_days: int = Field(default=5, ge=0, le=365, strict=True)
    account_rotation_days: int = Field(default=90, ge=1, le=3650, strict=True)
    aws_key_rotation_days: int = Field(default=90, ge=1, le=3650, strict=True)
    unused_target_days: int = Field(default=30, ge=1, le=3650, strict=True)
    max_deployment_steps: int = Field(default=20, ge=1, le=1000, strict=True)
    kubernetes_ignored_subjects: list[str] = Field(default_factory=list)
    aws_admin_allowlist: list[str] = Field(default_factory=list)  # keys or ARNs
    jsm_allowed_statuses: list[str] = Field(
        default_factory=lambda: ["Implementing", "Review", "Completed", "Closed"],
        min_length=1,
    )


class IdentityMapping(_Strict):
    """Accounts that belong to one person but do not share an e-mail address."""

    person: str = Field(min_length=3)  # the person's e-mail address
    accounts: list[str] = Field(min_length=1)  # "<system>:<account>" strings


class RegorusEngineConfig(_Strict):
    """Evaluate in-process with regorus (the default)."""

    type: Literal["regorus"] = "regorus"


class OpaEngineConfig(_Strict):
    """Evaluate on a running OPA server."""

    type: Literal["opa"]
    url: str
    token: SecretRef | None = None

    @field_validator("url")
    @classmethod
    def _no_credentials(cls, value: str) -> str:
        if urlsplit(value).password is not None or "@" in urlsplit(value).netloc:
            raise ValueError(
                "the OPA url must not hold credentials; give the token as "
                "token: {env: NAME}"
            )
        return value


class Config(_Strict):
    """A whole run configuration."""

    organisation: str = Field(min_length=1, max_length=200)
    period: Period
    frameworks: list[Framework] = Field(
        default_factory=lambda: list(FRAMEWORKS), min_length=1
    )
    production_environments: list[str] = Field(min_length=1)
    sources: list[SourceConfig] = Field(min_length=1)
    policies: PolicySettings = Field(default_factory=PolicySettings)
    engine: RegorusEngineConfig | OpaEngineConfig = Field(
        default_factory=RegorusEngineConfig, discriminator="type"
    )
    identities: list[IdentityMapping] = Field(default_factory=list)
    store: Path = Path(".evidencekit")
    policy_dir: Path | None = None

    @model_validator(mode="after")
    def _unique_source_names(self) -> Config:
        names = [source.name for source in self.sources]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"source names must be unique: {', '.join(duplicates)}")
        return self


def load_config(path: Path) -> Config:
    """Read, validate and resolve a config file; relative paths follow the file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise ConfigError(f"cannot read config {path}: {err.strerror}") from err
    except UnicodeDecodeError as err:
        raise ConfigError(f"config {path} is not UTF-8 text: {err.reason}") from err
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise ConfigError(f"config {path} is not valid YAML: {err}") from err
    except ValueError as err:  # PyYAML builds dates itself: 2026-13-01 raises here
        raise ConfigError(f"config {path} has an impossible value: {err}") from err
    if not isinstance(raw, dict):
        raise ConfigError(f"config {path} must be a mapping of settings")
    config = parse_config(raw, origin=str(path))
    return _resolve_paths(config, path.parent)


def parse_config(raw: dict[str, Any], *, origin: str = "config") -> Config:
    """Validate a config mapping, turning pydantic errors into one readable message."""
    try:
        return Config.model_validate(raw)
    except ValidationError as err:
        # `from None`: pydantic's own error quotes the input values, which may hold
        # a secret (a password in a URL), and -v prints the chained traceback.
        raise ConfigError(f"{origin} is invalid:\n{_describe(err)}") from None


def _describe(err: ValidationError) -> str:
    lines = []
    for problem in err.errors():
        parts = [str(part) for part in problem["loc"] if part not in _SOURCE_TAGS]
        key = ".".join(parts) or "(top level)"
        if problem["type"] == "extra_forbidden":
            lines.append(f"  {key}: unknown key")
        else:
            lines.append(f"  {key}: {problem['msg']}")
    return "\n".join(lines)


def _resolve_paths(config: Config, base: Path) -> Config:
    def absolute(value: Path) -> Path:
        value = value.expanduser()
        return value if value.is_absolute() else (base / value).resolve()

    def resolved(source: Any) -> Any:
        paths = {
            key: absolute(getattr(source, key))
            for key in ("path", "kubeconfig")
            if getattr(source, key, None) is not None
        }
        return source.model_copy(update=paths) if paths else source

    sources = [resolved(source) for source in config.sources]
    update: dict[str, Any] = {"sources": sources, "store": absolute(config.store)}
    if config.policy_dir is not None:
        update["policy_dir"] = absolute(config.policy_dir)
    return config.model_copy(update=update)
