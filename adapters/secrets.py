"""Secrets for the adapters: from an environment variable or a secrets file, never shown.

A secrets file holds ``NAME=value`` lines (``#`` starts a comment); it is named in the
agency config and must be readable by its owner only (as ssh insists for its keys). The
environment wins over the file. Error messages name the variable, never its value.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from adapters.errors import ConfigError

__all__ = ["read_secret"]


def read_secret(
    name: str,
    secrets_file: str | os.PathLike[str] | None = None,
    *,
    env: Mapping[str, str] | None = None,
) -> str:
    """The value of secret `name`: the environment variable, else the secrets file's line.

    Raises:
        ConfigError: the secret is in neither place, or the file cannot be read.

    Example:
        >>> read_secret("ALTO_CLIENT_SECRET", env={"ALTO_CLIENT_SECRET": "s3"})
        's3'
    """
    environment = os.environ if env is None else env
    value = environment.get(name)
    if value:
        return value
    if secrets_file is not None:
        found = _from_file(Path(secrets_file)).get(name)
        if found:
            return found
    where = f" or in {secrets_file}" if secrets_file is not None else ""
    raise ConfigError(f"the secret {name} is not set; set the environment variable {name}{where}")


def _from_file(path: Path) -> dict[str, str]:
    try:
        mode = path.stat().st_mode
        if os.name == "posix" and mode & 0o077:
            message = f"the secrets file {path} can be read by others; run: chmod 600 {path}"
            raise ConfigError(message)
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the secrets file {path}: {type(exc).__name__}") from None
    values: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.strip().partition("=")
        if sep and key and not key.startswith("#"):
            values[key.strip()] = value.strip().strip('"').strip("'")
    return values
