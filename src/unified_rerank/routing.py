"""Routing across providers: fallback chains and weighted load balancing.

A :class:`Router` is built from targets in Portkey's config shape and is usable wherever a
``RerankClient`` is (same ``rerank``/``arerank`` keywords, ``close``/``aclose``, context
managers); both satisfy the :class:`Reranker` protocol::

    router = Router.from_config({
        "strategy": {"mode": "fallback"},            # or "loadbalance"
        "targets": [
            {"provider": "cohere", "api_key": "...", "override_params": {"model": "rerank-v3.5"}},
            {"provider": "voyage", "api_key": "...", "override_params": {"model": "rerank-2"},
             "retry": {"attempts": 1}},
        ],
    })
    resp = router.rerank(query="...", documents=[...], top_n=3)
    resp.provider, resp.model      # what answered

Fallback moves to the next target only on the errors configured. By default: 429, 5xx,
timeouts, connection errors, malformed answers, and authentication errors (401/403 or a
missing key: a key belongs to one target, the next target has its own). Never after an
:class:`~unified_rerank.errors.InvalidRequestError`, which the request itself caused and which
every target would refuse again. ``strategy.on_status_codes`` replaces the default statuses
(listing a 4xx such as 404 opts into falling back on it); errors without an HTTP status
(timeouts, dropped connections) always fall back, request validation errors never do.

Load balancing picks one target per call, at random in proportion to ``weight`` (seedable);
it does not fall back by itself: nest a fallback config as a target for that.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ._lifetime import Closing
from .errors import InvalidRequestError, RerankError
from .observability import Event, HooksArg, emitter, new_call_id
from .schema import Reranker

if TYPE_CHECKING:
    from .schema import Document, RerankResponse

# ``Reranker`` lives with the core types (schema.py); re-exported here for existing imports.
__all__ = ["Reranker", "Router", "Target"]

logger = logging.getLogger("unified_rerank")

#: HTTP statuses that move a fallback chain on by default (with 401/403, see the module doc).
DEFAULT_FALLBACK_STATUSES = frozenset({401, 403, 408, 429, 500, 502, 503, 504})


@dataclass
class Target:
    """One place a :class:`Router` can send a call.

    Args:
        client: the reranker to call (a ``RerankClient``, a nested ``Router``, ...).
        weight: its share of calls under load balancing (0: never chosen).
        override_params: request fields that replace the call's (``model`` most often).
        name: a label for events and logs (default: the client's provider).
    """

    client: Reranker
    weight: float = 1.0
    override_params: dict[str, Any] = field(default_factory=dict)
    name: str | None = None
    owned: bool = False

    def __post_init__(self) -> None:
        w = self.weight
        if isinstance(w, bool) or not isinstance(w, (int, float)) or not w >= 0:
            raise InvalidRequestError(f"target weight must be a number >= 0, got {w!r}")
        if self.name is None:
            self.name = str(getattr(self.client, "provider", None) or type(self.client).__name__)

    def __repr__(self) -> str:
        return f"Target({self.name!r}, weight={self.weight})"


_TARGET_KEYS = {"provider", "api_key", "base_url", "custom_host", "weight", "override_params"}
_TARGET_KEYS |= {"retry", "request_timeout", "strategy", "targets", "name"}


class Router(Closing):
    """A reranker that routes each call to one of several targets (see the module doc).

    Args:
        targets: ``Target`` objects, Portkey-style target dicts, or bare rerankers.
        strategy: ``"fallback"`` or ``"loadbalance"``, or a Portkey ``strategy`` dict
            (``{"mode": ..., "on_status_codes": [...]}``).
        on_status_codes: statuses that trigger a fallback (default: 401, 403, 408, 429, 5xx).
        seed: seeds the load balancer's random choice (tests, reproducible runs).
        hooks: receives ``fallback`` events, and is passed to the clients built from dicts.
        retry: Portkey ``retry`` dict (``{"attempts": n, "on_status_codes": [...]}``) used
            by targets built from dicts that have none of their own.
    """

    def __init__(
        self,
        targets: Sequence[Target | Mapping[str, Any] | Reranker],
        strategy: str | Mapping[str, Any] = "fallback",
        *,
        on_status_codes: Iterable[int] | None = None,
        seed: int | None = None,
        hooks: HooksArg = None,
        retry: Mapping[str, Any] | None = None,
    ) -> None:
        if isinstance(strategy, Mapping):
            mode = strategy.get("mode")
            if on_status_codes is None:
                on_status_codes = strategy.get("on_status_codes")
        else:
            mode = strategy
        if mode not in ("fallback", "loadbalance"):
            raise InvalidRequestError(
                f"strategy mode must be 'fallback' or 'loadbalance', got {mode!r}"
            )
        self.mode: str = mode
        self.on_status_codes: frozenset[int] | None = (
            None if on_status_codes is None else _statuses(on_status_codes, "on_status_codes")
        )
        self._hooks = hooks
        self._emit = emitter(hooks)
        self._rng = random.Random(seed)
        if isinstance(targets, (str, bytes, Mapping)) or not targets:
            raise InvalidRequestError("a Router needs a non-empty list of targets")
        self.targets: list[Target] = [self._target(t, retry) for t in targets]
        self._weights = [float(t.weight) for t in self.targets]
        if self.mode == "loadbalance" and not any(self._weights):
            raise InvalidRequestError("load balancing needs at least one target with weight > 0")

    @classmethod
    def from_config(
        cls, config: Mapping[str, Any], *, seed: int | None = None, hooks: HooksArg = None
    ) -> Router:
        """A router from a Portkey-style config: ``strategy``, ``targets``, optional ``retry``."""
        if not isinstance(config, Mapping):
            raise InvalidRequestError("a routing config must be a mapping")
        strategy = config.get("strategy", {"mode": "fallback"})
        if isinstance(strategy, str):
            strategy = {"mode": strategy}
        return cls(
            config.get("targets") or [],
            strategy,
            seed=seed,
            hooks=hooks,
            retry=config.get("retry"),
        )

    def _target(self, spec: Any, retry: Mapping[str, Any] | None) -> Target:
        if isinstance(spec, Target):
            return spec
        if isinstance(spec, Mapping):
            return self._target_from_dict(spec, retry)
        if isinstance(spec, Reranker):
            return Target(spec)
        raise InvalidRequestError(
            f"a target must be a Target, a config dict or a reranker, got {type(spec).__name__}"
        )

    def _target_from_dict(self, spec: Mapping[str, Any], retry: Mapping[str, Any] | None) -> Target:
        weight = spec.get("weight", 1.0)
        override = dict(spec.get("override_params") or {})
        if "targets" in spec:  # a nested config
            nested = Router(
                spec["targets"],
                spec.get("strategy", {"mode": "fallback"}),
                seed=self._rng.randrange(2**32),
                hooks=self._hooks,
                retry=spec.get("retry", retry),
            )
            return Target(nested, weight, override, spec.get("name"), owned=True)
        from .client import RerankClient

        provider = spec.get("provider")
        if not isinstance(provider, str) or not provider:
            raise InvalidRequestError("every target needs a `provider` (or nested `targets`)")
        kwargs = {k: v for k, v in spec.items() if k not in _TARGET_KEYS}
        if spec.get("api_key") is not None:
            kwargs["api_key"] = spec["api_key"]
        base_url = spec.get("base_url") or spec.get("custom_host")
        if base_url:
            kwargs["base_url"] = base_url
        if spec.get("request_timeout") is not None:  # Portkey gives milliseconds
            kwargs.setdefault("timeout", float(spec["request_timeout"]) / 1000.0)
        rule = spec.get("retry", retry)
        if rule is not None:
            kwargs["retry_policy"] = _retry_policy(rule)
            kwargs.setdefault("max_retries", kwargs["retry_policy"].max_retries)
        kwargs.setdefault("hooks", self._hooks)
        client = RerankClient(provider, **kwargs)
        return Target(client, weight, override, spec.get("name") or provider, owned=True)

    def __repr__(self) -> str:
        return f"Router(mode={self.mode!r}, targets={[t.name for t in self.targets]})"

    def cache_identity(self) -> Any:
        """What identifies this router's answers in a cache key (never a key)."""
        return {
            "router": self.mode,
            "targets": [
                {
                    "client": _identity(t.client),
                    "override_params": t.override_params,
                    "weight": t.weight,
                }
                for t in self.targets
            ],
        }

    # -- routing ---------------------------------------------------------------------------

    def _order(self) -> list[Target]:
        if self.mode == "fallback":
            return self.targets
        return [self._rng.choices(self.targets, weights=self._weights)[0]]

    def should_fall_back(self, err: RerankError) -> bool:
        """Whether ``err`` from one target moves the chain on to the next."""
        if isinstance(err, InvalidRequestError) and err.status_code is None:
            return False  # our own validation: every target would refuse the request
        status = err.status_code
        if status is not None and status >= 300:
            codes = self.on_status_codes
            if codes is None:
                return status in DEFAULT_FALLBACK_STATUSES or status >= 500
            return status in codes
        # No HTTP status (timeouts, dropped connections, missing key) or a 2xx that did not
        # decode into a valid ranking: this target failed, the next one may not.
        return True

    def _fields(self, target: Target, fields: dict[str, Any]) -> dict[str, Any]:
        merged = {**fields, **target.override_params}
        if not merged.get("model"):
            raise InvalidRequestError(
                f"no model for target {target.name!r}: pass model=... or set "
                "override_params.model on the target"
            )
        return {k: v for k, v in merged.items() if v is not None}

    def _fell_back(self, call_id: int, target: Target, nxt: Target, err: RerankError) -> None:
        logger.info(
            "falling back from %s to %s after %s%s",
            target.name,
            nxt.name,
            type(err).__name__,
            f" HTTP {err.status_code}" if err.status_code is not None else "",
        )
        self._emit(
            Event(
                "fallback",
                call_id,
                target.name,
                status=err.status_code,
                error=type(err).__name__,
                target=nxt.name,
            )
        )

    def rerank(
        self,
        *,
        model: str | None = None,
        query: str,
        documents: list[Document],
        top_n: int | None = None,
        return_documents: bool = False,
        max_tokens_per_doc: int | None = None,
        priority: float | None = None,
        rank_fields: list[str] | None = None,
        truncation: bool | None = None,
        parameters: dict[str, Any] | None = None,
    ) -> RerankResponse:
        """Rerank on the first target that answers (fallback) or a weighted pick."""
        fields = dict(locals())
        fields.pop("self")
        order = self._order()
        call_id = new_call_id()
        for i, target in enumerate(order):
            try:
                return target.client.rerank(**self._fields(target, fields))
            except RerankError as err:
                if i + 1 == len(order) or not self.should_fall_back(err):
                    raise
                self._fell_back(call_id, target, order[i + 1], err)
        raise AssertionError("unreachable")  # pragma: no cover

    async def arerank(
        self,
        *,
        model: str | None = None,
        query: str,
        documents: list[Document],
        top_n: int | None = None,
        return_documents: bool = False,
        max_tokens_per_doc: int | None = None,
        priority: float | None = None,
        rank_fields: list[str] | None = None,
        truncation: bool | None = None,
        parameters: dict[str, Any] | None = None,
    ) -> RerankResponse:
        """The same as :meth:`rerank`, natively async."""
        fields = dict(locals())
        fields.pop("self")
        order = self._order()
        call_id = new_call_id()
        for i, target in enumerate(order):
            try:
                return await target.client.arerank(**self._fields(target, fields))
            except RerankError as err:
                if i + 1 == len(order) or not self.should_fall_back(err):
                    raise
                self._fell_back(call_id, target, order[i + 1], err)
        raise AssertionError("unreachable")  # pragma: no cover

    # -- lifetime (closes the clients it built; rerankers passed in stay yours) ---------------

    def close(self) -> None:
        for t in self.targets:
            close = getattr(t.client, "close", None)
            if t.owned and callable(close):
                close()

    async def aclose(self) -> None:
        for t in self.targets:
            aclose = getattr(t.client, "aclose", None)
            if t.owned and callable(aclose):
                await aclose()


def _statuses(values: Iterable[int], what: str) -> frozenset[int]:
    if isinstance(values, (str, bytes)):
        raise InvalidRequestError(f"{what} must be a list of HTTP status codes")
    out = set()
    for v in values:
        if isinstance(v, bool) or not isinstance(v, int) or not 100 <= v <= 599:
            raise InvalidRequestError(f"{what} must hold HTTP status codes, got {v!r}")
        out.add(v)
    return frozenset(out)


def _retry_policy(rule: Mapping[str, Any]) -> Any:
    from .transport import RetryPolicy

    if not isinstance(rule, Mapping):
        raise InvalidRequestError("`retry` must be a mapping like {'attempts': 2}")
    attempts = rule.get("attempts", 0)
    if isinstance(attempts, bool) or not isinstance(attempts, int) or attempts < 0:
        raise InvalidRequestError(f"retry.attempts must be an integer >= 0, got {attempts!r}")
    codes = rule.get("on_status_codes")
    return RetryPolicy(
        max_retries=attempts,
        on_status_codes=None if codes is None else _statuses(codes, "retry.on_status_codes"),
    )


def _identity(client: Any) -> Any:
    """A stable, key-free description of a reranker, for cache keys."""
    own = getattr(client, "cache_identity", None)
    if callable(own):
        return own()
    return {
        "type": type(client).__qualname__,
        "provider": getattr(client, "provider", None),
        "base_url": getattr(client, "base_url", None),
    }
