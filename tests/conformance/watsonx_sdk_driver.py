"""Run by tests/conformance/test_watsonx_sdk.py with the ibm-watsonx-ai SDK's own interpreter
(.venv-watsonx): makes one rerank call through the SDK, every request going to the loopback
recorder, and prints the SDK's answer as JSON.

Usage: python watsonx_sdk_driver.py PORT SCENARIO_JSON
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import httpx
from ibm_watsonx_ai import APIClient, Credentials
from ibm_watsonx_ai.foundation_models import Rerank

from tests.conformance._token_sdk_wire import AsyncToLoopback, ToLoopback


def main() -> None:
    port, scenario = int(sys.argv[1]), json.loads(sys.argv[2])
    client = APIClient(
        Credentials(url=scenario["url"], api_key=scenario["api_key"]),
        project_id=scenario.get("project_id"),
        space_id=scenario.get("space_id"),
        httpx_client=httpx.Client(transport=ToLoopback(port), trust_env=False),
        async_httpx_client=httpx.AsyncClient(transport=AsyncToLoopback(port), trust_env=False),
    )
    reranker = Rerank(model_id=scenario["model_id"], api_client=client)
    answer = reranker.generate(
        query=scenario["query"], inputs=scenario["inputs"], params=scenario.get("params")
    )
    print(json.dumps(answer))


if __name__ == "__main__":
    main()
