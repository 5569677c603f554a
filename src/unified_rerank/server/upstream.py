"""Which reranker serves a request: headers and config -> a ``Reranker`` of the core.

In order of precedence, as Portkey's gateway reads them:

1. ``x-portkey-config``: a Portkey config as JSON, or the id of one in the server's ``configs``
   (``strategy`` fallback / loadbalance, ``targets``, ``retry``, ``cache``,
   ``override_params``): a :class:`~unified_rerank.routing.Router`.
2. ``x-portkey-virtual-key: NAME``: the server's ``virtual_keys[NAME]`` (provider, key, options).
3. ``x-portkey-provider`` with ``Authorization: Bearer <provider key>``.
4. No routing header: the ``"provider/model"`` prefix of ``model``, with the bearer key.

A caller-chosen upstream (3, 4, or a config sent in the header) never uses a key the server
holds unless through a virtual key, and a virtual key's requests never go to a caller-chosen
host: otherwise a caller could send the server's keys anywhere. ``x-portkey-custom-host`` (and
``custom_host``/``base_url`` in a sent config) is refused unless ``allow_custom_host``.

Built rerankers are kept (virtual keys and config ids for the server's life, header-built ones
in a bounded LRU keyed by a hash), so each request reuses the core's connection pools.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any

from pydantic import SecretStr

from ..cache import CachedReranker, CacheStore
from ..client import RerankClient
from ..errors import InvalidRequestError
from ..observability import HooksArg
from ..providers import get_provider, known_slugs, split_model
from ..routing import Router
from ..schema import Reranker, RerankRequest
from .config import ConfigError, ServerConfig, VirtualKey
from .errors import HttpError
from .pool import Pool

__all__ = ["REQUEST_FIELDS", "Upstreams"]

logger = logging.getLogger("unified_rerank.server")

#: The fields of ``CreateRerankRequest``.
REQUEST_FIELDS = frozenset(RerankRequest.model_fields)

#: Keys a config sent by a caller may hold: on a target that names an upstream ...
_LEAF_KEYS = frozenset(
    {"provider", "api_key", "virtual_key", "custom_host", "base_url", "override_params"}
    | {"weight", "retry", "request_timeout", "name"}
)
#: ... on a target (or the whole config) holding nested targets ...
_NESTED_KEYS = frozenset({"strategy", "targets", "retry", "override_params", "weight", "name"})
#: ... and at the top only.
_TOP_KEYS = frozenset({"cache"})

_DYNAMIC_MAX = 256
#: Seconds an evicted reranker stays open for calls still using it.
_CLOSE_GRACE = 60.0


class Upstreams:
    """Chooses and keeps the rerankers requests go to.

    Args:
        config: the server's validated config.
        store: the cache store (used when the server's or a request's config turns it on).
        hooks: passed to every client built (retry counting and metrics).
    """

    def __init__(self, config: ServerConfig, store: CacheStore, hooks: HooksArg) -> None:
        self.config = config
        self.store = store
        self._hooks = hooks
        self.pool = Pool()
        self._dynamic: OrderedDict[str, Reranker] = OrderedDict()
        self._closing: set[asyncio.Task[None]] = set()
        # Built now: a bad virtual key or config refuses to start, naming the field.
        self._virtual = {
            name: self._cached(self._client_for(name, vk), f"vk:{name}", None)
            for name, vk in config.virtual_keys.items()
        }
        self._named: dict[str, Reranker] = {}
        for cid, cfg in config.configs.items():
            try:
                self._named[cid] = self._from_config(cfg, f"configs.{cid}", trusted=True)
            except HttpError as exc:
                raise ConfigError(exc.message) from None

    def _client_for(self, name: str, vk: VirtualKey) -> RerankClient:
        options: dict[str, Any] = {
            "timeout": self.config.timeout,
            "max_retries": self.config.max_retries,
        }
        options.update(vk.options())
        try:
            timeout = options["timeout"]
            if timeout is not None:
                timeout = _number(timeout, "timeout")
            options["async_http_client"] = self.pool.client(timeout)
            return RerankClient(
                vk.provider,
                api_key=vk.key(),
                base_url=vk.base_url,
                hooks=self._hooks,
                **options,
            )
        except (InvalidRequestError, HttpError, TypeError) as exc:
            raise ConfigError(f"virtual_keys.{name}: {_message(exc)}") from None

    # -- choosing --------------------------------------------------------------------------

    def choose(self, headers: Mapping[str, str], model: object) -> Reranker:
        """The reranker for a request with these (lower-case) headers and ``model``."""
        custom = headers.get("x-portkey-custom-host")
        if custom is not None and not self.config.allow_custom_host:
            raise HttpError(
                400,
                "x-portkey-custom-host is not allowed by this server "
                "(its config sets allow_custom_host: false)",
                code="custom_host_not_allowed",
            )
        config = headers.get("x-portkey-config")
        if config:
            if custom is not None:
                raise _bad(
                    "x-portkey-config cannot be combined with x-portkey-custom-host; "
                    "set custom_host on the config's targets"
                )
            return self._from_config_header(config)
        vk = headers.get("x-portkey-virtual-key")
        if vk:
            if custom is not None:
                raise _bad("a virtual key's requests cannot go to x-portkey-custom-host")
            reranker = self._virtual.get(vk)
            if reranker is None:
                raise HttpError(
                    401, "unknown virtual key", type="authentication_error", code="virtual_key"
                )
            return reranker
        provider = headers.get("x-portkey-provider")
        if not provider:
            provider = _prefix(model)
        elif provider not in known_slugs():
            raise _bad(
                f"x-portkey-provider: unknown provider {provider!r}; "
                f"known providers: {', '.join(known_slugs())}"
            )
        _caller_may_use(
            provider, "x-portkey-provider" if headers.get("x-portkey-provider") else "model"
        )
        key = _bearer(headers.get("authorization"))
        if key is None:
            raise HttpError(
                401,
                f"provider {provider!r} needs its key as `Authorization: Bearer <key>`, "
                "or use x-portkey-virtual-key",
                type="authentication_error",
                code="provider_key_missing",
            )
        ident = _digest("provider", provider, key, custom or "")
        return self._dynamic_get(ident, lambda: self._header_client(provider, key, custom, ident))

    def _header_client(self, provider: str, key: str, host: str | None, ident: str) -> Reranker:
        client = RerankClient(
            provider,
            api_key=SecretStr(key),
            base_url=host,
            timeout=self.config.timeout,
            max_retries=self.config.max_retries,
            hooks=self._hooks,
            async_http_client=self.pool.client(self.config.timeout),
        )
        return self._cached(client, ident, None)

    def _from_config_header(self, text: str) -> Reranker:
        text = text.strip()
        if not text.startswith("{"):
            reranker = self._named.get(text)
            if reranker is None:
                raise _bad("x-portkey-config: no config with this id in the server's configs")
            return reranker
        ident = _digest("config", text)
        reranker = self._dynamic.get(ident)
        if reranker is not None:
            self._dynamic.move_to_end(ident)
            return reranker
        try:
            data = json.loads(text)
        except json.JSONDecodeError:
            raise _bad(
                "x-portkey-config: not valid JSON (send a JSON object or a config id)"
            ) from None
        if not isinstance(data, dict):
            raise _bad("x-portkey-config: must be a JSON object")
        return self._dynamic_get(
            ident, lambda: self._from_config(data, "x-portkey-config", trusted=False, ident=ident)
        )

    def _dynamic_get(self, ident: str, build: Callable[[], Reranker]) -> Reranker:
        reranker = self._dynamic.get(ident)
        if reranker is not None:
            self._dynamic.move_to_end(ident)
            return reranker
        reranker = build()
        self._dynamic[ident] = reranker
        if len(self._dynamic) > _DYNAMIC_MAX:
            self._retire(self._dynamic.popitem(last=False)[1])
        return reranker

    def _retire(self, reranker: Reranker) -> None:
        async def close_later() -> None:
            await asyncio.sleep(_CLOSE_GRACE)
            await _aclose(reranker)

        task = asyncio.get_running_loop().create_task(close_later())
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    # -- Portkey configs ---------------------------------------------------------------------

    def _from_config(
        self, data: Mapping[str, Any], where: str, *, trusted: bool, ident: str | None = None
    ) -> Reranker:
        data = dict(data)
        cache = data.pop("cache", None)
        top_override = _override(data.pop("override_params", None), f"{where}.override_params")
        if "targets" in data:
            root = data
        else:  # a config naming one upstream is a fallback over that one target
            root = {"targets": [data]}
            for k in ("retry", "strategy"):
                if k in data:
                    root[k] = data.pop(k)
        if not trusted:
            _only(root, _NESTED_KEYS, where)
        targets = root.get("targets")
        if not isinstance(targets, list) or not targets:
            raise _bad(f"{where}.targets: a non-empty list of targets is required")
        resolved = []
        for i, t in enumerate(targets):
            target = self._target(t, f"{where}.targets.{i}", trusted, root.get("retry"))
            if top_override:
                target["override_params"] = {**top_override, **target.get("override_params", {})}
            resolved.append(target)
        try:
            router = Router(
                resolved,
                root.get("strategy", {"mode": "fallback"}),
                hooks=self._hooks,
                retry=root.get("retry"),
            )
        except (InvalidRequestError, TypeError, ValueError) as exc:
            raise _bad(f"{where}: {_message(exc)}") from None
        return self._cached(router, ident or where, cache, where)

    def _target(
        self, given: Any, where: str, trusted: bool, inherited_retry: Any
    ) -> dict[str, Any]:
        if not isinstance(given, Mapping):
            raise _bad(f"{where}: a target must be an object")
        spec: dict[str, Any] = dict(given)
        if "override_params" in spec:
            spec["override_params"] = _override(spec["override_params"], f"{where}.override_params")
        if "targets" in spec:
            if not trusted:
                _only(spec, _NESTED_KEYS, where)
            nested = spec["targets"]
            if not isinstance(nested, list) or not nested:
                raise _bad(f"{where}.targets: a non-empty list of targets is required")
            retry = spec.get("retry", inherited_retry)
            spec["targets"] = [
                self._target(t, f"{where}.targets.{i}", trusted, retry)
                for i, t in enumerate(nested)
            ]
            return spec
        if not trusted:
            _only(spec, _LEAF_KEYS, where)
        host = spec.get("custom_host") or spec.get("base_url")
        name = spec.pop("virtual_key", None)
        if name is not None:
            vk = self.config.virtual_keys.get(name) if isinstance(name, str) else None
            if vk is None:
                raise HttpError(
                    401 if not trusted else 400,
                    f"{where}.virtual_key: unknown virtual key",
                    type="authentication_error",
                    code="virtual_key",
                )
            if host and not trusted:
                raise _bad(f"{where}: a virtual key's requests cannot go to a custom host")
            if "api_key" in spec or spec.get("provider", vk.provider) != vk.provider:
                raise _bad(f"{where}: a target with virtual_key takes no api_key or other provider")
            spec = {
                "provider": vk.provider,
                "api_key": vk.key(),
                "base_url": vk.base_url,
                **vk.options(),
                **spec,
            }
        elif trusted:
            env = spec.pop("api_key_env", None)
            if env is not None:
                try:
                    spec["api_key"] = SecretStr(_env(env))
                except KeyError:
                    raise _bad(
                        f"{where}.api_key_env: the environment variable {env} is not set"
                    ) from None
        else:
            _caller_may_use(spec.get("provider"), f"{where}.provider")
            if host and not self.config.allow_custom_host:
                raise _bad(
                    f"{where}: custom_host is not allowed by this server "
                    "(its config sets allow_custom_host: false)",
                    code="custom_host_not_allowed",
                )
            if not isinstance(spec.get("api_key"), str) or not spec["api_key"]:
                raise HttpError(
                    401,
                    f"{where}: a target needs api_key or virtual_key",
                    type="authentication_error",
                    code="provider_key_missing",
                )
            spec["api_key"] = SecretStr(spec["api_key"])
        if "request_timeout" not in spec:
            spec.setdefault("timeout", self.config.timeout)
        timeout = spec.get("timeout")
        if timeout is None:  # Portkey gives milliseconds
            timeout = _number(spec["request_timeout"], f"{where}.request_timeout") / 1000.0
        spec["async_http_client"] = self.pool.client(_number(timeout, f"{where}.timeout"))
        if "retry" not in spec and inherited_retry is None:
            spec.setdefault("max_retries", self.config.max_retries)
        return spec

    def _cached(
        self, reranker: Reranker, namespace: str, cache: Any, where: str = "cache"
    ) -> Reranker:
        """``reranker`` behind the cache when the server's or the request's config says so."""
        settings = self.config.cache
        ttl = settings.ttl
        if cache is not None:
            if not isinstance(cache, Mapping) or cache.get("mode", "simple") != "simple":
                raise _bad(f'{where}.cache: only {{"mode": "simple"}} is supported')
            age = cache.get("max_age")
            if age is not None:
                if isinstance(age, bool) or not isinstance(age, (int, float)) or age <= 0:
                    raise _bad(f"{where}.cache.max_age: a number of seconds > 0")
                ttl = float(age)
        elif not settings.enabled:
            return reranker
        return CachedReranker(reranker, self.store, ttl=ttl, namespace=namespace)

    # -- lifetime ------------------------------------------------------------------------------

    async def aclose(self) -> None:
        for task in list(self._closing):
            task.cancel()
        for reranker in [*self._virtual.values(), *self._named.values(), *self._dynamic.values()]:
            await _aclose(reranker)
        self._dynamic.clear()
        await self.pool.aclose()


def _prefix(model: object) -> str:
    if isinstance(model, str):
        try:
            return split_model(model, None)[0]
        except InvalidRequestError:
            pass
    raise _bad(
        "no upstream chosen: send x-portkey-virtual-key, x-portkey-config, or x-portkey-provider "
        "with Authorization, or write model as 'provider/model-id'",
        code="no_upstream",
    )


def _caller_may_use(provider: object, where: str) -> None:
    """In-process providers (a model loaded into the server) only through the server's config."""
    in_process = (
        isinstance(provider, str)
        and provider in known_slugs()
        and get_provider(provider).run_local is not None
    )
    if in_process:
        raise _bad(
            f"{where}: provider {provider!r} runs inside the server; "
            "it is served only through the server's virtual_keys or configs"
        )


def _bearer(value: str | None) -> str | None:
    if not value:
        return None
    scheme, _, token = value.partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def _override(value: Any, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise _bad(f"{where}: must be an object")
    unknown = sorted(set(value) - REQUEST_FIELDS)
    if unknown:
        raise _bad(f"{where}: unknown request field(s) {unknown}")
    return dict(value)


def _only(spec: Mapping[str, Any], allowed: frozenset[str], where: str) -> None:
    unknown = sorted(set(spec) - allowed - _TOP_KEYS)
    if unknown:
        raise _bad(f"{where}: unsupported field(s) {unknown}")


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise _bad(f"{where}: a positive number")
    return float(value)


def _bad(message: str, code: str | None = None) -> HttpError:
    return HttpError(400, message, code=code)


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()


def _env(name: str) -> str:
    import os

    value = os.environ[name]
    if not value:
        raise KeyError(name)
    return value


def _message(exc: Exception) -> str:
    return exc.message if isinstance(exc, (InvalidRequestError, HttpError)) else str(exc)


async def _aclose(reranker: Reranker) -> None:
    aclose = getattr(reranker, "aclose", None)
    if callable(aclose):
        await aclose()
