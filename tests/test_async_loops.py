"""A client used from several event loops leaks no connection (one pool per loop, closed when
its loop shuts down), and a first async call does its slow one-time work (imports, building
the HTTP client) off the event loop. Mechanisms only: no timing is asserted (the stall itself
is measured by bench/first_call_stall.py)."""

from __future__ import annotations

import asyncio
import gc
import subprocess
import sys
import textwrap
from pathlib import Path

import httpx

from tests.conftest import PROVIDER_KEY_VARS
from tests.support.loopback import Answer, Loopback
from unified_rerank import RerankClient

ROOT = Path(__file__).resolve().parents[1]
OK = {"results": [{"index": 1, "relevance_score": 0.9}, {"index": 0, "relevance_score": 0.1}]}


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in __import__("os").environ.items() if k not in PROVIDER_KEY_VARS}
    return subprocess.run(
        [sys.executable, "-X", "dev", "-W", "error::ResourceWarning", "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
    )


def test_each_loop_gets_a_pool_closed_when_the_loop_ends(loopback: Loopback) -> None:
    loopback.script(Answer(200, OK))
    client = RerankClient("cohere", api_key="k", base_url=loopback.url, max_retries=0)
    pools: list[httpx.AsyncClient] = []

    async def call() -> None:
        await client.arerank(model="rerank-v3.5", query="q", documents=["a", "b"])
        await client.arerank(model="rerank-v3.5", query="q", documents=["a", "b"])
        transport = client._transport()
        pools.append(transport._pools[asyncio.get_running_loop()].client)

    for _ in range(3):
        asyncio.run(call())
        assert pools[-1].is_closed  # closed by the loop's shutdown, not left to the GC
        assert client._transport()._pools == {}
    assert len(set(map(id, pools))) == 3 and len(loopback.received) == 6


def test_aclose_closes_this_loops_pool(loopback: Loopback) -> None:
    loopback.script(Answer(200, OK))
    client = RerankClient("cohere", api_key="k", base_url=loopback.url, max_retries=0)

    async def call() -> httpx.AsyncClient:
        async with client:
            await client.arerank(model="rerank-v3.5", query="q", documents=["a", "b"])
            pool = client._transport()._pools[asyncio.get_running_loop()].client
        assert pool.is_closed and client._transport()._pools == {}
        return pool

    asyncio.run(call())


def test_a_loop_closed_without_shutdown_is_forgotten(loopback: Loopback) -> None:
    loopback.script(Answer(200, OK))
    client = RerankClient("cohere", api_key="k", base_url=loopback.url, max_retries=0)
    bare = asyncio.new_event_loop()
    try:
        bare.run_until_complete(
            client.arerank(model="rerank-v3.5", query="q", documents=["a", "b"])
        )
    finally:
        bare.close()  # no shutdown_asyncgens: the pool cannot be closed any more
    assert bare in client._transport()._pools
    asyncio.run(client.arerank(model="rerank-v3.5", query="q", documents=["a", "b"]))
    assert client._transport()._pools == {}


def test_many_asyncio_runs_leave_no_unclosed_transport() -> None:
    res = run_python(
        f"""
        import asyncio, gc
        from tests.support.loopback import Answer, Loopback
        from unified_rerank import RerankClient
        from langchain_core.documents import Document
        from langchain_unified_rerank import UnifiedRerank as LangChainRerank
        from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode
        from llama_index.postprocessor.unified_rerank import UnifiedRerank as LlamaRerank

        lb = Loopback().start()
        lb.script(Answer(200, {OK!r}))
        core = RerankClient("cohere", api_key="k", base_url=lb.url, max_retries=0)
        lc = LangChainRerank(model="cohere/rerank-v3.5", api_key="k", base_url=lb.url)
        li = LlamaRerank("cohere/rerank-v3.5", api_key="k", base_url=lb.url)
        nodes = [NodeWithScore(node=TextNode(text=t)) for t in "ab"]
        for _ in range(3):
            asyncio.run(core.arerank(model="rerank-v3.5", query="q", documents=["a", "b"]))
            asyncio.run(lc.acompress_documents([Document("a"), Document("b")], "q"))
            asyncio.run(li.apostprocess_nodes(nodes, QueryBundle("q")))
        gc.collect()
        lb.stop()
        print("calls", len(lb.received))
        """
    )
    assert res.returncode == 0, res.stderr
    assert "calls 9" in res.stdout
    assert "ResourceWarning" not in res.stderr and "unclosed" not in res.stderr, res.stderr


def test_first_async_call_imports_and_builds_off_the_loop() -> None:
    # In a fresh interpreter: the first call loads the transport, the provider module and
    # what httpx's first async request needs, and builds the HTTP client; none of that may
    # run on the event loop's thread.
    res = run_python(
        f"""
        import asyncio, sys, threading
        import unified_rerank
        assert "httpx" not in sys.modules  # import unified_rerank stays light
        from tests.support.loopback import Answer, Loopback
        import httpx  # here only to watch where its AsyncClient is built

        lb = Loopback().start()
        lb.script(Answer(200, {OK!r}))
        client = unified_rerank.RerankClient(api_key="k", base_url=lb.url)
        on_loop, built = [], []
        def audit(event, args):
            if event == "import" and in_loop and threading.current_thread() is loop_thread:
                on_loop.append(args[0])
        real_init = httpx.AsyncClient.__init__
        def init(self, *a, **k):
            built.append(threading.current_thread() is loop_thread)
            real_init(self, *a, **k)
        httpx.AsyncClient.__init__ = init
        in_loop, loop_thread = False, threading.current_thread()
        sys.addaudithook(audit)

        async def main():
            global in_loop
            in_loop = True
            await client.arerank(model="cohere/rerank-v3.5", query="q", documents=["a", "b"])
            in_loop = False
        asyncio.run(main())
        lb.stop()
        watched = {{"unified_rerank.transport", "unified_rerank.providers.cohere", "httpcore",
                   "anyio._backends._asyncio", "h11"}}
        print("built on loop thread:", built)
        print("imported on loop thread:", sorted(set(on_loop) & watched))
        print("sent", len(lb.received))
        """
    )
    assert res.returncode == 0, res.stderr
    assert "sent 1" in res.stdout
    assert "built on loop thread: [False]" in res.stdout
    assert "imported on loop thread: []" in res.stdout


def test_gc_finds_no_open_pool_after_runs(loopback: Loopback) -> None:
    loopback.script(Answer(200, OK))
    client = RerankClient("cohere", api_key="k", base_url=loopback.url, max_retries=0)
    for _ in range(3):
        asyncio.run(client.arerank(model="rerank-v3.5", query="q", documents=["a", "b"]))
    gc.collect()
    live = [o for o in gc.get_objects() if type(o) is httpx.AsyncClient and not o.is_closed]
    assert live == []
