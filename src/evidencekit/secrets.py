"""Secrets in configuration: named environment variables, never values."""

from __future__ import annotations

import os

from pydantic import BaseModel, ConfigDict, Field

from evidencekit.errors import ConfigError


class SecretRef(BaseModel):
    """A secret that is read from an environment variable at run time."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    env: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")

    def resolve(self) -> str:
        """Read the secret; raise if the variable is not set."""
        value = os.environ.get(self.env)
        if not value:
            raise ConfigError(f"environment variable {self.env} is not set")
        if value != value.strip() or not value.isprintable():
            # Never echo the value: an HTTP library would quote it in its error.
            raise ConfigError(
                f"environment variable {self.env} holds spaces, a line break or "
                "another control character around or inside the secret; remove them"
            )
        return value
