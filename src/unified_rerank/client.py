"""``RerankClient`` and the one-shot ``rerank()`` / ``arerank()``.

A call is planned without I/O (validate, pick the provider, split into windows, build every
HTTP request), so bad input or a missing key fails before anything is sent; then the
transport sends the windows, concurrently up to ``max_concurrency``, and they are merged.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr

from . import batching
from ._lifetime import Closing
from .errors import InvalidRequestError, RerankError
from .providers import get_provider, split_model
from .providers.base import ClientConfig, HttpCall, Provider, RawResponse
from .schema import Document, Reranker, RerankRequest, RerankResponse

if TYPE_CHECKING:
    import httpx

    from .observability import HooksArg
    from .transport import RetryPolicy, Transport

__all__ = ["RerankClient", "arerank", "rerank"]

#: Windows sent at once for one call past a provider's per-request limit.
DEFAULT_MAX_CONCURRENCY = 4

_CLIENT_ARGS = frozenset(
    {
        "provider",
        "api_key",
        "base_url",
        "timeout",
        "max_retries",
        "headers",
        "window_size",
        "max_concurrency",
        "http_client",
        "async_http_client",
        "hooks",
        "retry_budget",
        "retry_policy",
    }
)


#: A model string's provider, model id, config and window size (None: no limit).
_Route = tuple[Provider, str, ClientConfig, int | None]
_ROUTES_MAX = 256


@dataclass(frozen=True)
class _Plan:
    provider: Provider
    config: ClientConfig
    request: RerankRequest
    windows: list[tuple[int, RerankRequest]]
    calls: list[HttpCall]


class RerankClient(Closing):
    """A reusable client for one provider (or any, chosen by ``"provider/model"``).

    Args:
        provider: a provider slug; None to choose from each call's ``"provider/model"``.
        api_key: the key; else read from the provider's usual environment variable.
        base_url: the API root (self-hosted engines, proxies, Azure endpoints, tests).
        timeout: seconds for each HTTP attempt.
        max_retries: retries after the first attempt, for retryable errors only.
        headers: extra headers sent with every call.
        window_size: documents per request when splitting a large call (default: the
            provider's documented limit for the model).
        max_concurrency: windows in flight at once for one call.
        http_client / async_http_client: ``httpx`` clients to use instead of our own.
        hooks: callbacks for request/response/retry/error events (``observability.Hooks``).
        retry_budget: total seconds for one call, retries and waits included.
        retry_policy: a ``transport.RetryPolicy`` replacing the default (and ``max_retries``).
        **options: provider-specific options, e.g. ``region="us-east-1"`` for bedrock.
    """

    def __init__(
        self,
        provider: str | None = None,
        *,
        api_key: str | SecretStr | None = None,
        base_url: str | None = None,
        timeout: float | None = 60.0,
        max_retries: int = 2,
        headers: Mapping[str, str] | None = None,
        window_size: int | None = None,
        max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
        http_client: httpx.Client | None = None,
        async_http_client: httpx.AsyncClient | None = None,
        hooks: HooksArg = None,
        retry_budget: float | None = None,
        retry_policy: RetryPolicy | None = None,
        **options: Any,
    ) -> None:
        if not isinstance(max_retries, int) or isinstance(max_retries, bool) or max_retries < 0:
            raise InvalidRequestError(f"max_retries must be an integer >= 0, got {max_retries!r}")
        if timeout is not None and (isinstance(timeout, bool) or not timeout > 0):
            raise InvalidRequestError(f"timeout must be a positive number, got {timeout!r}")
        if window_size is not None and (
            isinstance(window_size, bool) or not isinstance(window_size, int) or window_size < 1
        ):
            raise InvalidRequestError(f"window_size must be an integer >= 1, got {window_size!r}")
        if (
            isinstance(max_concurrency, bool)
            or not isinstance(max_concurrency, int)
            or max_concurrency < 1
        ):
            raise InvalidRequestError(
                f"max_concurrency must be an integer >= 1, got {max_concurrency!r}"
            )
        if retry_budget is not None and (isinstance(retry_budget, bool) or not retry_budget > 0):
            raise InvalidRequestError(
                f"retry_budget must be a positive number of seconds, got {retry_budget!r}"
            )
        self.provider = provider
        if provider is not None:
            _check_options(get_provider(provider), options)
        self._api_key = (
            api_key if isinstance(api_key, SecretStr) or api_key is None else SecretStr(api_key)
        )
        self.base_url = base_url
        self.timeout = timeout
        self.max_retries = max_retries
        self._headers = dict(headers or {})
        self.window_size = window_size
        self.max_concurrency = max_concurrency
        self._options = dict(options)
        self._http_client = http_client
        self._async_http_client = async_http_client
        self._hooks = hooks
        self.retry_budget = retry_budget
        self._retry_policy = retry_policy
        self._configs: dict[str, ClientConfig] = {}
        self._routes: dict[str, _Route] = {}
        self._transport_obj: Transport | None = None
        self._preparing: dict[tuple[Any, str], Any] = {}  # (loop, model) -> its first call's job
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return (
            f"RerankClient(provider={self.provider!r}, base_url={self.base_url!r}, "
            f"api_key={'**********' if self._api_key else None})"
        )

    # -- planning (pure) -----------------------------------------------------------------------

    def _config(self, provider: Provider) -> ClientConfig:
        config = self._configs.get(provider.slug)
        if config is None:
            if self.provider is None:
                _check_options(provider, self._options)
            key = self._api_key
            if key is None:
                value = next((os.environ[k] for k in provider.env_keys if os.environ.get(k)), None)
                key = SecretStr(value) if value else None
            base_url = self.base_url or next(
                (os.environ[k] for k in provider.base_url_env if os.environ.get(k)), None
            )
            config = ClientConfig(
                provider=provider.slug,
                api_key=key,
                base_url=base_url,
                headers=self._headers,
                options=self._options,
                env_keys=provider.env_keys,
            )
            self._configs[provider.slug] = config
        return config

    def _route(self, model: str) -> _Route:
        """Where ``model`` goes: its provider, model id, config and window size (remembered:
        none of them changes between calls)."""
        slug, model_id = split_model(model, self.provider)
        provider = get_provider(slug)
        config = self._config(provider)
        size = self.window_size
        if size is None and provider.run_local is None:
            size = provider.limits(model_id, config).max_documents
        route = (provider, model_id, config, size)
        if len(self._routes) >= _ROUTES_MAX:
            self._routes.clear()
        self._routes[model] = route
        return route

    def _plan(self, fields: dict[str, Any]) -> _Plan:
        model = fields.get("model")
        if not isinstance(model, str) or not model:
            raise InvalidRequestError(
                "`model` must be a non-empty string such as 'cohere/rerank-v3.5'"
            )
        route = self._routes.get(model)
        if route is None:
            route = self._route(model)
        provider, fields["model"], config, size = route
        request = RerankRequest.create(**fields)
        provider.validate(request, config)
        if provider.run_local is not None:
            return _Plan(provider, config, request, [(0, request)], [])
        windows = batching.split(request, size)
        assert provider.build is not None
        calls = [provider.build(window, config) for _, window in windows]
        return _Plan(provider, config, request, windows, calls)

    def _handler(self, plan: _Plan, window: RerankRequest) -> Any:
        provider = plan.provider
        assert provider.parse is not None and provider.error is not None
        parse, error = provider.parse, provider.error
        key = plan.config.optional_key()

        def handle(raw: RawResponse) -> RerankResponse:
            if 200 <= raw.status_code < 300:
                return parse(raw, window)
            raise _without_secret(error(raw, window), key)

        return handle

    def _transport(self) -> Transport:
        if self._transport_obj is None:
            with self._lock:
                if self._transport_obj is None:
                    from .transport import Transport, make_policy  # httpx loads on first call

                    self._transport_obj = Transport(
                        timeout=self.timeout,
                        retry=make_policy(self.max_retries, self.retry_budget, self._retry_policy),
                        http_client=self._http_client,
                        async_http_client=self._async_http_client,
                        hooks=self._hooks,
                    )
        return self._transport_obj

    async def _aprepare(self, model: str) -> None:
        """A model's first call imports its provider and, for HTTP, httpx and the transport
        (~0.3 s): done in a thread, never blocking the event loop, once for all the calls
        of this loop that start together."""
        import asyncio

        loop = asyncio.get_running_loop()
        job = self._preparing.get((loop, model))
        if job is None:
            job = self._preparing[loop, model] = loop.create_task(
                asyncio.to_thread(self._prepare, model)
            )
            job.add_done_callback(lambda _: self._preparing.pop((loop, model), None))
        await asyncio.shield(job)

    def _prepare(self, model: str) -> None:
        """The one-time work of ``model``'s first call: its route and, for an HTTP provider,
        the transport (errors are left for ``_plan`` to raise where the call runs)."""
        try:
            provider = self._route(model)[0]
        except RerankError:
            return
        if provider.run_local is None:
            self._transport()

    # -- calls -----------------------------------------------------------------------------

    def rerank(
        self,
        *,
        model: str,
        query: str,
        documents: list[Document],
        top_n: int | None = None,
        return_documents: bool = False,
        max_tokens_per_doc: int | None = None,
        priority: float | None = None,
        rank_fields: list[str] | None = None,
        truncation: bool | None = None,
        parameters: dict[str, Any] | None = None,
    ) -> RerankResponse:
        """Rerank ``documents`` against ``query``; results sorted by relevance, best first."""
        plan = self._plan(_fields(locals()))
        if plan.provider.run_local is not None:
            return plan.provider.run_local(plan.request, plan.config)
        transport, slug = self._transport(), plan.provider.slug
        jobs = [
            (call, self._handler(plan, window))
            for call, (_, window) in zip(plan.calls, plan.windows, strict=True)
        ]
        if len(jobs) == 1:
            single: RerankResponse = transport.send(
                jobs[0][0], jobs[0][1], slug, request=plan.windows[0][1]
            )
            return single
        # Imported here, as asyncio in arerank: they cost ~80 ms at import time, and most
        # calls never need them (see docs/performance.md).
        from concurrent.futures import ThreadPoolExecutor, as_completed

        workers = min(self.max_concurrency, len(jobs))
        pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="unified-rerank")
        try:
            futures = [
                pool.submit(transport.send, call, handle, slug, request=window)
                for (call, handle), (_, window) in zip(jobs, plan.windows, strict=True)
            ]
            # The first failing window fails the call at once (not after the windows before
            # it): windows not started are cancelled; ones in flight finish unseen.
            for future in as_completed(futures):
                future.result()
            answers = [f.result() for f in futures]
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown(wait=False)
        return batching.merge(
            plan.request, [(w[0], a) for w, a in zip(plan.windows, answers, strict=True)]
        )

    async def arerank(
        self,
        *,
        model: str,
        query: str,
        documents: list[Document],
        top_n: int | None = None,
        return_documents: bool = False,
        max_tokens_per_doc: int | None = None,
        priority: float | None = None,
        rank_fields: list[str] | None = None,
        truncation: bool | None = None,
        parameters: dict[str, Any] | None = None,
    ) -> RerankResponse:
        """The same as :meth:`rerank`, natively async (no thread hop for HTTP providers)."""
        fields = _fields(locals())  # first: locals() must hold the arguments only
        import asyncio  # here, not at the top: see rerank()

        name = fields.get("model")
        if isinstance(name, str) and name and name not in self._routes:
            await self._aprepare(name)
        plan = self._plan(fields)

        if plan.provider.run_local is not None:
            # In-process scoring is CPU work: keep it off the event loop.
            return await asyncio.to_thread(plan.provider.run_local, plan.request, plan.config)
        transport, slug = self._transport(), plan.provider.slug
        handlers = [self._handler(plan, window) for _, window in plan.windows]
        if len(plan.calls) == 1:
            return await transport.asend(
                plan.calls[0], handlers[0], slug, request=plan.windows[0][1]
            )
        gate = asyncio.Semaphore(self.max_concurrency)

        async def one(call: HttpCall, handle: Any, window: RerankRequest) -> RerankResponse:
            async with gate:
                result: RerankResponse = await transport.asend(call, handle, slug, request=window)
                return result

        tasks = [
            asyncio.ensure_future(one(c, h, w))
            for c, h, (_, w) in zip(plan.calls, handlers, plan.windows, strict=True)
        ]
        try:
            answers = await asyncio.gather(*tasks)
        except BaseException:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise
        return batching.merge(
            plan.request, [(w[0], a) for w, a in zip(plan.windows, answers, strict=True)]
        )

    # -- lifetime --------------------------------------------------------------------------

    def close(self) -> None:
        if self._transport_obj is not None:
            self._transport_obj.close()

    async def aclose(self) -> None:
        if self._transport_obj is not None:
            await self._transport_obj.aclose()


def _fields(args: dict[str, Any]) -> dict[str, Any]:
    """The request fields of a ``rerank`` call, leaving out unset optional ones."""
    args.pop("self")
    return {k: v for k, v in args.items() if v is not None}


def _check_options(provider: Provider, options: Mapping[str, Any]) -> None:
    unknown = set(options) - provider.options
    if unknown:
        accepted = sorted(provider.options) or "none"
        raise InvalidRequestError(
            f"unknown option(s) {sorted(unknown)} for provider {provider.slug!r}; "
            f"it accepts: {accepted}",
            provider=provider.slug,
        )


# -- one-shot functions ------------------------------------------------------------------------

_SHARED: OrderedDict[tuple[Any, ...], RerankClient] = OrderedDict()
_SHARED_MAX = 8
_SHARED_LOCK = threading.Lock()


def _shared_client(client_kwargs: dict[str, Any]) -> RerankClient:
    """A pooled client for these options, so one-shot calls in a loop reuse connections."""
    try:
        key = tuple(sorted((k, _freeze(v)) for k, v in client_kwargs.items()))
        hash(key)
    except TypeError:
        return RerankClient(**client_kwargs)
    with _SHARED_LOCK:
        client = _SHARED.get(key)
        if client is None:
            client = RerankClient(**client_kwargs)
            _SHARED[key] = client
            if len(_SHARED) > _SHARED_MAX:
                _SHARED.popitem(last=False)[1].close()
        else:
            _SHARED.move_to_end(key)
        return client


def _freeze(value: Any) -> Any:
    if isinstance(value, Mapping):
        return tuple(sorted((k, _freeze(v)) for k, v in value.items()))
    if isinstance(value, SecretStr):
        return ("secret", value.get_secret_value())
    return value


def _split_kwargs(kwargs: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    request_keys = {
        "top_n",
        "return_documents",
        "max_tokens_per_doc",
        "priority",
        "rank_fields",
        "truncation",
        "parameters",
    }
    request = {k: v for k, v in kwargs.items() if k in request_keys}
    client = {k: v for k, v in kwargs.items() if k not in request_keys}
    return request, client


def _without_secret(exc: RerankError, key: str | None) -> RerankError:
    """``exc`` with the API key masked: an upstream's error body may echo the key it got."""
    if key and exc.message and key in exc.message:
        exc.message = exc.message.replace(key, "[redacted]")
        exc.args = (exc.message,)
    return exc


def _target(client: Reranker | None, options: dict[str, Any]) -> Reranker:
    """``client=`` (a RerankClient, Router, CachedReranker, ...) or a pooled client."""
    if client is None:
        return _shared_client(options)
    if options:
        raise InvalidRequestError(
            f"client options {sorted(options)} cannot be combined with client=...; "
            "configure the client instead"
        )
    return client


def rerank(
    *,
    model: str,
    query: str,
    documents: list[Document],
    client: Reranker | None = None,
    **kwargs: Any,
) -> RerankResponse:
    """One-shot rerank: request fields and any ``RerankClient`` option as keywords, or
    ``client=`` any reranker (``RerankClient``, ``routing.Router``, ``cache.CachedReranker``)."""
    request, options = _split_kwargs(kwargs)
    return _target(client, options).rerank(model=model, query=query, documents=documents, **request)


async def arerank(
    *,
    model: str,
    query: str,
    documents: list[Document],
    client: Reranker | None = None,
    **kwargs: Any,
) -> RerankResponse:
    """One-shot async rerank: as :func:`rerank`, natively async."""
    request, options = _split_kwargs(kwargs)
    return await _target(client, options).arerank(
        model=model, query=query, documents=documents, **request
    )
