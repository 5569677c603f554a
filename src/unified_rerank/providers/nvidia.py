"""NVIDIA NIM rerankers (providers.md section 8): hosted API catalog or a self-hosted NIM.

- Hosted (no ``base_url``): ``POST https://ai.api.nvidia.com/v1/retrieval/{model}/reranking``
  where ``{model}`` is the model id with dots as underscores
  (``nvidia/llama-3.2-nv-rerankqa-1b-v2`` -> ``nvidia/llama-3_2-nv-rerankqa-1b-v2``), with
  ``Authorization: Bearer`` from ``NVIDIA_API_KEY`` (required). ``top_n`` is sent as ``top_k``.
- Self-hosted (``base_url`` given, the NIM's root, e.g. ``http://localhost:8000``):
  ``POST {base_url}/v1/ranking`` (``/ranking`` if ``base_url`` already ends in ``/v1``), key
  optional. This route refuses ``top_k`` with a 400, so it is never sent: all passages are
  scored and ``finish()`` cuts to ``top_n`` client-side.
- Body: ``model``, ``query: {text}``, ``passages: [{text}]`` (objects rendered to their
  ``text`` or ``rank_fields``), ``truncate``: ``"END"`` for ``truncation=True``, ``"NONE"``
  (refuse over-long input) for ``truncation=False``, absent otherwise (the NIM's default).
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


def hosted_model(model: str) -> str:
    """Every API-catalog id is ``<org>/<name>``. With ``provider="nvidia"`` the client drops a
    leading ``nvidia/`` (it reads as the slug), so a bare name gets its ``nvidia/`` back."""
    return model if "/" in model else f"nvidia/{model}"


def hosted_url(model: str) -> str:
    return f"{HOSTED_ROOT}/{model.replace('.', '_')}/reranking"


def self_hosted_url(config: ClientConfig) -> str:
    root = config.root(None)
    return root + ("/ranking" if root.endswith("/v1") else "/v1/ranking")


def body(request: RerankRequest, *, hosted: bool) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "model": hosted_model(request.model) if hosted else request.model,
        "query": {"text": request.query},
        "passages": [{"text": t} for t in render_texts(request)],
    }
    if request.truncation is not None:
        payload["truncate"] = "END" if request.truncation else "NONE"
    if hosted and request.top_n is not None:
        payload["top_k"] = min(request.top_n, len(request.documents))
    return payload


def build(request: RerankRequest, config: ClientConfig) -> HttpCall:
    hosted = not config.base_url
    if hosted:
        key: str | None = config.require_key()
        url = hosted_url(hosted_model(request.model))
    else:
        key = config.optional_key()
        url = self_hosted_url(config)
    own = json_headers(Authorization=f"Bearer {key}") if key else json_headers()
    return HttpCall(
        method="POST",
        url=url,
        headers=config.merged_headers(own),
        body=json_body(body(request, hosted=hosted)),
    )


def parse(raw: RawResponse, request: RerankRequest) -> RerankResponse:
    _, rankings = decode_ranked(raw, SLUG, list_key="rankings", score_key="logit")
    return finish(request, raw, rankings, provider=SLUG, score_key="logit")


def error(raw: RawResponse, request: RerankRequest) -> RerankError:
    # UNCONFIRMED error bodies: NVIDIA's API catalog answers problem+json
    # ({"type", "title", "status", "detail"}); a NIM's FastAPI layer {"detail"} or {"message"}.
    return standard_error(raw, SLUG, paths=("detail", "message", "error.message", "title"))
