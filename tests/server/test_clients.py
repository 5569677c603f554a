"""Clients no one here wrote, against the server: Portkey's Python SDK (``portkey-ai``), its
JS SDK (npm ``portkey-ai``, when node is present), and this project's own ``portkey``
provider, all through a virtual key with a gateway key, as the shared document's samples."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator

import pytest

from tests.server.conftest import GATEWAY_KEY, SECRET, vk
from tests.server.serving import HERE, RESPONSE, InThread
from tests.support.faults import FaultServer, expected_ranking
from unified_rerank import RerankClient
from unified_rerank.errors import AuthenticationError, RateLimitError

QUERY = "What is the capital of France?"
DOCS = [
    "Paris is the capital of France.",
    "Berlin is the capital of Germany.",
    "Madrid is the capital of Spain.",
]


@pytest.fixture
def server(upstream: FaultServer) -> Iterator[InThread]:
    config = {"virtual_keys": {"co": vk(upstream.url)}, "server_keys": [GATEWAY_KEY]}
    with InThread(config) as s:
        yield s


@pytest.mark.parametrize("suffix", ["", "/v1"])
def test_portkey_python_sdk(server: InThread, upstream: FaultServer, suffix: str) -> None:
    from portkey_ai import Portkey

    client = Portkey(base_url=server.url + suffix, api_key=GATEWAY_KEY, virtual_key="co")
    response = client.post("/rerank", model="rerank-v3.5", query=QUERY, documents=DOCS, top_n=2)
    answer = json.loads(response.model_dump_json(exclude_none=True))
    answer = {k: v for k, v in answer.items() if k != "_headers"}
    RESPONSE.validate(answer)
    assert [r["index"] for r in answer["results"]] == expected_ranking(QUERY, DOCS, 2)
    assert answer["provider"] == "cohere"
    assert upstream.headers_seen[-1]["authorization"] == f"Bearer {SECRET}"


def test_portkey_python_sdk_sees_errors(server: InThread, upstream: FaultServer) -> None:
    from portkey_ai import Portkey
    from portkey_ai.api_resources.exceptions import AuthenticationError as SdkAuthError

    bad = Portkey(base_url=server.url, api_key="wrong", virtual_key="co", max_retries=0)
    with pytest.raises(SdkAuthError) as info:
        bad.post("/rerank", model="rerank-v3.5", query=QUERY, documents=DOCS)
    assert info.value.status_code == 401
    assert upstream.requests == 0


async def test_portkey_async_sdk(server: InThread) -> None:
    from portkey_ai import AsyncPortkey

    client = AsyncPortkey(base_url=server.url, api_key=GATEWAY_KEY, virtual_key="co")
    response = await client.post("/rerank", model="rerank-v3.5", query=QUERY, documents=DOCS)
    assert [r["index"] for r in response.model_dump()["results"]] == expected_ranking(
        QUERY, DOCS, None
    )


async def test_this_projects_portkey_provider(server: InThread, upstream: FaultServer) -> None:
    async with RerankClient(
        "portkey", base_url=server.url, api_key=GATEWAY_KEY, virtual_key="co", max_retries=0
    ) as client:
        resp = await client.arerank(
            model="rerank-v3.5", query=QUERY, documents=DOCS, top_n=2, return_documents=True
        )
        assert [r.index for r in resp.results] == expected_ranking(QUERY, DOCS, 2)
        assert resp.results[0].document == {"text": DOCS[resp.results[0].index]}
        upstream.default = "429s"
        with pytest.raises(RateLimitError) as info:
            await client.arerank(model="rerank-v3.5", query=QUERY, documents=DOCS)
        assert info.value.status_code == 429
    bad = RerankClient("portkey", base_url=server.url, api_key="wrong", virtual_key="co")
    with bad, pytest.raises(AuthenticationError):
        bad.rerank(model="rerank-v3.5", query=QUERY, documents=DOCS)


JS = HERE / "js"


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_portkey_js_sdk(server: InThread, upstream: FaultServer) -> None:
    if not (JS / "node_modules" / "portkey-ai").is_dir():
        pytest.skip("the JS SDK is not installed (scripts/install-services.sh runs npm install)")
    out = subprocess.run(
        ["node", str(JS / "rerank.mjs")],
        env={**os.environ, "SERVER_URL": server.url, "GATEWAY_KEY": GATEWAY_KEY},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    answer = json.loads(out.stdout)
    answer = {
        k: v
        for k, v in answer.items()
        if k in RESPONSE.schema["components"]["schemas"]["CreateRerankResponse"]["properties"]
    }
    RESPONSE.validate(answer)
    assert [r["index"] for r in answer["results"]] == expected_ranking(QUERY, DOCS, 2)
    assert upstream.headers_seen[-1]["authorization"] == f"Bearer {SECRET}"


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_the_curl_sample_against_serve_with_the_example_config(upstream: FaultServer) -> None:
    """The issue's "done when": `unified-rerank serve` with the documented example config
    answers the shared document's self-hosted curl sample for cohere through a virtual key.
    The only change to the example: the virtual key's base_url points at the loopback
    stand-in for Cohere (no network here)."""
    import yaml

    from tests.server.serving import ROOT, serve_command

    config = yaml.safe_load((ROOT / "examples" / "server-config.yaml").read_text())
    config["virtual_keys"]["cohere"]["base_url"] = upstream.url
    env = {"COHERE_API_KEY": SECRET, "UNIFIED_RERANK_SERVER_KEYS": GATEWAY_KEY}
    with serve_command(config, env=env) as url:
        sample = {"model": "rerank-v3.5", "query": QUERY, "documents": DOCS, "top_n": 2}
        cmd = ["curl", "-sS", "-X", "POST", f"{url}/rerank", "-H", "Content-Type: application/json"]
        cmd += ["-H", f"x-portkey-api-key: {GATEWAY_KEY}", "-H", "x-portkey-virtual-key: cohere"]
        out = subprocess.run(
            [*cmd, "-d", json.dumps(sample)], capture_output=True, text=True, timeout=60
        )
        answer = json.loads(out.stdout)
        RESPONSE.validate(answer)
        assert [r["index"] for r in answer["results"]] == expected_ranking(QUERY, DOCS, 2)
        assert upstream.headers_seen[-1]["authorization"] == f"Bearer {SECRET}"
        refused = subprocess.run(
            [
                "curl",
                "-sS",
                "-X",
                "POST",
                f"{url}/rerank",
                "-H",
                "x-portkey-virtual-key: cohere",
                "-d",
                json.dumps(sample),
                "-w",
                "%{http_code}",
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert refused.stdout.endswith("401")
