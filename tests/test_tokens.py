"""Exchanged bearer tokens (providers/_tokens.py): cached, refreshed before expiry on a fixed
clock, one exchange for concurrent sync and async callers, failures and 401s."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Mapping
from typing import Any

import pytest

from tests.support.tokens import fresh_tokens  # noqa: F401  (autouse)
from unified_rerank import AuthenticationError, RerankClient
from unified_rerank.providers import _tokens, watsonx
from unified_rerank.providers._tokens import (
    BlockingExchange,
    HttpExchange,
    Issued,
    TokenAuth,
    early_refresh,
)
from unified_rerank.providers.base import HttpCall, RawResponse

T0 = 1_800_000_000.0


class Clock:
    """A fixed clock a test moves by hand."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


class IAM:
    """A fake token endpoint: each exchange returns token-1, token-2, ... living ``lifetime``.
    ``gate``: when set, every exchange waits until it is opened (to pile callers up)."""

    def __init__(self, lifetime: float = 3600, gate: threading.Event | None = None) -> None:
        self.lifetime = lifetime
        self.gate = gate
        self.calls: list[HttpCall] = []
        self.lock = threading.Lock()

    def answer(self, call: HttpCall) -> RawResponse:
        with self.lock:
            self.calls.append(call)
            n = len(self.calls)
        body = {"access_token": f"token-{n}", "expires_in": self.lifetime, "token_type": "Bearer"}
        return RawResponse(200, {}, json.dumps(body).encode())

    def send(self, call: HttpCall) -> RawResponse:
        if self.gate is not None:
            assert self.gate.wait(10), "the test never opened the gate"
        return self.answer(call)

    async def asend(self, call: HttpCall) -> RawResponse:
        if self.gate is not None:
            while not self.gate.is_set():  # never blocks the loop
                await asyncio.sleep(0.001)
        return self.answer(call)


def iam_auth(clock: Clock | None = None) -> TokenAuth:
    exchange = HttpExchange(watsonx.iam_call("the-key", watsonx.IAM_URL), watsonx.read_iam)
    return TokenAuth(exchange, clock=clock)


def bearer(headers: Mapping[str, str]) -> str:
    return headers["Authorization"]


# -- expiry and refresh on a fixed clock -------------------------------------------------------


def test_cached_until_shortly_before_expiry_then_exchanged_again() -> None:
    clock, iam = Clock(), IAM(lifetime=3600)
    auth = iam_auth(clock)
    assert bearer(auth.headers(iam.send)) == "Bearer token-1"
    clock.now = T0 + 3600 - 900 - 1  # 15 minutes early (the SDK's rule for 1-hour tokens)
    assert bearer(auth.headers(iam.send)) == "Bearer token-1"
    assert len(iam.calls) == 1
    clock.now = T0 + 3600 - 900
    assert bearer(auth.headers(iam.send)) == "Bearer token-2"
    assert bearer(auth.headers(iam.send)) == "Bearer token-2"
    assert len(iam.calls) == 2


async def test_async_callers_share_the_sync_callers_token() -> None:
    clock, iam = Clock(), IAM(lifetime=1200)  # 20 minutes: refreshed a third early
    auth = iam_auth(clock)
    assert bearer(auth.headers(iam.send)) == "Bearer token-1"
    assert bearer(await auth.aheaders(iam.asend)) == "Bearer token-1"
    clock.now = T0 + 800 - 0.5
    assert bearer(await auth.aheaders(iam.asend)) == "Bearer token-1"
    clock.now = T0 + 800
    assert bearer(await auth.aheaders(iam.asend)) == "Bearer token-2"
    assert bearer(auth.headers(iam.send)) == "Bearer token-2"
    assert len(iam.calls) == 2


def test_the_exchange_is_the_iam_api_key_grant() -> None:
    iam = IAM()
    iam_auth().headers(iam.send)
    (call,) = iam.calls
    assert call.method == "POST" and call.url == "https://iam.cloud.ibm.com/identity/token"
    assert call.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert call.body == (
        b"apikey=the-key&grant_type=urn%3Aibm%3Aparams%3Aoauth%3Agrant-type%3Aapikey"
    )
    assert "the-key" not in repr(call) and "the-key" not in repr(iam_auth())


@pytest.mark.parametrize(
    ("lifetime", "margin"), [(3600, 900), (1801, 900), (1800, 600), (600, 200), (180, 60), (30, 60)]
)
def test_early_refresh_follows_the_ibm_sdk(lifetime: float, margin: float) -> None:
    assert early_refresh(lifetime) == margin


def test_a_token_shorter_lived_than_its_margin_is_still_used_once() -> None:
    clock, iam = Clock(), IAM(lifetime=30)
    auth = iam_auth(clock)
    assert bearer(auth.headers(iam.send)) == "Bearer token-1"  # no exchange loop
    assert bearer(auth.headers(iam.send)) == "Bearer token-2"  # stale at once: exchanged


def test_no_expiry_known_means_kept_until_rejected() -> None:
    issued = iter(
        [Issued({"Authorization": "Bearer a"}, None), Issued({"Authorization": "b"}, None)]
    )
    clock = Clock()
    auth = TokenAuth(BlockingExchange(lambda: next(issued)), clock=clock)
    assert bearer(auth.headers(IAM().send)) == "Bearer a"
    clock.now += 10**9
    assert bearer(auth.headers(IAM().send)) == "Bearer a"
    auth.rejected({"Authorization": "Bearer a"})
    assert bearer(auth.headers(IAM().send)) == "b"


def test_a_401_drops_the_token_it_was_sent_with_only() -> None:
    iam = IAM()
    auth = iam_auth(Clock())
    first = auth.headers(iam.send)
    auth.rejected(first)
    second = auth.headers(iam.send)
    assert bearer(second) == "Bearer token-2"
    auth.rejected(first)  # a late 401 for the old token keeps the new one
    assert auth.headers(iam.send) == second and len(iam.calls) == 2


# -- one exchange for concurrent callers -------------------------------------------------------


def test_concurrent_threads_trigger_one_exchange() -> None:
    gate = threading.Event()
    iam = IAM(gate=gate)
    auth = iam_auth(Clock())
    results: list[str] = []

    def worker() -> None:
        results.append(bearer(auth.headers(iam.send)))

    threads = [threading.Thread(target=worker) for _ in range(16)]
    for t in threads:
        t.start()
    time.sleep(0.05)  # let the callers pile up behind the first exchange (not asserted on)
    gate.set()
    for t in threads:
        t.join(10)
    assert results == ["Bearer token-1"] * 16
    assert len(iam.calls) == 1


async def test_concurrent_tasks_trigger_one_exchange() -> None:
    gate = threading.Event()
    iam = IAM(gate=gate)
    auth = iam_auth(Clock())
    tasks = [asyncio.ensure_future(auth.aheaders(iam.asend)) for _ in range(16)]
    await asyncio.sleep(0.01)
    gate.set()
    assert [bearer(h) for h in await asyncio.gather(*tasks)] == ["Bearer token-1"] * 16
    assert len(iam.calls) == 1


async def test_threads_and_tasks_together_trigger_one_exchange() -> None:
    gate = threading.Event()
    iam = IAM(gate=gate)
    auth = iam_auth(Clock())
    threads = [asyncio.to_thread(auth.headers, iam.send) for _ in range(4)]
    tasks = [auth.aheaders(iam.asend) for _ in range(8)]
    pending = asyncio.gather(*threads, *tasks)
    await asyncio.sleep(0.02)
    gate.set()
    assert {bearer(h) for h in await pending} == {"Bearer token-1"}
    assert len(iam.calls) == 1


def test_a_failed_exchange_fails_every_waiter_and_is_retried_next_time() -> None:
    gate = threading.Event()
    attempts: list[int] = []

    def refuse(call: HttpCall) -> RawResponse:
        attempts.append(1)
        gate.wait(10)
        return RawResponse(400, {}, b'{"errorCode":"BXNIM0415E","errorMessage":"bad key"}')

    auth = iam_auth(Clock())
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            auth.headers(refuse)
        except AuthenticationError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    time.sleep(0.05)
    gate.set()
    for t in threads:
        t.join(10)
    assert len(errors) == 6 and len(attempts) == 1
    assert "bad key" in str(errors[0]) and errors[0].code == "BXNIM0415E"
    assert bearer(auth.headers(IAM().send)) == "Bearer token-1"  # nothing cached: exchanged


async def test_a_cancelled_exchange_hands_over_to_a_waiter() -> None:
    started, iam = asyncio.Event(), IAM()

    async def slow(call: HttpCall) -> RawResponse:
        started.set()
        await asyncio.sleep(3600)
        raise AssertionError("never answers")

    auth = iam_auth(Clock())
    leader = asyncio.ensure_future(auth.aheaders(slow))
    await started.wait()
    waiter = asyncio.ensure_future(auth.aheaders(iam.asend))
    await asyncio.sleep(0)
    leader.cancel()
    assert bearer(await waiter) == "Bearer token-1"  # the waiter exchanged in its place
    with pytest.raises(asyncio.CancelledError):
        await leader


async def test_a_blocking_exchange_runs_off_the_event_loop() -> None:
    threads: list[int] = []

    def refresh() -> Issued:
        threads.append(threading.get_ident())
        return Issued({"Authorization": "Bearer g"}, 3600)

    auth = TokenAuth(BlockingExchange(refresh))
    assert bearer(await auth.aheaders(IAM().asend)) == "Bearer g"
    assert threads and threads[0] != threading.get_ident()


# -- shared per credential, through the client -------------------------------------------------


def test_clients_with_the_same_key_share_one_token_source() -> None:
    def plan(key: str, **options: Any) -> Any:
        client = RerankClient(
            "watsonx", api_key=key, url="https://x.ml.cloud.ibm.com", project_id="p", **options
        )
        return client._plan(dict(model="m", query="q", documents=["a"])).calls[0].credentials

    assert plan("k1") is plan("k1")
    assert plan("k1") is not plan("k2")
    assert plan("k1") is not plan("k1", iam_url="http://127.0.0.1:1/identity/token")


def test_the_shared_cache_is_bounded() -> None:
    made = [_tokens.shared(i, lambda: iam_auth()) for i in range(70)]
    assert _tokens.shared(69, lambda: iam_auth()) is made[69]
    assert _tokens.shared(0, lambda: iam_auth()) is not made[0]  # forgotten, made again
