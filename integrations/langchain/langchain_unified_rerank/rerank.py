"""``UnifiedRerank``: a LangChain document compressor over the unified-rerank core client.

One class for every reranking service the core knows (``model="cohere/rerank-v3.5"``,
``"voyage/rerank-2.5"``, ``"bedrock/..."``, ...). It is thin on purpose: documents go to the core
:class:`~unified_rerank.RerankClient` (which validates, batches past provider limits, retries
with backoff and raises typed errors), and the ranking comes back as new ``Document`` objects.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from copy import deepcopy
from operator import attrgetter
from typing import TYPE_CHECKING, Any, Final

from langchain_core.callbacks import Callbacks
from langchain_core.documents import BaseDocumentCompressor, Document
from pydantic import (
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    field_validator,
    model_validator,
)

from unified_rerank import RerankClient, Reranker, RerankResponse
from unified_rerank._wrapping import ClientSlot, assign_or_restore
from unified_rerank.providers import split_model

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = ["UnifiedRerank"]

#: The metadata key the score is written to, as every LangChain reranker does.
SCORE_KEY: Final = "relevance_score"

# The core client's defaults, repeated so the fields show them.
_DEFAULT_TIMEOUT: Final = 60.0
_DEFAULT_MAX_RETRIES: Final = 2

#: Fields that configure the core client, so they cannot be combined with ``client=``.
_CLIENT_FIELDS: Final = frozenset(
    {
        "provider",
        "api_key",
        "base_url",
        "timeout",
        "max_retries",
        "headers",
        "window_size",
        "max_concurrency",
        "provider_options",
    }
)


#: Provider option names that hold credentials (bedrock ``aws_secret_access_key``, portkey
#: ``provider_api_key``, ...): their string values are wrapped in ``SecretStr``.
_SECRET_OPTION: Final = re.compile(r"secret|token|password|api_key|access_key", re.IGNORECASE)


class _Unset:
    """Marks a ``rerank()`` argument left out, so ``None`` can still mean "all" / "off"."""

    def __repr__(self) -> str:
        return "<default>"


_UNSET: Final = _Unset()

#: What :meth:`UnifiedRerank.rerank` accepts as a document.
DocumentLike = str | Document | Mapping[str, Any]


class UnifiedRerank(BaseDocumentCompressor):
    """Rerank LangChain documents with any provider unified-rerank supports.

    A drop-in for ``CohereRerank``, ``VoyageAIRerank``, ``PineconeRerank``, ``JinaRerank`` or
    ``BedrockRerank``: the same ``top_n`` (default 3) and the score in
    ``metadata["relevance_score"]``. Unlike them it keeps ``Document.id``, never mutates its
    input, is natively async, batches past the provider's per-request limit, retries 429/5xx
    with backoff and raises typed errors (never an empty list on failure).

    Scores are the provider's own and are not comparable across providers (Cohere and Voyage
    document 0-1 relevance; some self-hosted engines return raw logits).

    Example:
        .. code-block:: python

            from langchain_unified_rerank import UnifiedRerank

            reranker = UnifiedRerank(model="cohere/rerank-v3.5", top_n=3)
            docs = reranker.compress_documents(documents, "what is the capital of France?")

    The API key: pass ``api_key=...``, or leave it out and the core client reads the
    provider's usual environment variable at the first call (``COHERE_API_KEY`` or
    ``CO_API_KEY`` for Cohere, ``VOYAGE_API_KEY`` for Voyage, ...). Which variable depends on
    the provider, so this class does not read the environment itself; a missing key raises
    :class:`unified_rerank.AuthenticationError` naming the variables, before anything is sent.

    Construction makes no network call and builds no HTTP client: the core client is built
    on first use and cached on the instance.
    """

    # validate_assignment: ``top_n = 0`` or an unknown provider set later fails at once.
    model_config = ConfigDict(
        extra="forbid", arbitrary_types_allowed=True, validate_assignment=True
    )

    # -- what to call ------------------------------------------------------------------------
    model: str
    """``"provider/model-id"`` (e.g. ``"cohere/rerank-v3.5"``), or the bare model id when
    ``provider`` is given (or the ``client`` was built for one provider)."""
    provider: str | None = None
    """A provider slug (``"cohere"``, ``"voyage"``, ``"bedrock"``, ...); chosen from ``model``
    when left out."""
    top_n: int | None = Field(default=3, ge=1, strict=True)
    """How many documents to return, best first; ``None`` returns all of them. Clamped to the
    number of documents in each call."""

    # -- the core client's options (or a ready client) ---------------------------------------
    api_key: SecretStr | None = None
    """The provider's key. Never shown in ``repr``/``str``/``model_dump``. When ``None`` the core
    client reads the provider's environment variable (it depends on the provider)."""
    base_url: str | None = None
    """The API root: self-hosted engines, proxies, Azure endpoints, tests."""
    timeout: float | None = Field(default=_DEFAULT_TIMEOUT, gt=0)
    """Seconds for each HTTP attempt; ``None`` waits forever."""
    max_retries: int = Field(default=_DEFAULT_MAX_RETRIES, ge=0)
    """Retries after the first attempt, for retryable errors (429, 5xx, timeouts) only."""
    headers: dict[str, str] | None = Field(default=None, repr=False, exclude=True)
    """Extra headers sent with every call. They may carry credentials (a gateway's key), so
    they are left out of ``repr`` and ``model_dump``."""
    window_size: int | None = Field(default=None, ge=1)
    """Documents per request when a call is split (default: the provider's documented limit)."""
    max_concurrency: int | None = Field(default=None, ge=1)
    """Windows in flight at once for one split call (default: the core's)."""
    provider_options: dict[str, Any] = Field(default_factory=dict)
    """Provider-specific client options, e.g. ``{"region": "us-east-1"}`` for bedrock. Values of
    credential options (names holding ``secret``, ``token``, ``password``, ``api_key`` or
    ``access_key``, e.g. bedrock's ``aws_secret_access_key``) are kept as ``SecretStr``, which
    the core accepts, so they never show in ``repr`` or ``model_dump``."""
    client: Reranker | None = Field(default=None, exclude=True)
    """An already built core client to use instead of the options above (it is not closed by
    :meth:`close`; its owner closes it)."""

    # -- unified request options -------------------------------------------------------------
    rank_fields: list[str] | None = None
    """Rank on these fields: each document is sent as ``{"text": page_content, <field>:
    metadata[<field>], ...}`` and the provider ranks on the named fields (``"text"`` is the
    page content). ``None`` sends ``page_content`` only, as LangChain rerankers do."""
    max_tokens_per_doc: int | None = Field(default=None, ge=1)
    """Truncate each document to this many tokens (providers that support it)."""
    truncation: bool | None = None
    """Whether the provider may truncate over-long inputs (providers that support it)."""
    parameters: dict[str, Any] | None = None
    """Extra provider-specific request parameters."""
    priority: float | None = None
    """Request priority (providers that support it, e.g. Cohere 0-999)."""

    _cache: ClientSlot[RerankClient] = PrivateAttr(default_factory=ClientSlot)

    @field_validator("provider_options", mode="after")
    @classmethod
    def _hide_secret_options(cls, options: dict[str, Any]) -> dict[str, Any]:
        return {
            name: SecretStr(value)
            if isinstance(value, str) and _SECRET_OPTION.search(name)
            else value
            for name, value in options.items()
        }

    @model_validator(mode="after")
    def _check(self) -> UnifiedRerank:
        if self.client is not None:
            clash = sorted(_CLIENT_FIELDS & self.model_fields_set)
            if clash:
                raise ValueError(
                    f"pass either `client` or the client options {clash}, not both: "
                    "configure the RerankClient itself"
                )
            provider = getattr(self.client, "provider", None)
        else:
            provider = self.provider
        # Pure (no I/O): an unknown provider or a model without one fails here, with the
        # core's InvalidRequestError naming the known providers.
        if self.client is None or isinstance(self.client, RerankClient):
            slug, _ = split_model(self.model, provider)
            if self.client is None:
                # A RerankClient checks its options (names, values) when built, and builds
                # nothing else: a bad provider option fails here too.
                RerankClient(slug, **self._client_kwargs())
        return self

    def __setattr__(self, name: str, value: Any) -> None:
        assign_or_restore(self, name, value, super().__setattr__)  # a refusal changes nothing

    # -- the core client ---------------------------------------------------------------------

    def _client_settings(self) -> tuple[Any, ...]:
        """What the built client depends on, compared (not hashed) to spot a changed field."""
        return (
            self.provider,
            self.api_key,
            self.base_url,
            self.timeout,
            self.max_retries,
            dict(self.headers or {}),
            self.window_size,
            self.max_concurrency,
            dict(self.provider_options),
        )

    def _rerank_client(self) -> Reranker:
        """The injected client, or ours: built on first use, then cached (and built again
        if a client field was changed since)."""
        if self.client is not None:
            return self.client
        return self._cache.get(
            self._client_settings(), lambda: RerankClient(self.provider, **self._client_kwargs())
        )

    def _client_kwargs(self) -> dict[str, Any]:
        options: dict[str, Any] = dict(self.provider_options)
        if self.max_concurrency is not None:
            options["max_concurrency"] = self.max_concurrency
        return {
            "api_key": self.api_key,
            "base_url": self.base_url,
            "timeout": self.timeout,
            "max_retries": self.max_retries,
            "headers": self.headers,
            "window_size": self.window_size,
            **options,
        }

    def __copy__(self) -> Self:
        # model_copy() (shallow) would share the cache; a copy gets its own client instead.
        copied = super().__copy__()
        copied._cache = ClientSlot()
        return copied

    def close(self) -> None:
        """Close the HTTP connections of the client this instance built (not an injected one)."""
        if self._cache.client is not None:
            self._cache.client.close()

    async def aclose(self) -> None:
        """Async :meth:`close`."""
        if self._cache.client is not None:
            await self._cache.client.aclose()

    # -- requests ----------------------------------------------------------------------------

    def _request(
        self, documents: Sequence[DocumentLike], query: str, overrides: dict[str, Any]
    ) -> dict[str, Any]:
        """The core ``rerank`` arguments: the instance's options, then the per-call ones."""
        options: dict[str, Any] = {
            "top_n": self.top_n,
            "rank_fields": self.rank_fields,
            "max_tokens_per_doc": self.max_tokens_per_doc,
            "truncation": self.truncation,
            "parameters": self.parameters,
            "priority": self.priority,
        }
        options.update({k: v for k, v in overrides.items() if not isinstance(v, _Unset)})
        n = options["top_n"]
        if n is not None and not isinstance(n, bool) and isinstance(n, int) and n >= 1:
            # Clamp: some providers (Bedrock) answer 400 when top_n exceeds the documents.
            # Anything else is left for the core to reject with InvalidRequestError.
            options["top_n"] = min(n, len(documents))
        return {
            "model": self.model,
            "query": query,
            "documents": _to_inputs(documents, options["rank_fields"]),
            **options,
        }

    def rerank(
        self,
        documents: Sequence[DocumentLike],
        query: str,
        *,
        top_n: int | _Unset | None = _UNSET,
        rank_fields: list[str] | _Unset | None = _UNSET,
        max_tokens_per_doc: int | _Unset | None = _UNSET,
        truncation: bool | _Unset | None = _UNSET,
        parameters: dict[str, Any] | _Unset | None = _UNSET,
        priority: float | _Unset | None = _UNSET,
    ) -> list[dict[str, Any]]:
        """Rank ``documents`` for ``query``: ``[{"index", "relevance_score"}]``, best first.

        Like ``CohereRerank.rerank``. Documents may be strings, LangChain ``Document``s or
        objects with a ``text`` field. Every option left out takes the instance's value;
        ``top_n=None`` returns all documents. An empty list returns ``[]`` without a call.
        """
        if not documents:
            return []
        request = self._request(
            documents,
            query,
            {
                "top_n": top_n,
                "rank_fields": rank_fields,
                "max_tokens_per_doc": max_tokens_per_doc,
                "truncation": truncation,
                "parameters": parameters,
                "priority": priority,
            },
        )
        return _results(self._rerank_client().rerank(**request))

    async def arerank(
        self,
        documents: Sequence[DocumentLike],
        query: str,
        *,
        top_n: int | _Unset | None = _UNSET,
        rank_fields: list[str] | _Unset | None = _UNSET,
        max_tokens_per_doc: int | _Unset | None = _UNSET,
        truncation: bool | _Unset | None = _UNSET,
        parameters: dict[str, Any] | _Unset | None = _UNSET,
        priority: float | _Unset | None = _UNSET,
    ) -> list[dict[str, Any]]:
        """The same as :meth:`rerank`, natively async (no thread hop)."""
        if not documents:
            return []
        request = self._request(
            documents,
            query,
            {
                "top_n": top_n,
                "rank_fields": rank_fields,
                "max_tokens_per_doc": max_tokens_per_doc,
                "truncation": truncation,
                "parameters": parameters,
                "priority": priority,
            },
        )
        return _results(await self._rerank_client().arerank(**request))

    # -- BaseDocumentCompressor --------------------------------------------------------------

    def compress_documents(
        self,
        documents: Sequence[Document],
        query: str,
        callbacks: Callbacks | None = None,
    ) -> Sequence[Document]:
        """The ``top_n`` most relevant documents, best first, as new ``Document``s.

        Each keeps its ``id`` and metadata, with ``metadata["relevance_score"]`` set (last, so
        it wins over an older score). The input documents are not changed. ``callbacks`` is
        accepted for the interface and not used.
        """
        docs = list(documents)
        if not docs:
            return []
        return _ranked(docs, self.rerank(docs, query))

    async def acompress_documents(
        self,
        documents: Sequence[Document],
        query: str,
        callbacks: Callbacks | None = None,
    ) -> Sequence[Document]:
        """The same as :meth:`compress_documents`, natively async (no thread hop)."""
        docs = list(documents)
        if not docs:
            return []
        return _ranked(docs, await self.arerank(docs, query))


def _to_input(doc: DocumentLike, rank_fields: list[str] | None) -> str | dict[str, Any]:
    """One document as the core takes it: the text, or an object when ranking on fields."""
    if isinstance(doc, Document):
        if rank_fields is None:
            return doc.page_content
        obj: dict[str, Any] = {"text": doc.page_content}
        # Only the named fields go to the provider; a missing one is reported by the core
        # (InvalidRequestError naming the document) before anything is sent.
        for name in rank_fields:
            if name != "text" and name in doc.metadata:
                obj[name] = doc.metadata[name]
        return obj
    if isinstance(doc, str):
        return doc
    return dict(doc)


def _results(response: RerankResponse) -> list[dict[str, Any]]:
    return [{"index": r.index, "relevance_score": r.relevance_score} for r in response.results]


def _ranked(docs: list[Document], results: list[dict[str, Any]]) -> list[Document]:
    out = []
    for hit in results:
        doc = docs[hit["index"]]
        metadata = _copied(doc.metadata)
        metadata.pop(SCORE_KEY, None)
        metadata[SCORE_KEY] = hit["relevance_score"]  # last, so it wins over an older score
        out.append(doc.model_copy(update={"metadata": metadata}))
    return out


#: Values a deep copy returns as they are (immutable, holding nothing mutable).
_ATOMIC = frozenset({str, int, float, bool, type(None), bytes})


def _copied(metadata: dict[str, Any]) -> dict[str, Any]:
    """A deep copy of ``metadata``; a flat one of atomic values (the usual case) is copied at
    C speed, since a deep copy would return those values unchanged anyway."""
    if set(map(type, metadata.values())) <= _ATOMIC:
        return dict(metadata)
    return {k: deepcopy(v) for k, v in metadata.items()}


_page_content = attrgetter("page_content")


def _to_inputs(documents: Sequence[DocumentLike], rank_fields: list[str] | None) -> list[Any]:
    """The documents as the core takes them; plain ``Document``s ranked on their text (the
    usual case) at C speed."""
    if rank_fields is None and set(map(type, documents)) == {Document}:
        return list(map(_page_content, documents))
    return [_to_input(d, rank_fields) for d in documents]
