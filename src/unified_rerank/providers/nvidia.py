"""NVIDIA NIM rerankers (providers.md section 8): hosted API catalog or a self-hosted NIM.

- Model ids: NVIDIA's own model table (``RANKING_MODEL_TABLE`` in
  ``langchain_nvidia_ai_endpoints/_statics.py``, langchain-nvidia-ai-endpoints 1.5.0) gives each
  hosted model's id and endpoint; ``HOSTED_MODELS`` below copies those facts and
  tests/conformance/test_sdk_wire.py checks them against the installed table. With
  ``provider="nvidia"`` the client reads a leading ``nvidia/`` as the slug, so the model as the
  module sees it is resolved by one rule, hosted and self-hosted alike: a known model (by id,
  alias or bare name) gets the table's id; another name with a ``/`` is sent as given; a bare
  name gets NVIDIA's ``nvidia/`` org back, which every NIM reranker id carries
  (``model="nvidia/llama-3.2-nv-rerankqa-1b-v2"`` sends ``nvidia/llama-3.2-nv-rerankqa-1b-v2``).
- Hosted (no ``base_url``): ``POST`` to the table's endpoint (an unknown ``org/name`` model:
  ``https://ai.api.nvidia.com/v1/retrieval/{org/name with dots as underscores}/reranking``, the
  table's own pattern), with ``Authorization: Bearer`` from ``NVIDIA_API_KEY`` (required).
- Self-hosted (``base_url`` given, the NIM's root, e.g. ``http://localhost:8000``):
  ``POST {base_url}/v1/ranking`` (``/ranking`` if ``base_url`` already ends in ``/v1``), key
  optional.
- ``top_n`` is never sent: NVIDIA's client never sends ``top_k`` and a NIM refuses it with a
  400, so all passages are scored and ``finish()`` cuts to ``top_n`` client-side.
- Body: ``model``, ``query: {text}``, ``passages: [{text}]`` (objects rendered to their
  ``text`` or ``rank_fields``), ``truncate``: ``"END"`` for ``truncation=True``, ``"NONE"``
  (refuse over-long input) for ``truncation=False``, absent otherwise (the NIM's default, and
  NVIDIA's client sends it only when set).
- Scores are the model's raw ``logit`` (unbounded, may be negative), kept as they are; results
  carry no documents (back-filled from the request). No usage is reported.
- ``priority`` (a scheduling hint) is dropped; ``max_tokens_per_doc`` and ``parameters`` have
  no equivalent and are rejected before sending. No per-request passage limit is documented.
"""

from __future__ import annotations

from typing import Any

from ..errors import InvalidRequestError, RerankError
from ..schema import RerankRequest, RerankResponse
from .base import (
    ClientConfig,
    HttpCall,
    RawResponse,
    decode_ranked,
    finish,
    json_body,
    json_headers,
    render_texts,
    standard_error,
    url_path,
)

SLUG = "nvidia"
ENV_KEYS = ("NVIDIA_API_KEY",)
OPTIONS: frozenset[str] = frozenset()
HOSTED_ROOT = "https://ai.api.nvidia.com/v1/retrieval"


def validate(request: RerankRequest, config: ClientConfig) -> None:
    for name in ("max_tokens_per_doc", "parameters"):
        if getattr(request, name) is not None:
            raise InvalidRequestError(
                f"nvidia has no equivalent of `{name}`; drop the argument", provider=SLUG
            )


#: NVIDIA's hosted rerank models: id -> the endpoint's path between ``HOSTED_ROOT`` and
#: ``/reranking`` (``RANKING_MODEL_TABLE`` and ``RANKING_VLM_MODEL_TABLE``,
#: langchain-nvidia-ai-endpoints 1.5.0 ``_statics.py``).
HOSTED_MODELS = {
    "nv-rerank-qa-mistral-4b:1": "nvidia",
    "nvidia/llama-3.2-nv-rerankqa-1b-v1": "nvidia/llama-3_2-nv-rerankqa-1b-v1",
    "nvidia/llama-3.2-nv-rerankqa-1b-v2": "nvidia/llama-3_2-nv-rerankqa-1b-v2",
    "nvidia/llama-nemotron-rerank-1b-v2": "nvidia/llama-nemotron-rerank-1b-v2",
    "nvidia/llama-nemotron-rerank-vl-1b-v2": "nvidia/llama-nemotron-rerank-vl-1b-v2",
}
#: The table's aliases of those ids.
ALIASES = {"ai-rerank-qa-mistral-4b": "nv-rerank-qa-mistral-4b:1"}
ORG = "nvidia/"


def model_id(model: str) -> str:
    """The id NVIDIA expects for ``model`` (hosted or self-hosted; see the module docstring)."""
    model = ALIASES.get(model, model)
    if model in HOSTED_MODELS or "/" in model:
        return model
    return ORG + model


def hosted_url(model: str) -> str:
    """The hosted endpoint of a resolved model id (escaped: an id holding '?', '#', spaces or
    control characters stays one path, never a query or an unsendable URL)."""
    path = HOSTED_MODELS.get(model) or model.replace(".", "_")
    return f"{HOSTED_ROOT}/{url_path(path, SLUG, safe='/:')}/reranking"


def self_hosted_url(config: ClientConfig) -> str:
    root = config.root(None)
    return root + ("/ranking" if root.endswith("/v1") else "/v1/ranking")


def body(request: RerankRequest) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "model": model_id(request.model),
        "query": {"text": request.query},
        "passages": [{"text": t} for t in render_texts(request)],
    }
    if request.truncation is not None:
        payload["truncate"] = "END" if request.truncation else "NONE"
    return payload


def build(request: RerankRequest, config: ClientConfig) -> HttpCall:
    if not config.base_url:
        key: str | None = config.require_key()
        url = hosted_url(model_id(request.model))
    else:
        key = config.optional_key()
        url = self_hosted_url(config)
    own = json_headers(Authorization=f"Bearer {key}") if key else json_headers()
    return HttpCall(
        method="POST",
        url=url,
        headers=config.merged_headers(own),
        body=json_body(body(request)),
    )


def parse(raw: RawResponse, request: RerankRequest) -> RerankResponse:
    _, rankings = decode_ranked(raw, SLUG, list_key="rankings", score_key="logit")
    return finish(request, raw, rankings, provider=SLUG, score_key="logit")


def error(raw: RawResponse, request: RerankRequest) -> RerankError:
    # The keys NVIDIA's own client reads from an error body (``_format_error`` in
    # langchain-nvidia-ai-endpoints 1.5.0 ``_common.py``): ``detail``, then ``title`` /
    # ``message`` / ``error`` / ``reason``; the FastAPI form of a NIM is ``{"detail"}``.
    return standard_error(
        raw, SLUG, paths=("detail", "title", "message", "error", "reason", "error.message")
    )
