"""``UnifiedRerank``: a LlamaIndex node postprocessor backed by ``unified_rerank.RerankClient``.

The wrapper holds no provider knowledge. It turns nodes into documents (their
``get_content(metadata_mode)``), calls the core client (natively async in
``_apostprocess_nodes``), and maps the ranking back to *new* ``NodeWithScore`` objects that
wrap the caller's own nodes (identity kept, nothing written into them). Start/End
instrumentation events are always balanced.
"""

from __future__ import annotations

import enum
import inspect
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from operator import attrgetter
from typing import TYPE_CHECKING, Any, TypeVar

from llama_index.core.bridge.pydantic import (
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    model_validator,
)
from llama_index.core.callbacks import CallbackManager, CBEventType, EventPayload
from llama_index.core.instrumentation import get_dispatcher  # type: ignore[attr-defined]
from llama_index.core.instrumentation.events.rerank import ReRankEndEvent, ReRankStartEvent
from llama_index.core.postprocessor.types import BaseNodePostprocessor
from llama_index.core.schema import BaseNode, MetadataMode, NodeWithScore, QueryBundle, TextNode

from unified_rerank import RerankClient, Reranker, RerankResponse
from unified_rerank._wrapping import ClientSlot, assign_or_restore
from unified_rerank.providers import split_model

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = ["UnifiedRerank"]

# (``get_dispatcher`` is re-exported without ``as`` by llama-index-core: hence the ignore
# on its import under mypy --strict.)
dispatcher = get_dispatcher(__name__)

#: ``provider_options`` whose name looks like a credential are kept out of the public fields
#: (and so out of ``to_dict()`` / ``to_json()`` / ``repr``), as is any ``SecretStr`` value.
_SECRET_NAME = re.compile(r"(^|_)key($|_)|secret|token|passw|credential|auth", re.I)


class _Unset(enum.Enum):
    TOKEN = 0


_UNSET = _Unset.TOKEN


F = TypeVar("F", bound=Callable[..., Any])


def _presigned(func: F) -> F:
    """``func`` with its signature computed once: LlamaIndex's span computes
    ``inspect.signature`` of the method on every call, which then is a lookup."""
    func.__signature__ = inspect.signature(func)  # type: ignore[attr-defined]
    return func


class UnifiedRerank(BaseNodePostprocessor):
    """Rerank retrieved nodes with any service unified-rerank supports.

    Examples:
        ``UnifiedRerank(model="cohere/rerank-v3.5", top_n=3)`` or
        ``UnifiedRerank(model="rerank-2.5", provider="voyage")``, then
        ``index.as_query_engine(node_postprocessors=[reranker])``.

    Args:
        model: the model id, ``"provider/model-id"`` unless ``provider`` is given.
        provider: a provider slug (``"cohere"``, ``"voyage"``, ``"jina"``, ``"bedrock"``, ...).
        top_n: nodes to keep (default 2, as LlamaIndex's own rerankers); None keeps all.
            Clamped to the number of nodes.
        api_key: the key; else read from the provider's usual environment variable. Never a
            public field: it does not appear in ``repr``, ``to_dict()`` or ``to_json()``.
        base_url, timeout, max_retries, window_size, max_concurrency, headers: passed to
            ``RerankClient`` (``headers`` are private, like the key).
        provider_options: provider-specific client options (e.g. ``{"region": "us-east-1"}``);
            credential-looking entries are kept private.
        rank_fields, max_tokens_per_doc, truncation, parameters: request options. With
            ``rank_fields``, each node is sent as ``{"text": <content>, <field>: <metadata
            value>, ...}`` so the provider ranks on those fields.
        metadata_mode: which metadata ``get_content`` puts in the text sent (default EMBED,
            as LlamaIndex's own rerankers).
        client: a ready ``RerankClient`` to use instead of building one; then none of the
            client options may be given.
    """

    # validate_assignment: ``top_n = 0`` or an unknown provider set later fails at once.
    model_config = ConfigDict(
        arbitrary_types_allowed=True, extra="forbid", validate_assignment=True
    )

    model: str = Field(description="Model id, 'provider/model-id' unless provider is set.")
    provider: str | None = Field(default=None, description="Provider slug.")
    top_n: int | None = Field(
        default=2, ge=1, strict=True, description="Nodes to keep; None keeps all."
    )
    base_url: str | None = Field(default=None, description="API root override.")
    timeout: float | None = Field(default=60.0, description="Seconds per HTTP attempt.")
    max_retries: int = Field(default=2, description="Retries for retryable errors.")
    window_size: int | None = Field(default=None, description="Documents per request.")
    max_concurrency: int = Field(default=4, description="Windows in flight for one call.")
    provider_options: dict[str, Any] = Field(
        default_factory=dict, description="Provider-specific client options (non-secret)."
    )
    rank_fields: list[str] | None = Field(
        default=None, description="Metadata fields the provider ranks on, with the text."
    )
    max_tokens_per_doc: int | None = Field(default=None, description="Per-document limit.")
    truncation: bool | None = Field(default=None, description="Provider-side truncation.")
    parameters: dict[str, Any] | None = Field(
        default=None, description="Extra provider request parameters."
    )
    metadata_mode: MetadataMode = Field(
        default=MetadataMode.EMBED, description="Metadata included in the text sent."
    )

    _injected: Reranker | None = PrivateAttr(default=None)
    _secrets: _Secrets = PrivateAttr(default_factory=lambda: _Secrets())
    _cache: ClientSlot[RerankClient] = PrivateAttr(default_factory=ClientSlot)
    _ready: bool = PrivateAttr(default=False)

    def __init__(
        self,
        model: str,
        *,
        provider: str | None = None,
        top_n: int | None = 2,
        api_key: str | SecretStr | None = None,
        base_url: str | None = None,
        timeout: float | _Unset | None = _UNSET,
        max_retries: int | None = None,
        window_size: int | None = None,
        max_concurrency: int | None = None,
        headers: Mapping[str, str] | None = None,
        provider_options: Mapping[str, Any] | None = None,
        rank_fields: list[str] | None = None,
        max_tokens_per_doc: int | None = None,
        truncation: bool | None = None,
        parameters: dict[str, Any] | None = None,
        metadata_mode: MetadataMode | str = MetadataMode.EMBED,
        client: Reranker | None = None,
        callback_manager: CallbackManager | None = None,
    ) -> None:
        options = dict(provider_options or {})
        public = {
            k: v
            for k, v in options.items()
            if not _SECRET_NAME.search(k) and not isinstance(v, SecretStr)
        }
        secrets = _Secrets(
            api_key=api_key,
            headers=headers,
            options={k: v for k, v in options.items() if k not in public},
        )
        if client is not None:
            given = {
                "api_key": api_key is not None,
                "base_url": base_url is not None,
                "timeout": timeout is not _UNSET,
                "max_retries": max_retries is not None,
                "window_size": window_size is not None,
                "max_concurrency": max_concurrency is not None,
                "headers": headers is not None,
                "provider_options": bool(options),
            }
            clash = sorted(name for name, set_ in given.items() if set_)
            if clash:
                raise ValueError(
                    f"pass either client= or client options, not both (got {clash}); "
                    "configure the RerankClient instead"
                )
            # Any Reranker works (RerankClient, Router, CachedReranker); only a RerankClient
            # has these settings to show.
            client_provider = getattr(client, "provider", None)
            if provider is not None and client_provider not in (None, provider):
                raise ValueError(
                    f"provider={provider!r} differs from the client's {client_provider!r}"
                )
            provider = provider or client_provider
            base_url = getattr(client, "base_url", None)
            timeout = getattr(client, "timeout", None)
            max_retries = getattr(client, "max_retries", 0)
            window_size = getattr(client, "window_size", None)
            max_concurrency = getattr(client, "max_concurrency", 1)
        else:
            if timeout is _UNSET:
                timeout = 60.0
            if max_retries is None:
                max_retries = 2
            if max_concurrency is None:
                max_concurrency = 4
        fields: dict[str, Any] = {
            "model": model,
            "provider": provider,
            "top_n": top_n,
            "base_url": base_url,
            "timeout": timeout,
            "max_retries": max_retries,
            "window_size": window_size,
            "max_concurrency": max_concurrency,
            "provider_options": public,
            "rank_fields": rank_fields,
            "max_tokens_per_doc": max_tokens_per_doc,
            "truncation": truncation,
            "parameters": parameters,
            "metadata_mode": metadata_mode,
        }
        if callback_manager is not None:
            fields["callback_manager"] = callback_manager
        super().__init__(**fields)
        self._secrets, self._injected = secrets, client
        self._check()
        self._ready = True

    @model_validator(mode="after")
    def _on_assignment(self) -> UnifiedRerank:
        # During __init__ the private attributes are not set yet: __init__ checks at its end.
        if (self.__pydantic_private__ or {}).get("_ready"):
            self._check()
        return self

    def _check(self) -> None:
        """Pure checks (no I/O) at construction and on every assignment: an unknown provider,
        a model without one, a bad option; a client field changed under an injected client."""
        injected = self._injected
        if injected is None:
            slug, _ = split_model(self.model, self.provider)
            # A RerankClient checks its options when built, and builds nothing else.
            RerankClient(slug, **self._client_kwargs(self._secrets))
            return
        if isinstance(injected, RerankClient):
            split_model(self.model, self.provider)
        changed = sorted(
            name
            for name in _MIRRORED
            if hasattr(injected, name) and getattr(injected, name) != getattr(self, name)
        )
        if changed:
            raise ValueError(
                f"{changed} cannot change on a reranker built with client=...; "
                "configure the client instead"
            )

    def __setattr__(self, name: str, value: Any) -> None:
        assign_or_restore(self, name, value, super().__setattr__)  # a refusal changes nothing

    @classmethod
    def class_name(cls) -> str:
        return "UnifiedRerank"

    @property
    def client(self) -> Reranker:
        """The core client the reranker calls: the injected one, or ours, built on first use
        and built again when a client field (``base_url``, ``api_key``, ...) has changed."""
        if self._injected is not None:
            return self._injected
        return self._cache.get(
            self._client_settings(),
            lambda: RerankClient(self.provider, **self._client_kwargs(self._secrets)),
        )

    @property
    def api_key(self) -> SecretStr | None:
        """The key given (never a public field: not in ``repr``, ``to_dict()``, pickles)."""
        return self._secrets.api_key

    @api_key.setter
    def api_key(self, value: str | SecretStr | None) -> None:
        if self._injected is not None:
            raise ValueError("api_key cannot change on a reranker built with client=...")
        self._secrets = self._secrets.replace(api_key=value)

    @property
    def headers(self) -> dict[str, str]:
        """Extra headers sent with every call (private, like the key)."""
        return dict(self._secrets.headers)

    @headers.setter
    def headers(self, value: Mapping[str, str] | None) -> None:
        if self._injected is not None:
            raise ValueError("headers cannot change on a reranker built with client=...")
        self._secrets = self._secrets.replace(headers=value)

    def _client_kwargs(self, secrets: _Secrets) -> dict[str, Any]:
        return {
            "api_key": secrets.api_key,
            "base_url": self.base_url,
            "timeout": self.timeout,
            "max_retries": self.max_retries,
            "headers": secrets.headers,
            "window_size": self.window_size,
            "max_concurrency": self.max_concurrency,
            **self.provider_options,
            **secrets.options,
        }

    def _client_settings(self) -> tuple[Any, ...]:
        """What the built client depends on, compared (not hashed) to spot a changed field."""
        return (self.provider, self._secrets, *self._client_kwargs(_Secrets()).values())

    def __copy__(self) -> Self:
        # model_copy() (shallow) would share the built client; a copy builds its own.
        copied = super().__copy__()
        copied._cache = ClientSlot()
        return copied

    # -- the two entry points ------------------------------------------------------------------

    @_presigned
    def _postprocess_nodes(
        self,
        nodes: list[NodeWithScore],
        query_bundle: QueryBundle | None = None,
    ) -> list[NodeWithScore]:
        query_bundle = _checked(query_bundle)
        if not nodes:
            return []  # before any event: nothing to rerank, nothing to report
        top_n = self._top_n(nodes)
        with self._reranking(nodes, query_bundle, top_n) as out:
            request = self._request(query_bundle.query_str, nodes, top_n)
            response = self.client.rerank(**request)
            out.extend(self._ranked(nodes, response))
        return out

    @dispatcher.span
    @_presigned
    async def _apostprocess_nodes(
        self,
        nodes: list[NodeWithScore],
        query_bundle: QueryBundle | None = None,
    ) -> list[NodeWithScore]:
        query_bundle = _checked(query_bundle)
        if not nodes:
            return []
        top_n = self._top_n(nodes)
        with self._reranking(nodes, query_bundle, top_n) as out:
            request = self._request(query_bundle.query_str, nodes, top_n)
            response = await self.client.arerank(**request)
            out.extend(self._ranked(nodes, response))
        return out

    # -- helpers -------------------------------------------------------------------------------

    def _top_n(self, nodes: list[NodeWithScore]) -> int:
        return len(nodes) if self.top_n is None else min(self.top_n, len(nodes))

    def _request(self, query: str, nodes: list[NodeWithScore], top_n: int) -> dict[str, Any]:
        request: dict[str, Any] = {
            "model": self.model,
            "query": query,
            "documents": self._documents(nodes),
            # top_n None means "all": send nothing, so no provider sees a needless limit.
            "top_n": None if self.top_n is None else top_n,
            "max_tokens_per_doc": self.max_tokens_per_doc,
            "rank_fields": self.rank_fields,
            "truncation": self.truncation,
            "parameters": self.parameters,
        }
        return {k: v for k, v in request.items() if v is not None}

    def _documents(self, nodes: list[NodeWithScore]) -> list[str | dict[str, Any]]:
        inner = list(map(_node_of, nodes))
        if (
            self.rank_fields is None
            and set(map(type, inner)) == _PLAIN
            and not any(map(_metadata_of, inner))
        ):
            # Plain TextNodes without metadata (the common case) are sent as their text, what
            # get_content returns for them in every mode: gathered at C speed, no call per node.
            return list(map(_text_of, inner))
        return [self._document(node) for node in inner]

    def _document(self, node: BaseNode) -> str | dict[str, Any]:
        text = node.get_content(metadata_mode=self.metadata_mode)
        if self.rank_fields is None:
            return text
        picked = {
            f: v if isinstance(v, str) else str(v)
            for f in self.rank_fields
            if f != "text" and (v := node.metadata.get(f)) is not None
        }
        return {**picked, "text": text}

    def _ranked(self, nodes: list[NodeWithScore], response: RerankResponse) -> list[NodeWithScore]:
        # The LlamaIndex convention: a new NodeWithScore around the same node, the score on it
        # and nowhere else (writing it into node metadata would leak it into prompts).
        return [
            NodeWithScore(node=nodes[r.index].node, score=r.relevance_score)
            for r in response.results
        ]

    @contextmanager
    def _reranking(
        self, nodes: list[NodeWithScore], query_bundle: QueryBundle, top_n: int
    ) -> Iterator[list[NodeWithScore]]:
        """Start event, callback event, then End event however the body exits."""
        dispatcher.event(
            ReRankStartEvent(query=query_bundle, nodes=nodes, top_n=top_n, model_name=self.model)
        )
        done: list[NodeWithScore] = []
        out: list[NodeWithScore] = []
        try:
            with self.callback_manager.event(
                CBEventType.RERANKING,
                payload={
                    EventPayload.NODES: nodes,
                    EventPayload.MODEL_NAME: self.model,
                    EventPayload.QUERY_STR: query_bundle.query_str,
                    EventPayload.TOP_K: top_n,
                },
            ) as event:
                yield out
                event.on_end(payload={EventPayload.NODES: out})
            done = out
        finally:
            # On an error the End event carries no nodes; the exception goes on to the caller
            # (and to the span, which records it).
            dispatcher.event(ReRankEndEvent(nodes=done))

    # -- lifetime ------------------------------------------------------------------------------

    def close(self) -> None:
        """Close the connection pool of a client this reranker built (not a passed-in one)."""
        if self._cache.client is not None:
            self._cache.client.close()

    async def aclose(self) -> None:
        if self._cache.client is not None:
            await self._cache.client.aclose()


#: Fields shown from an injected client, which must then not change.
_MIRRORED = ("provider", "base_url", "timeout", "max_retries", "window_size", "max_concurrency")


class _Secrets:
    """The key, headers and credential options: kept out of the fields (and so of
    ``to_dict()``, ``repr`` and pickles: this refuses to be pickled, and LlamaIndex drops what
    cannot be). Never changed in place: a change makes a new one."""

    __slots__ = ("api_key", "headers", "options")

    def __init__(
        self,
        *,
        api_key: str | SecretStr | None = None,
        headers: Mapping[str, str] | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> None:
        self.api_key = SecretStr(api_key) if isinstance(api_key, str) else api_key
        self.headers = dict(headers or {})
        self.options = dict(options or {})

    def replace(self, **changes: Any) -> _Secrets:
        current = {"api_key": self.api_key, "headers": self.headers, "options": self.options}
        return _Secrets(**{**current, **changes})

    def _values(self) -> tuple[Any, ...]:
        return (self.api_key, self.headers, self.options)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Secrets) and self._values() == other._values()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return "_Secrets(...)"

    def __deepcopy__(self, memo: dict[int, Any]) -> _Secrets:
        return self  # never changed in place: a copy of a reranker may share it

    def __reduce__(self) -> Any:
        raise TypeError("credentials are not pickled")


_PLAIN = {TextNode}
_node_of = attrgetter("node")
_metadata_of = attrgetter("metadata")
_text_of = attrgetter("text")


def _checked(query_bundle: QueryBundle | None) -> QueryBundle:
    if query_bundle is None:
        raise ValueError("Missing query bundle in extra info.")
    return query_bundle
