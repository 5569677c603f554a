"""``to_dict()`` / ``from_dict()`` and pipelines saved to YAML and loaded back: keys appear as
the variables they are read from, never as values."""

from __future__ import annotations

from copy import deepcopy
from typing import Any

import pytest
from haystack import Pipeline
from haystack.core.errors import SerializationError
from haystack.utils import Secret
from haystack_integrations.components.rankers.unified_rerank import UnifiedRanker

from tests.support.cassettes import key
from unified_rerank import RerankClient

SECRET = "sk-live-do-not-serialize-0123456789"
QUERY = "What is the capital of France?"
TYPE = "haystack_integrations.components.rankers.unified_rerank.ranker.UnifiedRanker"


def test_to_dict_defaults_name_the_provider_variables() -> None:
    data = UnifiedRanker("cohere/rerank-v3.5").to_dict()
    assert data == {
        "type": TYPE,
        "init_parameters": {
            "model": "cohere/rerank-v3.5",
            "provider": None,
            "top_k": 10,
            "api_key": {
                "type": "env_var",
                "env_vars": ["COHERE_API_KEY", "CO_API_KEY"],
                "strict": False,
            },
            "base_url": None,
            "timeout": 60.0,
            "max_retries": 2,
            "window_size": None,
            "max_concurrency": None,
            "provider_options": {},
            "meta_fields_to_embed": [],
            "meta_data_separator": "\n",
            "max_tokens_per_doc": None,
            "truncation": None,
            "parameters": None,
            "priority": None,
        },
    }


def test_round_trip_keeps_every_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_BEDROCK_SECRET", SECRET)
    ranker = UnifiedRanker(
        "arn:aws:bedrock:us-west-2::foundation-model/amazon.rerank-v1:0",
        provider="bedrock",
        top_k=None,
        api_key=Secret.from_env_var("MY_BEDROCK_TOKEN", strict=False),
        base_url="http://127.0.0.1:9",
        timeout=5.5,
        max_retries=0,
        window_size=50,
        max_concurrency=2,
        provider_options={
            "region": "us-west-2",
            "aws_access_key_id": Secret.from_env_var("MY_BEDROCK_KEY_ID"),
            "aws_secret_access_key": Secret.from_env_var("MY_BEDROCK_SECRET"),
        },
        meta_fields_to_embed=["title"],
        meta_data_separator=" / ",
        max_tokens_per_doc=256,
        truncation=True,
        parameters={"x": 1},
        priority=3,
    )
    data = ranker.to_dict()
    assert SECRET not in repr(data)
    assert data["init_parameters"]["provider_options"]["aws_secret_access_key"] == {
        "type": "env_var",
        "env_vars": ["MY_BEDROCK_SECRET"],
        "strict": True,
    }
    kept = deepcopy(data)
    again = UnifiedRanker.from_dict(data)
    assert data == kept  # from_dict leaves its input as it is
    assert again.to_dict() == data
    assert isinstance(again.api_key, Secret)
    assert again.provider_options["aws_secret_access_key"].resolve_value() == SECRET


def test_pipeline_yaml_round_trip_runs_the_same(
    monkeypatch: pytest.MonkeyPatch, pipeline_for: Any, replay: Any, pipeline_inputs: Any
) -> None:
    monkeypatch.setenv("COHERE_API_KEY", key("COHERE_API_KEY"))
    pipeline = pipeline_for(UnifiedRanker("cohere/rerank-v3.5", top_k=2, max_retries=0))
    text = pipeline.dumps()
    assert key("COHERE_API_KEY") not in text
    assert "COHERE_API_KEY" in text and TYPE in text
    loaded = Pipeline.loads(text)
    ranker = loaded.get_component("ranker")
    assert isinstance(ranker, UnifiedRanker)
    assert ranker.to_dict() == pipeline.get_component("ranker").to_dict()
    assert loaded.dumps() == text
    with replay("cohere_pipeline"):
        ranked = loaded.run(data=pipeline_inputs())["ranker"]["documents"]
    assert [(d.id, d.score) for d in ranked] == [("fr", 0.95), ("eiffel", 0.42)]


def test_token_secrets_are_never_serialized() -> None:
    ranker = UnifiedRanker("cohere/rerank-v3.5", api_key=Secret.from_token(SECRET))
    with pytest.raises(ValueError, match="Cannot serialize token-based secret"):
        ranker.to_dict()
    assert SECRET not in repr(ranker)


def test_plain_credential_options_are_refused() -> None:
    with pytest.raises(ValueError, match="aws_secret_access_key"):
        UnifiedRanker(
            "bedrock/amazon.rerank-v1:0",
            provider_options={"region": "us-east-1", "aws_secret_access_key": SECRET},
        )


def test_a_ranker_around_a_ready_client_refuses_to_serialize() -> None:
    ranker = UnifiedRanker("local/bm25", client=RerankClient("local"))
    with pytest.raises(SerializationError, match="client="):
        ranker.to_dict()
