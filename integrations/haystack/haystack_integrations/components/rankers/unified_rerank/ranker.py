"""``UnifiedRanker``: a Haystack ranker component over the unified-rerank core client.

One component for every reranking service the core knows (``model="cohere/rerank-v3.5"``,
``"voyage/rerank-2.5"``, ``"bedrock/..."``, ``"local/bm25"``, ...). It is thin on purpose:
documents go to the core :class:`~unified_rerank.RerankClient` (which validates, splits past
provider limits, retries with backoff and raises typed errors) and the ranking comes back as
new ``Document`` objects carrying the score.
"""

# No ``from __future__ import annotations``: Haystack 2.x reads ``run``'s annotations at
# class creation to build the input and output sockets, and needs real types there.

import copy
import dataclasses
import re
from collections.abc import Mapping
from typing import Any, Final

from haystack import Document, component, default_from_dict, default_to_dict
from haystack.core.errors import SerializationError
from haystack.utils import Secret, deserialize_secrets_inplace

from unified_rerank import InvalidRequestError, RerankClient, Reranker, RerankResponse
from unified_rerank.providers import get_provider, split_model

__all__ = ["UnifiedRanker"]

#: Haystack's provider rankers return 10 documents unless told otherwise (CohereRanker,
#: JinaRanker, ...).
DEFAULT_TOP_K: Final = 10

# The core client's defaults, repeated so the signature and ``to_dict()`` show them.
_DEFAULT_TIMEOUT: Final = 60.0
_DEFAULT_MAX_RETRIES: Final = 2

#: Provider option names that hold credentials (bedrock ``aws_secret_access_key``, portkey
#: ``provider_api_key``, ...): their values must be ``Secret``s, so ``to_dict()`` never holds one.
_SECRET_OPTION: Final = re.compile(r"secret|token|password|api_key|access_key", re.IGNORECASE)

#: For providers whose API ranks on named fields of object documents (the core's
#: ``Provider.ranks_fields``), the meta fields go as object fields with the unified
#: ``rank_fields``; every other provider takes strings only, so the fields are rendered into the
#: text the way Haystack's own rankers do (tests/test_ranker.py checks the flag against each
#: provider's request builder). A Portkey gateway passes objects on, but how it hands them to
#: each upstream is not documented: strings work with every upstream.


@component
class UnifiedRanker:
    """Ranks Documents by their relevance to the query with any service unified-rerank supports.

    Usage example:
    ```python
    from haystack import Document
    from haystack_integrations.components.rankers.unified_rerank import UnifiedRanker

    ranker = UnifiedRanker(model="cohere/rerank-v3.5", top_k=2)  # key from COHERE_API_KEY
    docs = [Document(content="Paris"), Document(content="Berlin")]
    result = ranker.run(query="What is the capital of Germany?", documents=docs)
    result["documents"]  # new Documents, best first, with `score` set
    ```
    """

    def __init__(
        self,
        model: str,
        *,
        provider: str | None = None,
        top_k: int | None = DEFAULT_TOP_K,
        api_key: Secret | None = None,
        base_url: str | None = None,
        timeout: float | None = _DEFAULT_TIMEOUT,
        max_retries: int = _DEFAULT_MAX_RETRIES,
        window_size: int | None = None,
        max_concurrency: int | None = None,
        provider_options: Mapping[str, Any] | None = None,
        meta_fields_to_embed: list[str] | None = None,
        meta_data_separator: str = "\n",
        max_tokens_per_doc: int | None = None,
        truncation: bool | None = None,
        parameters: dict[str, Any] | None = None,
        priority: float | None = None,
        client: Reranker | None = None,
    ) -> None:
        """Creates a ``UnifiedRanker``; nothing is sent and no HTTP client is built.

        :param model: ``"provider/model-id"`` (e.g. ``"cohere/rerank-v3.5"``), or the bare model
            id when ``provider`` is given (or ``client`` was built for one provider).
        :param provider: a provider slug (``"cohere"``, ``"voyage"``, ``"bedrock"``, ...).
        :param top_k: documents to return, best first (default 10); ``None`` returns all.
            Clamped to the number of documents.
        :param api_key: the provider's key as a ``Secret``. Defaults to
            ``Secret.from_env_var(<the provider's usual variables>, strict=False)``; when none of
            them is set the core raises ``unified_rerank.AuthenticationError`` naming them, at
            the first call.
        :param base_url: the API root: self-hosted engines, proxies, Azure endpoints.
        :param timeout: seconds for each HTTP attempt; ``None`` waits forever.
        :param max_retries: retries after the first attempt, for retryable errors only.
        :param window_size: documents per request when a call is split (default: the
            provider's documented limit).
        :param max_concurrency: windows in flight at once for one split call.
        :param provider_options: provider-specific client options, e.g. ``{"region":
            "us-east-1"}`` for bedrock. Credential options (``aws_secret_access_key``,
            ``provider_api_key``, ...) must be ``Secret``s.
        :param meta_fields_to_embed: meta fields ranked with the content. Sent as the unified
            ``rank_fields`` to providers that rank named fields; rendered into the text
            otherwise (the values, then the content, joined by ``meta_data_separator``, as
            Haystack's rankers do).
        :param meta_data_separator: the separator of that rendering.
        :param max_tokens_per_doc: truncate each document to this many tokens (where supported).
        :param truncation: whether the provider may truncate long inputs (where supported).
        :param parameters: extra provider-specific request parameters.
        :param priority: request priority (where supported, e.g. Cohere).
        :param client: a ready ``unified_rerank.Reranker`` (``RerankClient``, ``Router``,
            ``CachedReranker``) instead of the client options above. Such a ranker cannot be
            serialized.
        :raises ValueError: ``client`` combined with client options, or a credential option
            that is not a ``Secret``.
        :raises unified_rerank.InvalidRequestError: an unknown provider, a model without one, or
            ``top_k`` below 1.
        """
        options = dict(provider_options or {})
        if client is not None:
            given = {
                "provider": provider is not None,
                "api_key": api_key is not None,
                "base_url": base_url is not None,
                "timeout": timeout != _DEFAULT_TIMEOUT,
                "max_retries": max_retries != _DEFAULT_MAX_RETRIES,
                "window_size": window_size is not None,
                "max_concurrency": max_concurrency is not None,
                "provider_options": bool(options),
            }
            clash = sorted(name for name, set_ in given.items() if set_)
            if clash:
                raise ValueError(
                    f"pass either client= or the client options {clash}, not both: "
                    "configure the client itself"
                )
        plain = sorted(
            name
            for name, value in options.items()
            if _SECRET_OPTION.search(name) and not isinstance(value, Secret)
        )
        if plain:
            raise ValueError(
                f"provider options {plain} hold credentials: pass them as haystack Secrets "
                "(Secret.from_env_var(...)), so they never appear in to_dict()"
            )
        _check_top_k(top_k)
        slug = _slug(model, provider, client)
        if api_key is None and client is None and slug is not None:
            env_keys = list(get_provider(slug).env_keys)
            if env_keys:
                # strict=False: an unset variable resolves to None and the core then reports
                # the missing key (AuthenticationError naming the variables) at the first call.
                api_key = Secret.from_env_var(env_keys, strict=False)

        self.model = model
        self.provider = provider
        self.top_k = top_k
        self.api_key = api_key
        self.base_url = base_url
        self.timeout = timeout
        self.max_retries = max_retries
        self.window_size = window_size
        self.max_concurrency = max_concurrency
        self.provider_options = options
        self.meta_fields_to_embed = list(meta_fields_to_embed or [])
        self.meta_data_separator = meta_data_separator
        self.max_tokens_per_doc = max_tokens_per_doc
        self.truncation = truncation
        self.parameters = parameters
        self.priority = priority
        self.client = client
        self._built: RerankClient | None = None
        self._built_with: tuple[Any, ...] | None = None

    # -- serialization ---------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The component as a dictionary: secrets appear as the variables they are read from.

        :raises haystack.core.errors.SerializationError: the ranker wraps a ready ``client``.
        :raises ValueError: a token ``Secret`` (``Secret.from_token``), which Haystack never
            serializes.
        """
        if self.client is not None:
            raise SerializationError(
                "a UnifiedRanker built with client= cannot be serialized: build it from "
                "model and the client options instead"
            )
        return default_to_dict(
            self,
            model=self.model,
            provider=self.provider,
            top_k=self.top_k,
            api_key=self.api_key.to_dict() if self.api_key is not None else None,
            base_url=self.base_url,
            timeout=self.timeout,
            max_retries=self.max_retries,
            window_size=self.window_size,
            max_concurrency=self.max_concurrency,
            provider_options={
                name: value.to_dict() if isinstance(value, Secret) else value
                for name, value in self.provider_options.items()
            },
            meta_fields_to_embed=self.meta_fields_to_embed,
            meta_data_separator=self.meta_data_separator,
            max_tokens_per_doc=self.max_tokens_per_doc,
            truncation=self.truncation,
            parameters=self.parameters,
            priority=self.priority,
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "UnifiedRanker":
        """A ranker from :meth:`to_dict`'s output (``data`` is left as it is)."""
        data = copy.deepcopy(data)
        init = data.setdefault("init_parameters", {})
        deserialize_secrets_inplace(init, keys=["api_key"])
        options = init.get("provider_options")
        if options:
            init["provider_options"] = {
                name: Secret.from_dict(value)
                if _SECRET_OPTION.search(name) and isinstance(value, dict)
                else value
                for name, value in options.items()
            }
        return default_from_dict(cls, data)

    # -- the core client -------------------------------------------------------------------

    def warm_up(self) -> None:
        """Builds the core client (no network: connections open at the first call)."""
        self._reranker()

    def _settings(self) -> tuple[Any, ...]:
        """What the built client depends on; compared at each call, so a changed attribute
        (or a newly set key variable) builds a new client."""
        return (
            self.provider,
            self.api_key.resolve_value() if self.api_key is not None else None,
            self.base_url,
            self.timeout,
            self.max_retries,
            self.window_size,
            self.max_concurrency,
            {
                name: value.resolve_value() if isinstance(value, Secret) else value
                for name, value in self.provider_options.items()
            },
        )

    def _reranker(self) -> Reranker:
        if self.client is not None:
            return self.client
        settings = self._settings()
        if self._built is None or self._built_with != settings:
            provider, api_key, base_url, timeout, max_retries, window_size, concurrency, options = (
                settings
            )
            if concurrency is not None:
                options = {**options, "max_concurrency": concurrency}
            self._built = RerankClient(
                provider,
                api_key=api_key,
                base_url=base_url,
                timeout=timeout,
                max_retries=max_retries,
                window_size=window_size,
                **options,
            )
            self._built_with = settings
        return self._built

    def close(self) -> None:
        """Closes the connections of the client this ranker built (not an injected one)."""
        if self._built is not None:
            self._built.close()

    async def aclose(self) -> None:
        """Async :meth:`close`."""
        if self._built is not None:
            await self._built.aclose()

    # -- running ---------------------------------------------------------------------------

    @component.output_types(documents=list[Document])
    def run(
        self, query: str, documents: list[Document], top_k: int | None = None
    ) -> dict[str, list[Document]]:
        """Ranks ``documents`` by relevance to ``query``.

        :param query: the query.
        :param documents: the documents to rank; they are not changed.
        :param top_k: documents to return; ``None`` uses the component's ``top_k``.
        :returns: ``{"documents": [...]}``: new Documents, best first, each with its id,
            content and meta and the provider's relevance score in ``score``.
        :raises unified_rerank.RerankError: the core's typed errors (bad input before any
            call, authentication, rate limits, provider failures, timeouts).
        """
        if not documents:
            return {"documents": []}
        reranker = self._reranker()
        response = reranker.rerank(**self._request(reranker, query, documents, top_k))
        return {"documents": _ranked(documents, response)}

    @component.output_types(documents=list[Document])
    async def run_async(
        self, query: str, documents: list[Document], top_k: int | None = None
    ) -> dict[str, list[Document]]:
        """The same as :meth:`run`, natively async (the core's ``arerank``, no thread)."""
        if not documents:
            return {"documents": []}
        reranker = self._reranker()
        response = await reranker.arerank(**self._request(reranker, query, documents, top_k))
        return {"documents": _ranked(documents, response)}

    def _request(
        self,
        reranker: Reranker,
        query: str,
        documents: list[Document],
        top_k: int | None,
    ) -> dict[str, Any]:
        """The core ``rerank`` arguments for one call."""
        _check_top_k(top_k)
        wanted = self.top_k if top_k is None else top_k
        inputs, rank_fields = self._inputs(documents, _slug(self.model, self.provider, reranker))
        request: dict[str, Any] = {
            "model": self.model,
            "query": query,
            "documents": inputs,
            # Clamped: some providers (Bedrock) answer 400 when top_n exceeds the documents.
            "top_n": None if wanted is None else min(wanted, len(documents)),
            "rank_fields": rank_fields,
            "max_tokens_per_doc": self.max_tokens_per_doc,
            "truncation": self.truncation,
            "parameters": self.parameters,
            "priority": self.priority,
        }
        return {name: value for name, value in request.items() if value is not None}

    def _inputs(
        self, documents: list[Document], slug: str | None
    ) -> tuple[list[Any], list[str] | None]:
        """The documents as the core takes them, and the ``rank_fields`` to send."""
        fields = self.meta_fields_to_embed
        if not fields:
            return [doc.content or "" for doc in documents], None
        if _ranks_fields(slug) and "text" not in fields:
            # Only fields some document has (as Haystack's rankers skip missing ones); a
            # document without one sends it empty, since the fields are named per request.
            named = [f for f in fields if any(doc.meta.get(f) for doc in documents)]
            if named:
                objects = [
                    {
                        **{f: str(doc.meta[f]) if doc.meta.get(f) else "" for f in named},
                        "text": doc.content or "",
                    }
                    for doc in documents
                ]
                return objects, [*named, "text"]
        separator = self.meta_data_separator
        return [
            separator.join(
                [*(str(doc.meta[f]) for f in fields if doc.meta.get(f)), doc.content or ""]
            )
            for doc in documents
        ], None


def _check_top_k(top_k: int | None) -> None:
    if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1):
        raise InvalidRequestError(f"top_k must be an integer >= 1 or None, got {top_k!r}")


def _slug(model: str, provider: str | None, client: Reranker | None) -> str | None:
    """The provider the model goes to, if it can be told without calling anything. A client
    for one provider fixes it; a router (or a model id it resolves itself) leaves it unknown.
    An unknown provider, or a model without one, raises ``InvalidRequestError`` unless a
    ready client is given (a router's targets may name models their own way)."""
    fixed = provider if provider is not None else getattr(client, "provider", None)
    if client is None or isinstance(client, RerankClient):
        return split_model(model, fixed)[0]
    if fixed is not None:
        return str(fixed)
    try:
        return split_model(model, None)[0]
    except InvalidRequestError:
        return None


#: Values a deep copy returns as they are.
_ATOMIC: Final = frozenset({str, int, float, bool, type(None), bytes})


def _ranked(documents: list[Document], response: RerankResponse) -> list[Document]:
    """New Documents, best first, the score set; the inputs and their meta are not shared."""
    out = []
    for result in response.results:
        doc = documents[result.index]
        meta = doc.meta
        meta = dict(meta) if set(map(type, meta.values())) <= _ATOMIC else copy.deepcopy(meta)
        out.append(dataclasses.replace(doc, score=result.relevance_score, meta=meta))
    return out


def _ranks_fields(slug: str | None) -> bool:
    """Whether ``slug``'s API ranks on named fields (None: a client that picks per call)."""
    return slug is not None and get_provider(slug).ranks_fields
