"""The unified schema: Portkey's ``/rerank`` request and response, field for field.

``RerankResponse.model_dump(exclude_none=True)`` is exactly the Portkey response JSON.
Request validation raises :class:`~unified_rerank.errors.InvalidRequestError`, never a bare
pydantic ``ValidationError``, and always before any network call.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from itertools import repeat, starmap
from typing import Any, Literal, Protocol, TypeVar, Union, runtime_checkable

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    StrictBool,
    StrictInt,
    StrictStr,
    ValidationError,
)
from pydantic.dataclasses import dataclass as pydantic_dataclass

from .errors import InvalidRequestError

__all__ = [
    "Document",
    "RerankRequest",
    "RerankResponse",
    "RerankResult",
    "Reranker",
    "Usage",
]

#: A document: a string, or an object with a ``text`` field and any other fields.
Document = Union[str, dict[str, Any]]  # noqa: UP007 (a runtime alias on 3.10)

_TEXTS_OF = "texts_only documents"  # a __dict__ key no field can have

_REQUEST_FIELDS = (
    "model",
    "query",
    "documents",
    "top_n",
    "return_documents",
    "max_tokens_per_doc",
    "priority",
    "rank_fields",
    "truncation",
    "parameters",
)


class RerankRequest(BaseModel):
    """A validated rerank request (Portkey ``CreateRerankRequest``)."""

    # Documents' fields and ``parameters`` go on the wire as JSON: only JSON values (finite
    # numbers included) pass, so nothing fails or turns into invalid JSON after validation.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    model: StrictStr
    query: StrictStr
    documents: list[StrictStr | dict[str, JsonValue]]
    top_n: StrictInt | None = None
    return_documents: StrictBool = False
    max_tokens_per_doc: StrictInt | None = None
    priority: float | None = None
    rank_fields: list[StrictStr] | None = None
    truncation: StrictBool | None = None
    parameters: dict[str, JsonValue] | None = None

    @classmethod
    def create(cls, **fields: Any) -> RerankRequest:
        """Validate user input into a request, raising ``InvalidRequestError`` on bad input."""
        unknown = set(fields) - set(_REQUEST_FIELDS)
        if unknown:
            raise InvalidRequestError(
                f"unknown rerank argument(s) {sorted(unknown)}; "
                f"the unified request takes {list(_REQUEST_FIELDS)}"
            )
        _precheck(fields)
        docs = fields["documents"]
        try:
            if not _all_strings(docs):
                req = cls.model_validate(fields)
            elif _plain(fields):
                # The common call (strings, and options of their exact types) is built like
                # model_construct: every value was just checked to be what validation keeps.
                values = dict(_DEFAULTS)  # every field, in field order (dumps keep it)
                values.update(fields)
                values["documents"] = values[_TEXTS_OF] = list(docs)
                req = _constructed(cls, values, set(fields), None)
            else:
                # Plain strings need no per-document validation (checked at C speed above,
                # copied below): only the other fields go to pydantic.
                req = cls.model_validate({**fields, "documents": []})
                req.__dict__["documents"] = list(docs)
                req.__dict__[_TEXTS_OF] = req.documents
        except ValidationError as exc:
            raise InvalidRequestError(_describe(exc)) from None
        _check_semantics(req)
        return req

    @property
    def texts_only(self) -> bool:
        """True when every document is a string."""
        # The answer is cached like a cached_property (a non-field __dict__ key: not dumped,
        # not compared), for the documents list it was found for: a copy with other
        # documents (``model_copy(update=...)``) never inherits it.
        if self.__dict__.get(_TEXTS_OF) is self.documents:
            return True
        if _all_strings(self.documents):
            self.__dict__[_TEXTS_OF] = self.documents
            return True
        return False

    def with_documents(self, documents: list[Document], top_n: int | None) -> RerankRequest:
        """A copy for one batch window (already validated, so no re-validation)."""
        return self.model_copy(update={"documents": documents, "top_n": top_n})

    def document_object(self, index: int) -> dict[str, Any]:
        """The document at ``index`` as an object: ``{"text": s}`` for a string, else a copy."""
        doc = self.documents[index]
        return {"text": doc} if isinstance(doc, str) else dict(doc)

    @property
    def expected_results(self) -> int:
        """How many results a complete answer holds: ``top_n`` capped at the document count."""
        n = len(self.documents)
        return n if self.top_n is None else min(self.top_n, n)


#: The fields a plain call may give, each with the one type validation keeps as is.
_PLAIN_TYPES: dict[str, type] = {
    "model": str,
    "query": str,
    "documents": list,
    "top_n": int,
    "return_documents": bool,
    "max_tokens_per_doc": int,
    "truncation": bool,
}


def _plain(fields: Mapping[str, Any]) -> bool:
    """True when every field given is of exactly its plain type (no None, no subclass, no
    priority, rank_fields or parameters): what validation would keep unchanged."""
    return all(type(v) is _PLAIN_TYPES.get(k) for k, v in fields.items())


def _all_strings(docs: Sequence[Any]) -> bool:
    """True when every item is a ``str``, checked at C speed: ``str.join`` type-checks each
    item without a Python-level call, and the joined copy costs a memcpy. A ``str`` subclass
    counts as a string (it goes on the wire as its text)."""
    try:
        "".join(docs)
    except TypeError:
        return False
    return True


#: Every field in order, the optional ones at the defaults validation fills in.
_DEFAULTS = {
    name: None if field.is_required() else field.default
    for name, field in RerankRequest.model_fields.items()
}


def _precheck(fields: Mapping[str, Any]) -> None:
    """Checks whose pydantic messages would be unclear."""
    for name in ("model", "query"):
        value = fields.get(name)
        if not isinstance(value, str):
            raise InvalidRequestError(
                f"`{name}` must be a string, got {type(value).__name__}"
                if name in fields
                else f"`{name}` is required"
            )
        if not value.strip():
            raise InvalidRequestError(f"`{name}` must not be empty")
    docs = fields.get("documents")
    if isinstance(docs, (str, bytes)) or not isinstance(docs, Sequence):
        raise InvalidRequestError(
            "`documents` must be a list of strings or objects with a `text` field, got "
            f"{type(docs).__name__}"
        )
    if len(docs) == 0:
        raise InvalidRequestError("`documents` must hold at least one document")
    priority = fields.get("priority")
    if priority is not None and (
        isinstance(priority, bool)
        or not isinstance(priority, (int, float))
        or not _finite(priority)
    ):
        raise InvalidRequestError(f"`priority` must be a finite number, got {priority!r:.40}")


def _finite(value: float) -> bool:
    """``math.isfinite``, False (not OverflowError) for an integer too large for a float."""
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def _check_semantics(req: RerankRequest) -> None:
    fields = req.rank_fields
    if (
        fields is None
        and (req.top_n is None or req.top_n >= 1)
        and (req.max_tokens_per_doc is None or req.max_tokens_per_doc >= 1)
        and req.texts_only
    ):
        return  # the common case, checked at C speed: plain strings, nothing else to check
    if req.top_n is not None and req.top_n < 1:
        raise InvalidRequestError(f"`top_n` must be at least 1, got {req.top_n}")
    if req.max_tokens_per_doc is not None and req.max_tokens_per_doc < 1:
        raise InvalidRequestError(
            f"`max_tokens_per_doc` must be at least 1, got {req.max_tokens_per_doc}"
        )
    if fields is not None and (not fields or any(not f for f in fields)):
        raise InvalidRequestError("`rank_fields` must name at least one non-empty field")
    wanted = fields or ["text"]
    for i, doc in enumerate(req.documents):
        if isinstance(doc, str):
            if fields is not None and "text" not in fields:
                raise InvalidRequestError(
                    f"document {i} is a string but `rank_fields` {fields} does not include "
                    "'text'; pass objects holding those fields"
                )
            continue
        for f in wanted:
            if not isinstance(doc.get(f), str):
                raise InvalidRequestError(
                    f"document {i} needs a string `{f}` field"
                    + (" (named in `rank_fields`)" if fields else "")
                    + f"; it has fields {sorted(doc)}"
                )


def _describe(exc: ValidationError) -> str:
    errors = exc.errors()
    # A document object that failed inside also reports "not a string" (the union's other
    # branch): only the inner error says what is wrong.
    inner = {e["loc"][1] for e in errors if len(e["loc"]) > 3 and e["loc"][0] == "documents"}
    parts: list[str] = []
    for err in errors:
        loc = err["loc"]
        if len(loc) == 3 and loc[0] == "documents" and loc[1] in inner:
            continue
        path = ".".join(str(p) for p in loc if not _is_union_tag(p))
        text = f"`{path}`: {err['msg']}"
        if text not in parts:
            parts.append(text)
    shown = "; ".join(parts[:5])
    more = len(parts) - 5
    return "invalid rerank request: " + shown + (f" (+{more} more)" if more > 0 else "")


_TAGS = frozenset({"str", "int", "float", "bool", "list", "dict", "none"})


def _is_union_tag(part: str | int) -> bool:
    """pydantic names the union branch tried in an error's location; users never wrote it."""
    return isinstance(part, str) and (
        part in _TAGS or part.startswith(("dict[", "list[", "json-or-python", "function-"))
    )


@pydantic_dataclass(config=ConfigDict(extra="forbid"))
class RerankResult:
    """One ranked document: its position in the request, its score, and the document.

    A pydantic dataclass, not a ``BaseModel``: its whole state is its ``__dict__``, so the
    client builds the thousand results of a big call at C speed (see ``results_from_dicts``).
    Constructing one validates it; ``RerankResponse.model_dump()`` serialises it;
    ``dataclasses.asdict(result)`` gives its fields. (A result built from an answer without
    documents reads ``document`` from its class default, None, like any dataclass field left
    at its default: its ``__dict__`` holds the index and score only.)
    """

    index: int
    relevance_score: float
    document: dict[str, Any] | None = None


class Usage(BaseModel):
    """What the provider billed, in its own units, never converted into each other.

    ``search_units``: searches (Cohere, Azure; an estimate for Bedrock, see ``estimated``).
    ``total_tokens``: tokens (Voyage, Jina, Infinity, vLLM, ...). ``rerank_units``: Pinecone.
    """

    model_config = ConfigDict(extra="allow")

    search_units: int | float | None = None
    total_tokens: int | None = None
    rerank_units: int | float | None = None
    estimated: bool | None = None


class RerankResponse(BaseModel):
    """A rerank answer (Portkey ``CreateRerankResponse``), sorted by score, best first."""

    model_config = ConfigDict(extra="forbid")

    id: str
    object: Literal["list"] = "list"
    results: list[RerankResult]
    model: str
    usage: Usage = Field(default_factory=Usage)
    provider: str


# -- fast construction of already-checked results (the hot path) -----------------------------
#
# ``model_construct`` costs several microseconds per object in pure Python; a response of
# 1,000 results would spend milliseconds there. These helpers set exactly what
# ``model_construct`` sets (``__dict__``, the fields set, no extra, no private state) through
# the slot descriptors, for data the caller has already checked.

_new = object.__new__
_set_dict = object.__setattr__


def _slot_setter(name: str) -> Any:
    slot = BaseModel.__dict__.get(name)
    if type(slot).__name__ == "member_descriptor":
        return slot.__set__  # type: ignore[union-attr]
    return lambda obj, value: _set_dict(obj, name, value)  # pragma: no cover (other pydantic)


_set_fields_set = _slot_setter("__pydantic_fields_set__")
_set_extra = _slot_setter("__pydantic_extra__")
_set_private = _slot_setter("__pydantic_private__")

M = TypeVar("M", bound=BaseModel)


def _constructed(
    cls: type[M], values: dict[str, Any], fields_set: set[str], extra: dict[str, Any] | None
) -> M:
    """A ``cls`` holding ``values`` (every field, in field order), as ``model_construct``
    builds it: ``extra`` is ``{}`` for models that allow extra fields, else None."""
    model = _new(cls)
    _set_dict(model, "__dict__", values)
    _set_fields_set(model, fields_set)
    _set_extra(model, extra)
    _set_private(model, None)
    return model


def results_from_dicts(values: list[dict[str, Any]]) -> list[RerankResult]:
    """``RerankResult``s whose fields are ``values``: dicts holding exactly ``index`` (int),
    ``relevance_score`` (float) and, when not None, ``document``, already checked. The dicts
    become the results' own ``__dict__``s (no copy), so the caller hands them over."""
    # A dataclass instance is its __dict__: two C-level passes make a valid result. starmap
    # passes one shared argument tuple to object.__new__ (map would build one per object),
    # and the class's __dict__ descriptor is called directly (no attribute lookup per object).
    out: list[RerankResult] = list(starmap(_new, repeat(_RESULT_ARGS, len(values))))
    _consume(map(_set_result_dict, out, values))
    return out


_consume: Callable[[Iterable[Any]], None] = deque(maxlen=0).extend
_RESULT_ARGS = (RerankResult,)
_set_result_dict = RerankResult.__dict__["__dict__"].__set__


_USAGE_TEMPLATE = dict.fromkeys(Usage.model_fields)  # every field at its default, None


def checked_usage(
    *,
    search_units: int | float | None = None,
    total_tokens: int | None = None,
    rerank_units: int | float | None = None,
    estimated: bool | None = None,
) -> Usage:
    """``Usage(...)`` for counts already checked (by ``providers.base.number``/``integer``),
    built like ``model_construct``: validation would keep them as they are."""
    counts = {
        "search_units": search_units,
        "total_tokens": total_tokens,
        "rerank_units": rerank_units,
        "estimated": estimated,
    }
    given = {name: value for name, value in counts.items() if value is not None}
    return _constructed(Usage, {**_USAGE_TEMPLATE, **given}, set(given), {})


def build_response(
    *, id: str, results: list[RerankResult], model: str, usage: Usage, provider: str
) -> RerankResponse:
    """A ``RerankResponse`` from checked parts, without validation (like ``model_construct``)."""
    values = {
        "id": id,
        "object": "list",
        "results": results,
        "model": model,
        "usage": usage,
        "provider": provider,
    }
    return _constructed(RerankResponse, values, set(values), None)


@runtime_checkable
class Reranker(Protocol):
    """Anything with the ``rerank``/``arerank`` keyword API: ``RerankClient``, ``Router``,
    ``CachedReranker``, or your own. The framework wrappers and ``rerank(client=...)`` take
    any of them."""

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
    ) -> RerankResponse: ...

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
    ) -> RerankResponse: ...
