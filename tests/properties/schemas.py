"""Request bodies checked against the providers' own schemas, where one is available offline:

- machine-readable ones shipped by the provider: botocore's ``bedrock-agent-runtime`` service
  model (Rerank), Google's ``discoveryengine_v1.RankRequest`` proto, the ``together`` and
  ``mixedbread`` SDKs' request TypedDicts, Portkey's OpenAPI (``/work/shared``);
- JSON Schemas transcribed field by field from the request tables of the providers' OpenAPI
  documents in ``/work/shared/providers.md`` / ``providers-more.md`` (section named on each).
"""

from __future__ import annotations

import collections.abc
import copy
import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, Union, get_args, get_origin, get_type_hints

import jsonschema  # type: ignore[import-untyped]
import yaml
from typing_extensions import Required

Check = Callable[[dict[str, Any]], None]


def check_schema(slug: str, url: str, body: dict[str, Any]) -> str:
    """Checks ``body``, sent to ``url``, against its provider's schema; what was done."""
    api = ROUTES.get(slug)
    check = SCHEMAS.get(api(url) if api is not None else slug)
    if check is None:
        return "no schema"
    check(body)
    return "schema ok"


# --- shipped by the provider ---------------------------------------------------------------


def _bedrock_rerank(body: dict[str, Any]) -> None:
    from botocore.validate import ParamValidator

    report = ParamValidator().validate(body, _rerank_shape())
    assert not report.has_errors(), report.generate_report()


@functools.cache
def _rerank_shape() -> Any:
    import botocore.session

    model = botocore.session.get_session().get_service_model("bedrock-agent-runtime")
    return model.operation_model("Rerank").input_shape


def _vertex(body: dict[str, Any]) -> None:
    from google.cloud import discoveryengine_v1

    # Proto3 JSON parsing: unknown fields, wrong types and int32 overflow are errors.
    discoveryengine_v1.RankRequest.from_json(json.dumps(body), ignore_unknown_fields=False)


def _typed_dict(kind: Any) -> Check:
    """A check for an SDK's request TypedDict: exactly its keys, its required ones present,
    every value of its declared type (strict: no coercion)."""
    from pydantic import TypeAdapter

    hints = get_type_hints(kind, include_extras=True)
    required = {k for k, v in hints.items() if get_origin(v) is Required}
    fields = {k: TypeAdapter(_eager(v)) for k, v in hints.items()}

    def check(body: dict[str, Any]) -> None:
        assert set(body) <= set(hints), f"not in {kind.__name__}: {set(body) - set(hints)}"
        assert required <= set(body), f"{kind.__name__} requires {required - set(body)}"
        for key, value in body.items():
            fields[key].validate_python(value, strict=True)

    return check


def _eager(hint: Any) -> Any:
    """``hint`` with ``Required[...]`` dropped and each ``Iterable[X]`` read as ``list[X]``:
    pydantic checks an iterable lazily, so a union would take its first branch unchecked."""
    origin, args = get_origin(hint), get_args(hint)
    if origin is Required:
        return _eager(args[0])
    if origin is collections.abc.Iterable:
        return list[_eager(args[0])]  # type: ignore[misc]
    if origin is Union:
        return Union[tuple(_eager(a) for a in args)]  # noqa: UP007 (built at run time)
    return hint


def _sdk(module: str, name: str) -> Check:
    @functools.cache
    def load() -> Check:
        import importlib

        return _typed_dict(getattr(importlib.import_module(module), name))

    return lambda body: load()(body)


@functools.cache
def _portkey_schema() -> dict[str, Any]:
    spec = yaml.safe_load(Path("/work/shared/portkey-rerank-openapi.yaml").read_text())
    schemas = spec["components"]["schemas"]

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str):
                return inline(schemas[ref.rsplit("/", 1)[1]])
            return {k: inline(v) for k, v in node.items() if k != "example"}
        if isinstance(node, list):
            return [inline(v) for v in node]
        return node

    return inline(copy.deepcopy(schemas["CreateRerankRequest"]))  # type: ignore[no-any-return]


def _portkey(body: dict[str, Any]) -> None:
    jsonschema.validate(body, _portkey_schema())


# --- transcribed from the OpenAPI tables in /work/shared -------------------------------------

STRING = {"type": "string"}
STRINGS = {"type": "array", "items": STRING}
COUNT = {"type": "integer", "minimum": 1}
BOOL = {"type": "boolean"}


def _object(required: list[str], **properties: Any) -> dict[str, Any]:
    return {
        "type": "object",
        "required": required,
        "properties": properties,
        "additionalProperties": False,
    }


#: providers.md 1.2, Cohere ``V2RerankRequest``.
COHERE_V2 = _object(
    ["model", "query", "documents"],
    model=STRING,
    query=STRING,
    documents=STRINGS,
    top_n=COUNT,
    max_tokens_per_doc=COUNT,
    priority={"type": "integer", "minimum": 0, "maximum": 999},
)
#: providers.md 1.3, Cohere v1 ``RerankRequest`` (object documents need a string ``text``).
COHERE_V1 = _object(
    ["query", "documents"],
    model=STRING,
    query=STRING,
    documents={
        "type": "array",
        "items": {
            "anyOf": [
                STRING,
                {"type": "object", "required": ["text"], "properties": {"text": STRING}},
            ]
        },
    },
    top_n=COUNT,
    rank_fields={**STRINGS, "minItems": 1},
    return_documents=BOOL,
    max_chunks_per_doc=COUNT,
)
#: providers.md 5.2: InvokeModel takes the Cohere v2 body without ``model``, plus ``api_version``
#: (and the caller's ``parameters`` as extra fields: the adapter's documented pass-through).
BEDROCK_INVOKE = {
    **COHERE_V2,
    "required": ["query", "documents"],
    "additionalProperties": True,
    "properties": {**COHERE_V2["properties"], "api_version": {"const": 2}},
}
del BEDROCK_INVOKE["properties"]["model"]
#: providers.md 2.2, Voyage.
VOYAGE = _object(
    ["query", "documents", "model"],
    query=STRING,
    documents=STRINGS,
    model=STRING,
    top_k={"type": ["integer", "null"], "minimum": 1},
    return_documents=BOOL,
    truncation=BOOL,
)
#: providers.md 3.2, Jina (text models: strings and/or text objects).
JINA = _object(
    ["model", "query", "documents"],
    model=STRING,
    query=STRING,
    documents={"type": "array", "items": {"anyOf": [STRING, {"type": "object"}]}},
    top_n=COUNT,
    return_documents=BOOL,
)
#: providers.md 4.2, Pinecone ``RerankRequest`` (object documents only).
PINECONE = _object(
    ["model", "query", "documents"],
    model=STRING,
    query=STRING,
    documents={"type": "array", "items": {"type": "object"}},
    top_n=COUNT,
    return_documents=BOOL,
    rank_fields={**STRINGS, "minItems": 1},
    parameters={"type": "object"},
)
#: providers-more.md 4.2, Fireworks ``CreateRerankRequest`` (``additionalProperties: false``).
FIREWORKS = _object(
    ["model", "query", "documents"],
    model=STRING,
    query=STRING,
    documents={**STRINGS, "minItems": 1},
    top_n=COUNT,
    return_documents=BOOL,
    task=STRING,
)
#: providers-more.md 2.3, watsonx text rerank (exactly one of project_id / space_id).
WATSONX = {
    **_object(
        ["model_id", "query", "inputs"],
        model_id=STRING,
        query=STRING,
        inputs={"type": "array", "items": _object(["text"], text=STRING)},
        project_id=STRING,
        space_id=STRING,
        parameters=_object(
            [],
            truncate_input_tokens=COUNT,
            return_options=_object([], top_n=COUNT, inputs=BOOL, query=BOOL),
        ),
    ),
    "oneOf": [{"required": ["project_id"]}, {"required": ["space_id"]}],
}
#: providers-more.md 3.2, DeepInfra (one query per document).
DEEPINFRA = _object(
    ["queries", "documents"], queries=STRINGS, documents=STRINGS, instruction=STRING
)

#: providers.md 7.1, TEI ``RerankRequest`` (no model, no top_n).
TEI = _object(
    ["query", "texts"],
    query=STRING,
    texts={**STRINGS, "minItems": 1},
    truncate={"type": ["boolean", "null"]},
    truncation_direction={"enum": ["Left", "Right", "left", "right"]},
    raw_scores=BOOL,
    return_text=BOOL,
)
#: providers.md 7.2, Infinity ``RerankInput`` (strings only; top_n > 0).
INFINITY = _object(
    ["query", "documents"],
    query={"type": "string", "maxLength": 122_880},
    documents={**STRINGS, "minItems": 1},
    return_documents=BOOL,
    raw_scores=BOOL,
    model=STRING,
    top_n=COUNT,
)
#: providers-more.md 6.1, llama.cpp (Jina style; never ``texts``, never top_n 0).
LLAMACPP = _object(
    ["query", "documents"],
    model=STRING,
    query=STRING,
    documents={**STRINGS, "minItems": 1},
    top_n=COUNT,
)
#: providers-more.md 6.2, Xinference ``RerankRequest`` (``kwargs`` a JSON string).
XINFERENCE = _object(
    ["model", "query", "documents"],
    model=STRING,
    query=STRING,
    documents=STRINGS,
    top_n=COUNT,
    return_documents=BOOL,
    return_len=BOOL,
    max_chunks_per_doc=COUNT,
    kwargs=STRING,
)
#: providers-more.md 5.3, DashScope native (``parameters`` takes extra model arguments).
DASHSCOPE = _object(
    ["model", "input", "parameters"],
    model=STRING,
    input=_object(["query", "documents"], query=STRING, documents=STRINGS),
    parameters={
        "type": "object",
        "properties": {"top_n": COUNT, "return_documents": BOOL},
    },
)
#: providers.md 8 (table), NVIDIA NIM: passages of text, ``truncate`` NONE or END.
NVIDIA = _object(
    ["model", "query", "passages"],
    model=STRING,
    query=_object(["text"], text=STRING),
    passages={"type": "array", "items": _object(["text"], text=STRING)},
    truncate={"enum": ["NONE", "END"]},
    top_k=COUNT,
)


def _json_schema(
    schema: dict[str, Any], also: Callable[[dict[str, Any]], None] | None = None
) -> Check:
    validator = jsonschema.Draft202012Validator(schema)

    def check(body: dict[str, Any]) -> None:
        validator.validate(body)
        if also is not None:
            also(body)

    return check


def _kwargs_is_json(body: dict[str, Any]) -> None:
    if "kwargs" in body:
        assert isinstance(json.loads(body["kwargs"]), dict)


def _same_length(body: dict[str, Any]) -> None:
    assert len(body["queries"]) == len(body["documents"])


#: Providers with several APIs: slug -> which one a URL is (the SCHEMAS key).
ROUTES: dict[str, Callable[[str], str]] = {
    "bedrock": lambda url: "bedrock-rerank" if url.endswith("/rerank") else "bedrock-invoke",
    "azure-ai": lambda url: "azure-ai-v1" if url.endswith("/v1/rerank") else "azure-ai-v2",
}
#: slug (or API, see ROUTES) -> a check raising when the body breaks the provider's schema
SCHEMAS: dict[str, Check] = {
    "bedrock-rerank": _bedrock_rerank,
    "bedrock-invoke": _json_schema(BEDROCK_INVOKE),
    "vertex-ai": _vertex,
    "together": _sdk("together.types.rerank_create_params", "RerankCreateParams"),
    "mixedbread": _sdk("mixedbread.types.client_rerank_params", "ClientRerankParams"),
    "portkey": _portkey,
    "cohere": _json_schema(COHERE_V2),
    "azure-ai-v2": _json_schema(COHERE_V2),
    "azure-ai-v1": _json_schema(COHERE_V1),
    "voyage": _json_schema(VOYAGE),
    "jina": _json_schema(JINA),
    "pinecone": _json_schema(PINECONE),
    "fireworks": _json_schema(FIREWORKS),
    "watsonx": _json_schema(WATSONX),
    "deepinfra": _json_schema(DEEPINFRA, _same_length),
    "tei": _json_schema(TEI),
    "infinity": _json_schema(INFINITY),
    "llamacpp": _json_schema(LLAMACPP),
    "xinference": _json_schema(XINFERENCE, _kwargs_is_json),
    "dashscope": _json_schema(DASHSCOPE),
    "nvidia": _json_schema(NVIDIA),
}
