"""Hypothesis strategies: unified requests, provider answers (garbage, arbitrary JSON and
near-valid ones that reach the deep parse paths), error answers and response headers."""

from __future__ import annotations

import functools
import math
from typing import Any

import httpx
from hypothesis import strategies as st

from tests.support.provider_configs import Answer, Setup
from unified_rerank.schema import RerankRequest

# --- JSON values ------------------------------------------------------------------------------

#: Numbers a JSON parser can hand back: huge integers, NaN and infinities included (the
#: parser used by the providers accepts ``NaN`` / ``Infinity`` literals).
NUMBERS = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, 1, -1, 2**63, 10**400, 0.0, -0.0, 1e308, math.nan, math.inf, -math.inf]),
)
SCALARS = st.one_of(st.none(), st.booleans(), NUMBERS, st.text(max_size=12))
JSON = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=20,
)
#: JSON a request may hold (finite numbers only: requests refuse NaN and infinities).
FINITE_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)
#: A value of a wrong or extreme kind where a number or index belongs.
_ODD_VALUES: list[Any] = [
    *(None, True, False, "", "1", "0", "1.5", "NaN", "x", " 1", "+1", "-1", "01", "1e3"),
    "\u00b2",  # superscript two: str.isdigit() is True, int() fails
    "\u0661",  # Arabic-Indic one: str.isdigit() is True, int() reads 1
    *(0, 1, -1, 3, 2**63, 10**400, 0.5, -0.0, 1e308, math.nan, math.inf, -math.inf),
    *([], [1], {}),
]
#: A value of a wrong or extreme kind where a number or index belongs.
ODD = st.sampled_from(_ODD_VALUES) | NUMBERS


#: JSON nested deeper than any parser's recursion limit (and some just below).
DEEP = st.sampled_from([50, 900, 1500, 5000, 100_000]).flatmap(
    lambda depth: st.sampled_from(
        [
            b"[" * depth + b"]" * depth,
            b'{"a":' * depth + b"1" + b"}" * depth,
            b'{"results":' + b"[" * depth + b"]" * depth + b"}",
            b'{"error":' * depth + b'"x"' + b"}" * depth,
        ]
    )
)


def dumps(value: Any) -> bytes:
    """JSON bytes, NaN/Infinity written as JS literals (a lenient server's output)."""
    import json

    return json.dumps(value, allow_nan=True).encode()


# --- headers -------------------------------------------------------------------------------

HEADER_NAMES = st.sampled_from(
    [
        "content-type",
        "x-compute-tokens",
        "x-amzn-RequestId",
        "x-amzn-ErrorType",
        "retry-after",
        "retry-after-ms",
        "x-ms-retry-after-ms",
        "x-should-retry",
        "x-request-id",
        "x-pinecone-api-version",
    ]
) | st.from_regex(r"[a-z][a-z0-9-]{0,12}", fullmatch=True)
#: Header values as bytes: what a server may send (decoded by httpx as ASCII, UTF-8 or
#: latin-1, so any byte can come back as a non-ASCII character).
HEADER_VALUES = st.one_of(
    st.binary(max_size=16).filter(lambda b: b"\r" not in b and b"\n" not in b and b"\0" not in b),
    st.sampled_from(
        [
            b"12",
            b"0",
            b"-3",
            b"1.5",
            b"nan",
            b"inf",
            b"1e400",
            b"\xb2",  # latin-1 superscript two: str.isdigit() says yes, int() says no
            b"\xc2\xb2",
            b"true",
            b"false",
            b"Wed, 21 Oct 2015 07:28:00 GMT",
            b"Fri, 31 Dec 9999 23:59:59 GMT",
            b"Mon, 99 Foo 2020 99:99:99 GMT",
            b"application/json",
            b"ThrottlingException:http://x",
            b"ValidationException",
        ]
    ),
)
#: Header values where a count belongs (latin-1 b"\xb2" and UTF-8 "\xc2\xb2" decode to a
#: superscript two, a digit to str.isdigit() but not to int()).
COUNT_VALUES = (
    st.sampled_from([b"12", b"0", b"\xb2", b"\xc2\xb2", b"-3", b"1.5", b"", b"9" * 30, b" 7"])
    | HEADER_VALUES
)
#: Response headers: the ones providers read (each present half the time, odd values
#: included), then any others.
HEADERS = st.builds(
    lambda known, other: httpx.Headers([(k.encode(), v) for k, v in [*known.items(), *other]]),
    st.fixed_dictionaries(
        {},
        optional={
            "x-compute-tokens": COUNT_VALUES,
            "x-amzn-RequestId": HEADER_VALUES,
            "x-request-id": HEADER_VALUES,
            "content-type": HEADER_VALUES,
        },
    ),
    st.lists(st.tuples(HEADER_NAMES, HEADER_VALUES), max_size=3),
)
RETRY_HEADERS = st.lists(
    st.tuples(
        st.sampled_from(["retry-after", "retry-after-ms", "x-ms-retry-after-ms"]), HEADER_VALUES
    ),
    min_size=1,
    max_size=3,
).map(lambda pairs: httpx.Headers([(k.encode(), v) for k, v in pairs]))

# --- answers -----------------------------------------------------------------------------------


def _nest(path: tuple[str, ...], items: Any, extra: dict[str, Any]) -> Any:
    if not path:
        return items
    node: Any = items
    for key in reversed(path[1:]):
        node = {key: node}
    return {**extra, path[0]: node}


def _index_value(answer: Answer, index: int) -> Any:
    return str(index) if answer.index_as == "str" else index


@st.composite
def valid_answers(
    draw: st.DrawFn, answer: Answer, request: RerankRequest
) -> tuple[Any, dict[int, float]]:
    """A well-formed answer for ``request`` and the scores it gives each document index."""
    n = len(request.documents)
    count = n if answer.index_as == "position" else draw(st.integers(request.expected_results, n))
    order = draw(st.permutations(range(n)))[:count]
    scores = draw(st.lists(st.floats(-1e6, 1e6), min_size=count, max_size=count))
    meta = draw(EXTRAS)
    if answer.index_as == "position":
        by_index = dict(zip(order, scores, strict=True))
        items: Any = [by_index[i] for i in range(n)]
    else:
        items = [
            {**draw(_item_extras(answer)), answer.index: _index_value(answer, i), answer.score: s}
            for i, s in zip(order, scores, strict=True)
        ]
    return _nest(answer.items_at, items, meta), dict(zip(order, scores, strict=True))


@functools.cache
def _item_extras(answer: Answer) -> st.SearchStrategy[dict[str, Any]]:
    """Other fields of a result (an echoed document, a title...), never its index or score."""
    names = [
        k for k in ("document", "text", "id", "title") if k not in (answer.index, answer.score)
    ]
    return st.dictionaries(st.sampled_from(names), SCALARS, max_size=1)


_COUNTS = st.fixed_dictionaries(
    {},
    optional={
        "total_tokens": ODD,
        "search_units": ODD,
        "rerank_units": ODD,
        "input_tokens": ODD,
    },
)
#: Answer-level fields providers add (usage, ids, model), with odd values at times.
EXTRAS = st.fixed_dictionaries(
    {},
    optional={
        "id": ODD,
        "request_id": ODD,
        "model": ODD,
        "model_id": ODD,
        "usage": _COUNTS | ODD,
        "meta": st.fixed_dictionaries({}, optional={"billed_units": _COUNTS, "tokens": _COUNTS})
        | ODD,
        "input_tokens": ODD,
        "input_token_count": ODD,
        "provider": st.sampled_from(["voyage", "jina", "pinecone", "bedrock", "cohere"]) | ODD,
    },
)


MUTATIONS = (
    "odd_index",
    "digits_index",
    "odd_score",
    "nonfinite_score",
    "out_of_range",
    "duplicate",
    "drop_index",
    "drop_score",
    "bool_index",
    "string_score",
    "drop_item",
    "extra_item",
    "item_not_object",
    "list_not_list",
    "wrap",
    "drop_container",
)
#: Strings of digits that are not plain ASCII decimal numbers (superscripts and a circled
#: one: str.isdigit() is True but int() fails; Arabic-Indic digits: int() reads them).
ODD_DIGITS = st.sampled_from(
    ["\u00b2", "\u2460", "\u0661", "\u00b3", "01", " 1", "+1", "1.0", "1_0", ""]
)


@st.composite
def near_valid_answers(draw: st.DrawFn, answer: Answer, request: RerankRequest) -> Any:
    """A well-formed answer with one to three things broken (a missing or mistyped index or
    score, a duplicate, an index out of range, NaN, a missing list...)."""
    body, _ = draw(valid_answers(answer, request))
    for _ in range(draw(st.integers(1, 3))):
        body = _mutate(draw, body, answer, len(request.documents), draw(st.sampled_from(MUTATIONS)))
    return body


def _items_of(body: Any, path: tuple[str, ...]) -> Any:
    node = body
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node


def _replace_items(body: Any, path: tuple[str, ...], items: Any) -> Any:
    if not path:
        return items
    if not isinstance(body, dict):
        return body
    inner = body.get(path[0])
    return {**body, path[0]: _replace_items(inner, path[1:], items)}


def _mutate(draw: st.DrawFn, body: Any, answer: Answer, n: int, how: str) -> Any:
    path = answer.items_at
    items = _items_of(body, path)
    if how == "list_not_list":
        return _replace_items(body, path, draw(JSON.filter(lambda v: not isinstance(v, list))))
    if how == "wrap":
        return {"data": body} if draw(st.booleans()) else [body]
    if how == "drop_container":
        if path and isinstance(body, dict):
            return {k: v for k, v in body.items() if k != path[0]}
        return draw(JSON)
    if not isinstance(items, list) or not items:
        return body
    items = list(items)
    at = draw(st.integers(0, len(items) - 1))
    if how == "drop_item":
        del items[at]
    elif how == "duplicate":
        items.insert(draw(st.integers(0, len(items))), items[at])
    elif how == "item_not_object":
        items[at] = draw(ODD)
    elif how == "extra_item":
        items.append(items[at] if draw(st.booleans()) else draw(JSON))
    elif answer.index_as == "position":  # a bare score list: only the scores can be off
        items[at] = draw(ODD)
    elif isinstance(items[at], dict):
        item = dict(items[at])
        if how == "drop_index":
            item.pop(answer.index, None)
        elif how == "drop_score":
            item.pop(answer.score, None)
        elif how == "odd_index":
            item[answer.index] = draw(ODD)
        elif how == "bool_index":
            item[answer.index] = draw(st.booleans())
        elif how == "out_of_range":
            bad = draw(st.sampled_from([n, n + 1, -1, 2**63, 10**30]))
            item[answer.index] = _index_value(answer, bad)
        elif how == "digits_index":
            item[answer.index] = draw(ODD_DIGITS)
        elif how == "odd_score":
            item[answer.score] = draw(ODD)
        elif how == "nonfinite_score":
            item[answer.score] = draw(st.sampled_from([math.nan, math.inf, -math.inf, 10**400]))
        elif how == "string_score":
            item[answer.score] = str(item.get(answer.score))
        items[at] = item
    return _replace_items(body, path, items)


@st.composite
def any_answer(draw: st.DrawFn, answer: Answer, request: RerankRequest) -> tuple[str, bytes]:
    """``(kind, body bytes)`` of a 2xx answer: raw bytes, arbitrary JSON, a near-valid answer
    in the provider's shape, or one in another provider's shape."""
    # Near-valid first: it reaches the deep parse paths; the others are cheap to refuse.
    kind = draw(
        st.sampled_from(["near-valid", "near-valid", "near-valid", "other-shape", "bytes", "json"])
    )
    if kind == "bytes":
        return kind, draw(st.binary(max_size=64) | DEEP)
    if kind == "json":
        return kind, dumps(draw(JSON))
    if kind == "other-shape":
        other = draw(st.sampled_from(OTHER_SHAPES))
        return kind, dumps(
            draw(
                near_valid_answers(other, request)
                | valid_answers(other, request).map(lambda p: p[0])
            )
        )
    return kind, dumps(draw(near_valid_answers(answer, request)))


OTHER_SHAPES = (
    Answer(),
    Answer(("data",), score="score"),
    Answer(("rankings",), score="logit"),
    Answer((), score="score"),
    Answer(("output", "results")),
    Answer(("records",), index="id", score="score", index_as="str"),
    Answer(score="relevanceScore"),
    Answer(("scores",), index_as="position"),
)

# --- error answers --------------------------------------------------------------------------

ERROR_CODES = st.sampled_from(
    [
        "ThrottlingException",
        "ValidationException",
        "AccessDeniedException",
        "ModelTimeoutException",
        "ServiceQuotaExceededException",
        "InvalidApiKey",
        "Throttling.RateQuota",
        "Arrearage",
        "overloaded",
        "not_supported_error",
        "invalid_request_error",
        "RESOURCE_EXHAUSTED",
    ]
)
MESSAGES = st.text(max_size=30) | st.sampled_from(["cohere is not supported by portkey", ""])
ERROR_BODIES = st.one_of(
    st.binary(max_size=48),
    DEEP,
    JSON.map(dumps),
    st.fixed_dictionaries(
        {},
        optional={
            "message": MESSAGES | ODD,
            "Message": MESSAGES,
            "detail": MESSAGES | JSON,
            "error": st.fixed_dictionaries(
                {},
                optional={
                    "message": MESSAGES | ODD,
                    "code": ERROR_CODES | ODD,
                    "type": ERROR_CODES | ODD,
                },
            )
            | MESSAGES
            | ODD,
            "errors": st.lists(
                st.fixed_dictionaries({}, optional={"message": MESSAGES | ODD, "code": ODD}),
                max_size=2,
            )
            | ODD,
            "code": ERROR_CODES | ODD,
            "__type": ERROR_CODES.map(lambda c: "com.amazon#" + c) | ODD,
            "error_type": ERROR_CODES | ODD,
            "reason": MESSAGES | ODD,
            "status": ODD,
        },
    ).map(dumps),
)
#: Error bodies naming no provider error code: the status alone must decide the error type.
PLAIN_ERROR_BODIES = st.one_of(
    st.binary(max_size=48),
    DEEP,
    DEEP,
    JSON.map(dumps),
    st.fixed_dictionaries(
        {},
        optional={
            "message": st.text(max_size=30),
            "detail": st.text(max_size=30),
            "error": st.fixed_dictionaries({"message": st.text(max_size=30)}),
        },
    ).map(dumps),
)
PLAIN_HEADERS = (
    st.lists(
        st.tuples(HEADER_NAMES.filter(lambda k: k.lower() != "x-amzn-errortype"), HEADER_VALUES),
        max_size=5,
    ).map(lambda pairs: httpx.Headers([(k.encode(), v) for k, v in pairs]))
    | RETRY_HEADERS
)
#: Statuses: the ones with a meaning of their own three times in four, else any non-2xx.
KEY_STATUSES = (429, 401, 403, 408, 500, 503, 400, 404, 422, 498, 501, 502, 504, 529)
STATUSES = st.integers(0, 3).flatmap(
    lambda pick: (
        st.sampled_from(KEY_STATUSES)
        if pick
        else st.integers(100, 599).filter(lambda s: not 200 <= s < 300)
    )
)

# --- unified requests -----------------------------------------------------------------------

#: Text as callers write it: any code point but lone surrogates, ASCII, CJK, emoji, NUL.
NICE_TEXT = st.one_of(
    st.text(min_size=1, max_size=20),
    st.text(st.characters(codec="ascii"), min_size=1, max_size=12),
    st.sampled_from(
        [" ", "text", "日本語のテキスト", "😀" * 3, "a\x00b", "x" * 40, "\u2028", "\\"]
    ),
)
#: Text of every kind: also empty, blank, and lone surrogates (not encodable as UTF-8).
TEXT = st.one_of(
    NICE_TEXT,
    st.sampled_from(["", " ", "\t\n"]),
    st.text(st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), min_size=1, max_size=2),
)
FIELD_NAMES = st.sampled_from(["text", "title", "body", "tags", "id", ""]) | st.text(max_size=5)
#: Documents a caller may well pass: strings, objects with a text (and a title, other fields).
GOOD_DOCUMENT = st.one_of(
    NICE_TEXT,
    st.fixed_dictionaries(
        {"text": NICE_TEXT},
        optional={"title": NICE_TEXT, "body": NICE_TEXT, "n": FINITE_JSON, "": NICE_TEXT},
    ),
)
#: Anything else: objects without a text, with NaN inside, not a document at all.
BAD_DOCUMENT = st.one_of(st.dictionaries(FIELD_NAMES, TEXT | JSON, max_size=4), st.integers(), JSON)
PARAMETER_NAMES = st.sampled_from(
    [
        "raw_scores",
        "truncation_direction",
        "truncate",
        "instruction",
        "task",
        "userLabels",
        "truncate_input_tokens",
        "return_len",
        "max_chunks_per_doc",
        "top_n",
        "return_documents",
        "model",
        "kwargs",
        "max_tokens_per_doc",
        "truncate_prompt_tokens",
        "k1",
        "b",
    ]
) | st.text(max_size=6)
PARAMETER_VALUES = st.one_of(
    st.sampled_from(["left", "Right", "END", "NONE", True, False, 0, 1, 512, 0.5, "x", None]),
    FINITE_JSON,
    st.dictionaries(st.text(max_size=4), st.text(max_size=4), max_size=2),
)
#: Well-typed values of each optional request field (values may still be out of range).
GOOD_OPTIONS: dict[str, st.SearchStrategy[Any]] = {
    "top_n": st.integers(0, 9) | st.integers(1, 2**40),
    "return_documents": st.booleans(),
    "max_tokens_per_doc": st.integers(0, 4096),
    "priority": st.integers(-1, 1000) | st.floats(-1e3, 1e3),
    "rank_fields": st.lists(
        st.sampled_from(["text", "title", "body", "n"]), min_size=1, max_size=3
    ),
    "truncation": st.booleans(),
    "parameters": st.dictionaries(PARAMETER_NAMES, PARAMETER_VALUES, max_size=3),
}


def _mostly(draw: st.DrawFn, good: st.SearchStrategy[Any], bad: st.SearchStrategy[Any]) -> Any:
    """A value from ``good`` nine times in ten, else from ``bad``."""
    return draw(bad) if draw(st.integers(0, 9)) == 0 else draw(good)


@st.composite
def request_fields(draw: st.DrawFn, setup: Setup) -> dict[str, Any]:
    """Arguments of ``RerankRequest.create``: well-typed most of the time (so many requests
    get as far as ``build``), anything at times (so refusals are typed errors)."""
    count = draw(st.integers(1, 6)) if draw(st.integers(0, 19)) else 0
    docs = [draw(GOOD_DOCUMENT) for _ in range(count)]
    if docs and draw(st.integers(0, 9)) == 0:  # one odd document in a tenth of the requests
        docs[draw(st.integers(0, count - 1))] = draw(BAD_DOCUMENT | TEXT)
    fields: dict[str, Any] = {
        "model": _mostly(draw, st.sampled_from(setup.models), TEXT),
        "query": _mostly(draw, NICE_TEXT.filter(str.strip), TEXT),
        "documents": docs,
    }
    for name, good in GOOD_OPTIONS.items():
        if draw(st.integers(0, 3)) == 0:  # each option set in a quarter of the cases
            fields[name] = _mostly(draw, good, ODD)
    return fields


_VALID_DOCUMENTS = st.lists(
    st.text(max_size=12).filter(str.strip)
    | st.fixed_dictionaries({"text": st.text(min_size=1, max_size=8)}, optional={"n": FINITE_JSON}),
    min_size=1,
    max_size=6,
)


@st.composite
def valid_requests(draw: st.DrawFn, setup: Setup) -> RerankRequest:
    """A valid request for the parse properties: 1-6 documents, strings or objects."""
    return RerankRequest.create(
        model=draw(st.sampled_from(setup.models)),
        query="q",
        documents=draw(_VALID_DOCUMENTS),
        top_n=draw(st.none() | st.integers(1, 8)),
        return_documents=draw(st.booleans()),
    )


def scored_answer(answer: Answer, scores: list[float]) -> Any:
    """A well-formed answer scoring every document of a request, in ``answer``'s shape."""
    if answer.index_as == "position":
        return _nest(answer.items_at, list(scores), {})
    items = [{answer.index: _index_value(answer, i), answer.score: s} for i, s in enumerate(scores)]
    items.sort(key=lambda item: -item[answer.score])
    return _nest(answer.items_at, items, {})
