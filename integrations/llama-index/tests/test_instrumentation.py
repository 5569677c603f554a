"""Instrumentation events, spans and legacy callbacks of UnifiedRerank."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Any

import pytest
from llama_index.core.callbacks import CallbackManager, CBEventType, EventPayload, LlamaDebugHandler
from llama_index.core.instrumentation import get_dispatcher
from llama_index.core.instrumentation.event_handlers import BaseEventHandler
from llama_index.core.instrumentation.events import BaseEvent
from llama_index.core.instrumentation.events.rerank import ReRankEndEvent, ReRankStartEvent
from llama_index.core.instrumentation.span import SimpleSpan
from llama_index.core.instrumentation.span_handlers import BaseSpanHandler
from llama_index.core.schema import NodeWithScore, QueryBundle
from llama_index.postprocessor.unified_rerank import UnifiedRerank

from tests.support.cassettes import cassette, key
from tests.support.loopback import Answer, Loopback
from unified_rerank import ProviderError

QUERY = "What is the capital of France?"


class Collector(BaseEventHandler):
    events: list[BaseEvent] = []

    @classmethod
    def class_name(cls) -> str:
        return "Collector"

    def handle(self, event: BaseEvent, **kwargs: Any) -> None:
        if isinstance(event, (ReRankStartEvent, ReRankEndEvent)):
            self.events.append(event)

    def kinds(self) -> list[str]:
        return [type(e).__name__ for e in self.events]


@pytest.fixture
def collector() -> Iterator[Collector]:
    root = get_dispatcher()
    handler = Collector(events=[])
    root.add_event_handler(handler)
    try:
        yield handler
    finally:
        root.event_handlers.remove(handler)


def cohere(**kwargs: Any) -> UnifiedRerank:
    options: dict[str, Any] = {"api_key": key("COHERE_API_KEY"), "max_retries": 0}
    options.update(kwargs)
    return UnifiedRerank("rerank-v3.5", provider="cohere", **options)


async def test_start_and_end_events_sync_and_async(
    nodes: list[NodeWithScore], collector: Collector
) -> None:
    r = cohere()
    with cassette("llama-index", "rerank_nodes"):
        out = r.postprocess_nodes(nodes, query_str=QUERY)
    with cassette("llama-index", "rerank_nodes"):
        aout = await r.apostprocess_nodes(nodes, query_bundle=QueryBundle(QUERY))
    assert collector.kinds() == ["ReRankStartEvent", "ReRankEndEvent"] * 2
    start, end, astart, aend = collector.events
    assert isinstance(start, ReRankStartEvent) and isinstance(end, ReRankEndEvent)
    assert start.model_name == "rerank-v3.5" and start.top_n == 2 and start.nodes == nodes
    assert isinstance(start.query, QueryBundle) and start.query.query_str == QUERY
    assert end.nodes == out and isinstance(aend, ReRankEndEvent) and aend.nodes == aout
    # Both paths run inside their own span (the async one is decorated explicitly).
    assert start.span_id is not None and start.span_id.startswith(
        "UnifiedRerank._postprocess_nodes-"
    )
    assert astart.span_id is not None and astart.span_id.startswith(
        "UnifiedRerank._apostprocess_nodes-"
    )
    assert end.span_id == start.span_id and aend.span_id == astart.span_id


async def test_top_n_none_reports_the_node_count(
    nodes: list[NodeWithScore], collector: Collector
) -> None:
    with cassette("llama-index", "rerank_nodes_all"):
        await cohere(top_n=None, metadata_mode="none").apostprocess_nodes(nodes, query_str=QUERY)
    start = collector.events[0]
    assert isinstance(start, ReRankStartEvent) and start.top_n == 3


async def test_empty_input_and_missing_query_emit_nothing(
    nodes: list[NodeWithScore], collector: Collector
) -> None:
    r = cohere()
    assert r.postprocess_nodes([], query_str=QUERY) == []
    assert await r.apostprocess_nodes([], query_str=QUERY) == []
    with pytest.raises(ValueError):
        r.postprocess_nodes(nodes)
    with pytest.raises(ValueError):
        await r.apostprocess_nodes(nodes)
    assert collector.events == []  # balanced: no Start without an End


async def test_errors_still_emit_the_end_event(
    nodes: list[NodeWithScore], collector: Collector, loopback: Loopback
) -> None:
    loopback.script(Answer(500, {"message": "boom"}))
    r = cohere(api_key="k", base_url=loopback.url)
    with pytest.raises(ProviderError):
        r.postprocess_nodes(nodes, query_str=QUERY)
    with pytest.raises(ProviderError):
        await r.apostprocess_nodes(nodes, query_str=QUERY)
    assert collector.kinds() == ["ReRankStartEvent", "ReRankEndEvent"] * 2
    assert all(e.nodes == [] for e in collector.events if isinstance(e, ReRankEndEvent))


async def test_reranking_callback_event(nodes: list[NodeWithScore]) -> None:
    debug = LlamaDebugHandler()
    r = cohere(callback_manager=CallbackManager([debug]))
    with cassette("llama-index", "rerank_nodes"):
        out = r.postprocess_nodes(nodes, query_str=QUERY)
    with cassette("llama-index", "rerank_nodes"):
        aout = await r.apostprocess_nodes(nodes, query_str=QUERY)
    pairs = debug.get_event_pairs(CBEventType.RERANKING)
    assert len(pairs) == 2
    for (start, end), result in zip(pairs, (out, aout), strict=True):
        assert start.payload == {
            EventPayload.NODES: nodes,
            EventPayload.MODEL_NAME: "rerank-v3.5",
            EventPayload.QUERY_STR: QUERY,
            EventPayload.TOP_K: 2,
        }
        assert end.payload == {EventPayload.NODES: result}


def test_reranking_callback_event_on_error(nodes: list[NodeWithScore], loopback: Loopback) -> None:
    loopback.script(Answer(500, {"message": "boom"}))
    debug = LlamaDebugHandler()
    r = cohere(api_key="k", base_url=loopback.url, callback_manager=CallbackManager([debug]))
    with pytest.raises(ProviderError) as info:
        r.postprocess_nodes(nodes, query_str=QUERY)
    ((_start, end),) = debug.get_event_pairs(CBEventType.RERANKING)
    assert end.payload is not None and end.payload[EventPayload.EXCEPTION] is info.value


ENTERED: list[tuple[str, dict[str, Any]]] = []


class SpanRecorder(BaseSpanHandler[SimpleSpan]):
    """Records in ``ENTERED`` what span handlers are given on entering a span."""

    @classmethod
    def class_name(cls) -> str:
        return "SpanRecorder"

    def new_span(
        self,
        id_: str,
        bound_args: inspect.BoundArguments,
        instance: Any | None = None,
        parent_span_id: str | None = None,
        tags: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> SimpleSpan:
        ENTERED.append((id_, dict(bound_args.arguments)))
        return SimpleSpan(id_=id_, parent_id=parent_span_id)

    def prepare_to_exit_span(self, *args: Any, **kwargs: Any) -> None:
        return None

    def prepare_to_drop_span(self, *args: Any, **kwargs: Any) -> None:
        return None


async def test_spans_get_the_call_arguments(nodes: list[NodeWithScore]) -> None:
    """Span handlers (tracing backends) see each call's own arguments, sync and async: the
    method signatures are computed once (see ``_presigned``), the binding on every call."""
    root = get_dispatcher()
    recorder = SpanRecorder()
    ENTERED.clear()
    root.add_span_handler(recorder)
    bundle = QueryBundle(QUERY)
    try:
        r = cohere()
        with cassette("llama-index", "rerank_nodes"):
            r.postprocess_nodes(nodes, query_bundle=bundle)
        with cassette("llama-index", "rerank_nodes"):
            await r.apostprocess_nodes(nodes, query_bundle=bundle)
    finally:
        root.span_handlers.remove(recorder)
    ours = [(i, a) for i, a in ENTERED if i.startswith("UnifiedRerank._")]
    assert [i.split("-")[0] for i, _ in ours] == [
        "UnifiedRerank._postprocess_nodes",
        "UnifiedRerank._apostprocess_nodes",
    ]
    for _, arguments in ours:
        assert arguments == {"nodes": nodes, "query_bundle": bundle}
