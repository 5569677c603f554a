"""Cohere rerank deployments on Azure AI (providers.md section 6).

The endpoint is the deployment's URL: ``base_url=`` (or the ``AZURE_AI_ENDPOINT`` variable,
read by the client through ``BASE_URL_ENV``; the ``endpoint=`` client option is an alias that
wins over both). Accepted forms:

- serverless: ``https://<deployment>.<region>.models.ai.azure.com`` (host root: ``/v2/rerank``
  is appended), a base ending in ``/v1`` or ``/v2`` (``/rerank`` appended), or the full
  ``.../v1/rerank`` / ``.../v2/rerank`` URL;
- Foundry: ``https://<resource>.services.ai.azure.com/providers/cohere/v2/rerank``, a base
  ending in ``/providers/cohere/v2`` or ``/providers/cohere``, or the bare
  ``*.services.ai.azure.com`` host (``/providers/cohere/v2/rerank`` appended).

The body is Cohere's: v2 (strings only, objects rendered to text, documents back-filled) on
every URL except an explicit ``/v1/rerank``, which gets the Cohere v1 body (object documents,
``rank_fields`` and ``return_documents`` natively). A ``cohere.`` model prefix is stripped
upstream; serverless deployments ignore the model, Foundry takes the deployment name.

Auth is ``Authorization: Bearer <key>`` (documented by Microsoft for serverless deployments);
``auth_header="api-key"`` sends an ``api-key: <key>`` header instead, which is UNCONFIRMED:
seen only in third-party scripts for Foundry's ``/providers/cohere/v2/rerank``.

Unified fields Cohere on Azure has no equivalent for: ``priority`` on v1 (a scheduling hint,
dropped), ``truncation=True`` (Cohere always truncates, dropped), ``truncation=False``,
``max_tokens_per_doc`` on v1 and ``parameters`` (refused before sending).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

from ..errors import InvalidRequestError, RerankError
from ..schema import RerankRequest, RerankResponse
from . import cohere
from .base import (
    ClientConfig,
    HttpCall,
    Limits,
    RawResponse,
    checked_url,
    json_body,
    json_headers,
    standard_error,
)

SLUG = "azure-ai"
ENV_KEYS = ("AZURE_AI_API_KEY",)
BASE_URL_ENV = ("AZURE_AI_ENDPOINT",)
#: ``endpoint=``: the deployment URL (alias of base_url); ``auth_header=``: "bearer" | "api-key".
OPTIONS = frozenset({"endpoint", "auth_header"})
AUTH_HEADERS = ("bearer", "api-key")
MODEL_PREFIX = "cohere."
FOUNDRY_HOST_SUFFIX = ".services.ai.azure.com"


def limits(model: str, config: ClientConfig) -> Limits:
    # The deployments serve Cohere's models, with Cohere's per-request limit (providers.md 6).
    return Limits(max_documents=cohere.MAX_DOCUMENTS)


def endpoint_url(config: ClientConfig) -> str:
    """The full rerank URL for the configured endpoint (see the module docstring)."""
    given = config.options.get("endpoint") or config.base_url
    if not given:
        raise InvalidRequestError(
            "azure-ai needs the deployment endpoint: pass base_url=... (or endpoint=...) or "
            "set AZURE_AI_ENDPOINT",
            provider=SLUG,
        )
    if not isinstance(given, str):
        raise InvalidRequestError(
            f"azure-ai endpoint must be a URL string, got {type(given).__name__}", provider=SLUG
        )
    parts = urlsplit(checked_url(given.strip(), SLUG, "the endpoint"))
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InvalidRequestError(
            f"azure-ai endpoint must be an http(s) URL, got {given!r}", provider=SLUG
        )
    path = parts.path.rstrip("/")
    if path.endswith(("/v1/rerank", "/v2/rerank")):
        pass
    elif path.endswith(("/v1", "/v2")):
        path += "/rerank"
    elif path.endswith("/providers/cohere"):
        path += "/v2/rerank"
    elif not path and (parts.hostname or "").endswith(FOUNDRY_HOST_SUFFIX):
        path = "/providers/cohere/v2/rerank"
    else:
        path += "/v2/rerank"
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))


def is_v1(url: str) -> bool:
    return urlsplit(url).path.endswith("/v1/rerank")


def auth_header(config: ClientConfig) -> str:
    value = config.options.get("auth_header", "bearer")
    if value not in AUTH_HEADERS:
        raise InvalidRequestError(
            f"azure-ai auth_header must be one of {list(AUTH_HEADERS)}, got {value!r}",
            provider=SLUG,
        )
    return str(value)


def validate(request: RerankRequest, config: ClientConfig) -> None:
    auth_header(config)
    url = endpoint_url(config)
    cohere.check_v2(request, SLUG)
    if request.max_tokens_per_doc is not None and is_v1(url):
        raise InvalidRequestError(
            "`max_tokens_per_doc` needs Cohere's v2 API; this endpoint is /v1/rerank "
            "(use the deployment's /v2/rerank URL, or drop the argument)",
            provider=SLUG,
        )
    if is_v1(url):
        check_v1_documents(request)


def check_v1_documents(request: RerankRequest) -> None:
    """v1 object documents are ``Dict[str, str]`` (``RerankDocument`` in Cohere's SDK, cohere
    7.3 ``types/rerank_document.py``): a value of another type is refused before sending."""
    for i, doc in enumerate(request.documents):
        if isinstance(doc, str):
            continue
        for name, value in doc.items():
            if not isinstance(value, str):
                raise InvalidRequestError(
                    f"document {i} field {name!r} is a {type(value).__name__}: Cohere's v1 "
                    "rerank takes objects of strings only (convert it, or use the /v2/rerank "
                    "URL, which renders objects to text)",
                    provider=SLUG,
                )


def upstream_model(model: str) -> str:
    return model[len(MODEL_PREFIX) :] if model.startswith(MODEL_PREFIX) else model


def v1_body(request: RerankRequest) -> dict[str, Any]:
    """The Cohere v1 body (providers.md 1.3): documents as given, strings or objects (whose
    values are strings: ``validate`` refuses others)."""
    payload: dict[str, Any] = {
        "model": upstream_model(request.model),
        "query": request.query,
        "documents": [d if isinstance(d, str) else dict(d) for d in request.documents],
    }
    if request.top_n is not None:
        payload["top_n"] = min(request.top_n, len(request.documents))
    if request.rank_fields is not None:
        payload["rank_fields"] = list(request.rank_fields)
    payload["return_documents"] = request.return_documents
    return payload


def v2_body(request: RerankRequest) -> dict[str, Any]:
    payload = cohere.v2_body(request)
    payload["model"] = upstream_model(request.model)
    if request.top_n is not None:
        # Capped at the document count, as batching windows are: the same answer either way.
        payload["top_n"] = min(request.top_n, len(request.documents))
    return payload


def build(request: RerankRequest, config: ClientConfig) -> HttpCall:
    key = config.require_key()
    url = endpoint_url(config)
    auth = (
        {"api-key": key} if auth_header(config) == "api-key" else {"Authorization": f"Bearer {key}"}
    )
    payload = v1_body(request) if is_v1(url) else v2_body(request)
    return HttpCall(
        method="POST",
        url=url,
        headers=config.merged_headers(json_headers(**auth)),
        body=json_body(payload),
    )


def parse(raw: RawResponse, request: RerankRequest) -> RerankResponse:
    return cohere.parse_as(raw, request, SLUG)


def error(raw: RawResponse, request: RerankRequest) -> RerankError:
    # Cohere's {"message"} from the model; Azure's own front door (auth, throttling) answers
    # {"error": {"code", "message"}} in other Azure services: UNCONFIRMED for these deployments.
    return standard_error(
        raw, SLUG, paths=("message", "error.message", "detail"), code_paths=("error.code",)
    )
