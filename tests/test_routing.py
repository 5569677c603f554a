"""Router: Portkey-shaped configs, fallback rules, weighted load balancing, the protocol."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from tests.support.loopback import Answer, Loopback
from unified_rerank import (
    APIConnectionError,
    APITimeoutError,
    AuthenticationError,
    InvalidRequestError,
    ProviderError,
    RateLimitError,
    RerankClient,
    RerankError,
    arerank,
    rerank,
)
from unified_rerank.cache import CachedReranker
from unified_rerank.observability import Event
from unified_rerank.routing import Reranker, Router, Target
from unified_rerank.schema import RerankResponse, RerankResult

SECRET = "sk-live-ROUTING-NEVER-LEAK-000111"


class Fake:
    """A reranker that answers (or fails) without I/O and records its calls."""

    def __init__(self, provider: str, fail: RerankError | None = None) -> None:
        self.provider = provider
        self.fail = fail
        self.calls: list[dict[str, Any]] = []
        self.closed = False

    def rerank(self, **kw: Any) -> RerankResponse:
        self.calls.append(kw)
        if self.fail is not None:
            raise self.fail
        n = len(kw["documents"])
        return RerankResponse(
            id="x",
            results=[RerankResult(index=i, relevance_score=1.0 - i / n) for i in range(n)],
            model=kw["model"],
            provider=self.provider,
        )

    async def arerank(self, **kw: Any) -> RerankResponse:
        return self.rerank(**kw)

    def close(self) -> None:
        self.closed = True


def call(r: Any, **kw: Any) -> RerankResponse:
    return r.rerank(model=kw.pop("model", "m"), query="q", documents=["a", "b"], **kw)


# -- configuration --------------------------------------------------------------------------


def test_from_config_builds_clients() -> None:
    router = Router.from_config(
        {
            "strategy": {"mode": "loadbalance"},
            "retry": {"attempts": 3, "on_status_codes": [429, 503]},
            "targets": [
                {
                    "provider": "cohere",
                    "api_key": SECRET,
                    "weight": 0.7,
                    "override_params": {"model": "rerank-v3.5"},
                },
                {
                    "provider": "cohere",
                    "api_key": SECRET,
                    "custom_host": "http://127.0.0.1:9",
                    "weight": 0.3,
                    "retry": {"attempts": 0},
                    "request_timeout": 1500,
                },
            ],
        }
    )
    a, b = (t.client for t in router.targets)
    assert isinstance(a, RerankClient) and isinstance(b, RerankClient)
    assert router.mode == "loadbalance" and [t.weight for t in router.targets] == [0.7, 0.3]
    assert router.targets[0].override_params == {"model": "rerank-v3.5"}
    pa, pb = a._transport().retry, b._transport().retry
    assert pa.max_retries == 3 and pa.on_status_codes == frozenset({429, 503})
    assert pb.max_retries == 0 and pb.on_status_codes is None
    assert b.base_url == "http://127.0.0.1:9" and b.timeout == 1.5
    text = repr(router) + repr(router.targets)
    assert SECRET not in text and "cohere" in text


@pytest.mark.parametrize(
    "config",
    [
        {"targets": []},
        {"strategy": {"mode": "roundrobin"}, "targets": [{"provider": "cohere"}]},
        {"targets": [{"api_key": "x"}]},
        {"targets": [{"provider": "cohere", "weight": -1}]},
        {"targets": [{"provider": "cohere", "retry": {"attempts": -1}}]},
        {
            "strategy": {"mode": "fallback", "on_status_codes": ["500"]},
            "targets": [{"provider": "cohere"}],
        },
        {"strategy": {"mode": "loadbalance"}, "targets": [{"provider": "cohere", "weight": 0}]},
        {"targets": [{"provider": "cohere", "no_such_option": 1}]},
        {"targets": [42]},
    ],
)
def test_bad_configs_are_invalid_requests(config: dict[str, Any]) -> None:
    with pytest.raises(InvalidRequestError):
        Router.from_config(config)


def test_protocol_is_satisfied_by_every_reranker() -> None:
    client = RerankClient("cohere", api_key=SECRET)
    router = Router([client])
    for r in (client, router, CachedReranker(router), Fake("x")):
        assert isinstance(r, Reranker)
    assert not isinstance(object(), Reranker)


# -- fallback -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "falls_back"),
    [
        (RateLimitError("x", status_code=429), True),
        (ProviderError("x", status_code=500, retryable=True), True),
        (ProviderError("x", status_code=503, retryable=True), True),
        (ProviderError("malformed", status_code=200), True),
        (APITimeoutError("x"), True),
        (APIConnectionError("x"), True),
        (AuthenticationError("x", status_code=401), True),
        (AuthenticationError("no key"), True),
        (InvalidRequestError("x", status_code=400), False),
        (InvalidRequestError("x", status_code=404), False),
        (InvalidRequestError("x", status_code=422), False),
        (InvalidRequestError("bad input"), False),
    ],
)
async def test_fallback_rules(error: RerankError, falls_back: bool) -> None:
    first, second = Fake("one", fail=error), Fake("two")
    router = Router([first, second])
    if falls_back:
        assert call(router).provider == "two"
        resp = await router.arerank(model="m", query="q", documents=["a"])
        assert resp.provider == "two" and len(second.calls) == 2
    else:
        with pytest.raises(type(error)):
            call(router)
        with pytest.raises(type(error)):
            await router.arerank(model="m", query="q", documents=["a"])
        assert second.calls == []


def test_on_status_codes_replace_the_default() -> None:
    nf = InvalidRequestError("model not found", status_code=404)
    router = Router(
        [Fake("one", fail=nf), Fake("two")], {"mode": "fallback", "on_status_codes": [404]}
    )
    assert call(router).provider == "two"
    boom = ProviderError("x", status_code=500, retryable=True)
    router = Router([Fake("one", fail=boom), Fake("two")], on_status_codes=[429])
    with pytest.raises(ProviderError):
        call(router)
    # Errors without an HTTP status still fall back; our own validation never does.
    router = Router([Fake("one", fail=APITimeoutError("x")), Fake("two")], on_status_codes=[429])
    assert call(router).provider == "two"


async def test_all_targets_fail_raises_the_last_error_and_emits_fallbacks() -> None:
    events: list[Event] = []
    targets = [
        Fake("one", fail=RateLimitError("one", status_code=429)),
        Fake("two", fail=ProviderError("two", status_code=502, retryable=True)),
        Fake("three", fail=APIConnectionError("three")),
    ]
    router = Router(targets, hooks=events.append)
    with pytest.raises(APIConnectionError, match="three"):
        await router.arerank(model="m", query="q", documents=["a"])
    assert [(e.kind, e.provider, e.target, e.status, e.error) for e in events] == [
        ("fallback", "one", "two", 429, "RateLimitError"),
        ("fallback", "two", "three", 502, "ProviderError"),
    ]
    assert events[0].call_id == events[1].call_id
    assert all(len(t.calls) == 1 for t in targets)


def test_override_params_and_model_resolution() -> None:
    a, b = Fake("a", fail=APITimeoutError("x")), Fake("b")
    router = Router(
        [
            Target(a, override_params={"model": "model-a", "top_n": 1}),
            Target(b, override_params={"model": "model-b"}),
        ]
    )
    resp = router.rerank(query="q", documents=["x", "y"], top_n=2)
    assert (resp.provider, resp.model) == ("b", "model-b")
    assert a.calls[0]["model"] == "model-a" and a.calls[0]["top_n"] == 1
    assert b.calls[0]["top_n"] == 2 and "return_documents" in b.calls[0]
    plain = Router([Fake("c")])
    assert plain.rerank(model="given", query="q", documents=["x"]).model == "given"
    with pytest.raises(InvalidRequestError, match="no model"):
        plain.rerank(query="q", documents=["x"])


def test_fallback_over_http(loopback: Loopback) -> None:
    """A real client whose server fails, then a healthy fake: the answer names the fake."""
    loopback.script(Answer(503, {"message": "down"}))
    router = Router.from_config(
        {
            "targets": [
                {
                    "provider": "cohere",
                    "api_key": SECRET,
                    "base_url": loopback.url,
                    "retry": {"attempts": 0},
                },
            ]
        }
    )
    router.targets.append(Target(Fake("backup")))
    assert call(router, model="rerank-v3.5").provider == "backup"
    assert len(loopback.received) == 1
    assert loopback.received[0].json()["model"] == "rerank-v3.5"


# -- load balancing ---------------------------------------------------------------------------


def test_loadbalance_weights_and_seed() -> None:
    fakes = [Fake("a"), Fake("b"), Fake("c"), Fake("never")]
    weights = [5, 3, 2, 0]
    router = Router(
        [Target(f, weight=w) for f, w in zip(fakes, weights, strict=True)],
        "loadbalance",
        seed=42,
    )
    picks = Counter(call(router).provider for _ in range(1000))
    for f, w in zip(fakes, weights, strict=True):
        assert abs(picks[f.provider] / 1000 - w / 10) <= 0.05
    assert picks["never"] == 0

    def picks_of(seed: int) -> list[str]:
        r = Router(
            [Target(f, weight=w) for f, w in zip(fakes, weights, strict=True)],
            "loadbalance",
            seed=seed,
        )
        return [call(r).provider for _ in range(200)]

    assert picks_of(7) == picks_of(7) != picks_of(8)


def test_loadbalance_does_not_fall_back_but_nested_fallback_does() -> None:
    bad = ProviderError("x", status_code=500, retryable=True)
    router = Router([Target(Fake("down", fail=bad), weight=1)], "loadbalance", seed=1)
    with pytest.raises(ProviderError):
        call(router)
    nested = Router.from_config(
        {
            "strategy": {"mode": "loadbalance"},
            "targets": [
                {
                    "strategy": {"mode": "fallback"},
                    "weight": 1,
                    "targets": [{"provider": "cohere"}],
                },  # no key: AuthenticationError
            ],
        }
    )
    inner = nested.targets[0].client
    assert isinstance(inner, Router)
    inner.targets.append(Target(Fake("backup")))
    assert call(nested).provider == "backup"


# -- the module functions and lifetime ----------------------------------------------------------


async def test_module_functions_take_client() -> None:
    router = Router([Fake("one", fail=APIConnectionError("x")), Fake("two")])
    assert rerank(model="m", query="q", documents=["a"], client=router).provider == "two"
    resp = await arerank(model="m", query="q", documents=["a"], top_n=1, client=router)
    assert resp.provider == "two"
    with pytest.raises(InvalidRequestError, match="cannot be combined"):
        rerank(model="m", query="q", documents=["a"], client=router, timeout=3)


async def test_close_closes_only_owned_clients() -> None:
    mine = Fake("mine")
    router = Router([mine, {"provider": "cohere", "api_key": SECRET}])
    owned = router.targets[1].client
    assert isinstance(owned, RerankClient)
    with router:
        pass
    assert not mine.closed
    async with Router([mine]) as r:
        assert r.mode == "fallback"
    assert not mine.closed
