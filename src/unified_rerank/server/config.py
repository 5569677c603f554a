"""The server's config file: loading (JSON, or YAML with PyYAML) and validation.

Every field is documented in ``docs/server.md``. A bad config raises :class:`ConfigError`,
whose one-line message names the field (``virtual_keys.prod.api_key_env: ...``), so
``unified-rerank serve`` refuses to start with that line and nothing else. Keys read from the
file or the environment are held as ``SecretStr`` from here on.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

__all__ = ["CacheSettings", "ConfigError", "ServerConfig", "VirtualKey", "load_config"]

#: Request bodies larger than this are refused with 413 unless the config says otherwise.
DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024
#: The environment variable naming the config file (used by ``--workers`` and other ASGI servers).
CONFIG_ENV = "UNIFIED_RERANK_SERVER_CONFIG"


class ConfigError(ValueError):
    """An invalid server config; the message is one line naming the field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class VirtualKey(BaseModel):
    """``virtual_keys.NAME``: a provider, its key and options, kept on the server."""

    # Any other field is a client or provider option (``region``, ``timeout``, ...), checked
    # when the client is built at start-up.
    model_config = ConfigDict(extra="allow", frozen=True)

    provider: str
    api_key: SecretStr | None = None
    api_key_env: str | None = None
    base_url: str | None = None

    def options(self) -> dict[str, Any]:
        """The client and provider options beyond provider, key and base URL."""
        return dict(self.__pydantic_extra__ or {})

    def key(self) -> SecretStr | None:
        """The key itself, read from ``api_key_env`` when that is how it is given."""
        if self.api_key_env is None:
            return self.api_key
        return SecretStr(os.environ[self.api_key_env])


class CacheSettings(_Strict):
    """``cache``: where answers are stored, and whether every request is cached."""

    enabled: bool = False
    store: Literal["memory", "redis"] = "memory"
    url: str | None = None
    url_env: str | None = None
    ttl: float | None = Field(default=3600.0, gt=0)
    maxsize: int = Field(default=4096, ge=1)
    prefix: str = "unified-rerank-server:"

    def redis_url(self) -> str:
        if self.url_env is not None:
            return os.environ[self.url_env]
        return self.url or "redis://127.0.0.1:6379/0"


class _File(_Strict):
    virtual_keys: dict[str, VirtualKey] = Field(default_factory=dict)
    configs: dict[str, dict[str, Any]] = Field(default_factory=dict)
    server_keys: list[SecretStr] | None = None
    server_keys_env: str | None = None
    allow_custom_host: bool = False
    cache: CacheSettings = Field(default_factory=CacheSettings)
    max_body_bytes: int = Field(default=DEFAULT_MAX_BODY_BYTES, ge=1)
    timeout: float = Field(default=60.0, gt=0)
    max_retries: int = Field(default=2, ge=0)
    max_metadata_bytes: int = Field(default=2048, ge=0)

    @field_validator("server_keys")
    @classmethod
    def _keys_not_empty(cls, keys: list[SecretStr] | None) -> list[SecretStr] | None:
        if keys is not None and any(not k.get_secret_value() for k in keys):
            raise ValueError("keys must be non-empty strings")
        return keys


@dataclass(frozen=True)
class ServerConfig:
    """A validated config, with every variable it names already read."""

    virtual_keys: dict[str, VirtualKey] = field(default_factory=dict)
    configs: dict[str, dict[str, Any]] = field(default_factory=dict)
    server_keys: tuple[bytes, ...] = ()
    allow_custom_host: bool = False
    cache: CacheSettings = field(default_factory=CacheSettings)
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    timeout: float = 60.0
    max_retries: int = 2
    max_metadata_bytes: int = 2048

    def __repr__(self) -> str:  # never the keys
        return (
            f"ServerConfig(virtual_keys={sorted(self.virtual_keys)}, "
            f"configs={sorted(self.configs)}, "
            f"server_keys={len(self.server_keys)}, allow_custom_host={self.allow_custom_host})"
        )

    @classmethod
    def from_mapping(cls, data: Any) -> ServerConfig:
        """Validate a parsed config file; raises :class:`ConfigError` naming the field."""
        if not isinstance(data, Mapping):
            raise ConfigError("the config must be a JSON/YAML object at the top level")
        try:
            parsed = _File.model_validate(data)
        except ValidationError as exc:
            raise ConfigError(_first_error(exc)) from None
        for name, vk in parsed.virtual_keys.items():
            if vk.api_key is not None and vk.api_key_env is not None:
                raise ConfigError(f"virtual_keys.{name}: give api_key or api_key_env, not both")
            _need_env(vk.api_key_env, f"virtual_keys.{name}.api_key_env")
        _need_env(parsed.server_keys_env, "server_keys_env")
        _need_env(parsed.cache.url_env, "cache.url_env")
        keys = [k.get_secret_value() for k in parsed.server_keys or []]
        if parsed.server_keys_env is not None:
            keys += [k.strip() for k in os.environ[parsed.server_keys_env].split(",") if k.strip()]
        if parsed.server_keys is not None and not keys:
            raise ConfigError("server_keys: list at least one key, or leave the field out")
        return cls(
            virtual_keys=parsed.virtual_keys,
            configs=parsed.configs,
            server_keys=tuple(k.encode() for k in keys),
            allow_custom_host=parsed.allow_custom_host,
            cache=parsed.cache,
            max_body_bytes=parsed.max_body_bytes,
            timeout=parsed.timeout,
            max_retries=parsed.max_retries,
            max_metadata_bytes=parsed.max_metadata_bytes,
        )


def load_config(path: str | None) -> ServerConfig:
    """Read and validate the config file at ``path`` (None: the defaults, no upstream)."""
    if path is None:
        return ServerConfig()
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
    if path.endswith((".yaml", ".yml")):
        try:
            import yaml
        except ImportError:
            raise ConfigError(
                f"{path}: YAML configs need PyYAML (pip install pyyaml), or use JSON"
            ) from None
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" at line {mark.line + 1}" if mark is not None else ""
            raise ConfigError(f"{path}: not valid YAML{where}") from None
    else:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{path}: not valid JSON at line {exc.lineno}: {exc.msg}") from None
    return ServerConfig.from_mapping(data)


def _need_env(name: str | None, where: str) -> None:
    if name is not None and not os.environ.get(name):
        raise ConfigError(f"{where}: the environment variable {name} is not set")


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    path = ".".join(str(p) for p in err["loc"])
    message = err["msg"]
    if err["type"] == "extra_forbidden":
        message = "unknown field"
    elif err["type"] == "missing":
        message = "required field missing"
    more = len(exc.errors()) - 1
    return f"{path or 'config'}: {message}" + (f" (and {more} more)" if more else "")
