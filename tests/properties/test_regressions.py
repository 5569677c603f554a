"""Example-based regressions for the bugs the property tests found."""

from __future__ import annotations

import base64
import json
import math
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from tests.support.loopback import Loopback
from unified_rerank import RerankClient
from unified_rerank.errors import AuthenticationError, InvalidRequestError, ProviderError
from unified_rerank.providers import get_provider, portkey, watsonx
from unified_rerank.providers.base import ClientConfig, RawResponse
from unified_rerank.schema import RerankRequest

HUGE = b"1" + b"0" * 400  # a JSON integer no float can hold


@pytest.mark.parametrize(
    "body",
    [
        b'{"results": [{"index": 0, "relevance_score": ' + HUGE + b"}]}",
        b'{"results": [{"index": 0, "relevance_score": 0.5}, {"index": 1, "relevance_score": '
        + HUGE
        + b"}]}",
    ],
)
def test_a_score_too_large_for_a_float_is_a_provider_error(body: bytes) -> None:
    # Was an OverflowError from math.isfinite in finish().
    request = RerankRequest.create(model="m", query="q", documents=["a", "b"], top_n=1)
    parse = get_provider("jina").parse
    assert parse is not None
    with pytest.raises(ProviderError, match="too large for a float"):
        parse(RawResponse(200, {}, body), request)


def test_a_priority_too_large_for_a_float_is_an_invalid_request() -> None:
    # Was an OverflowError from math.isfinite in RerankRequest.create.
    with pytest.raises(InvalidRequestError, match="`priority` must be a finite number"):
        RerankRequest.create(model="m", query="q", documents=["a"], priority=10**400)


@pytest.mark.parametrize("record_id", ["\u00b2", "\u2460", "\u0661", "01", " 1", "+1"])
def test_a_vertex_record_id_we_did_not_send_is_a_provider_error(record_id: str) -> None:
    # "\u00b2" (isdigit() but not int()) was a ValueError; "\u0661" and "01" were read as 1.
    request = RerankRequest.create(model="m", query="q", documents=["a", "b"])
    answer = {"records": [{"id": record_id, "score": 0.5}, {"id": "0", "score": 0.1}]}
    parse = get_provider("vertex-ai").parse
    assert parse is not None
    with pytest.raises(ProviderError, match="is not one we sent"):
        parse(RawResponse(200, {}, json.dumps(answer).encode()), request)


@pytest.mark.parametrize("slug", ["cohere", "tei", "watsonx", "dashscope", "deepinfra"])
def test_an_error_body_nested_too_deep_is_still_a_typed_error(slug: str) -> None:
    # json.loads raised RecursionError from error() (loads_or_none caught ValueError only).
    deep = b"[" * 100_000 + b"]" * 100_000
    request = RerankRequest.create(model="m", query="q", documents=["a"])
    error = get_provider(slug).error
    assert error is not None
    err = error(RawResponse(500, {}, deep), request)
    assert isinstance(err, ProviderError)
    assert err.status_code == 500


def _jwt(claims: str) -> str:
    payload = base64.urlsafe_b64encode(claims.encode()).decode().rstrip("=")
    return f"h.{payload}.s"


@pytest.mark.parametrize(
    "answer",
    [
        b'{"access_token": "t", "expires_in": 1' + b"0" * 400 + b"}",  # was OverflowError
        b'{"access_token": "t", "expires_in": NaN}',  # was a NaN lifetime
        b'{"access_token": "t", "expires_in": Infinity}',  # was an infinite lifetime
        b'{"access_token": "%s"}' % _jwt('{"iat": 0, "exp": 1' + "0" * 400 + "}").encode(),
        b'{"access_token": "%s"}' % _jwt("[" * 5000 + "]" * 5000).encode(),  # RecursionError
    ],
)
def test_an_iam_answer_without_a_usable_lifetime_is_a_provider_error(answer: bytes) -> None:
    with pytest.raises(ProviderError, match="neither expires_in nor expiration"):
        watsonx.read_iam(RawResponse(200, {}, answer))


def test_an_iam_lifetime_falls_back_to_the_jwt_claims() -> None:
    token = _jwt('{"iat": 100, "exp": 3700}')
    answer = json.dumps({"access_token": token, "expires_in": float("nan")}).encode()
    assert watsonx.read_iam(RawResponse(200, {}, answer)).lifetime == 3600.0


def _portkey_headers(**options: object) -> dict[str, str]:
    config = ClientConfig(provider="portkey", api_key=SecretStr("pk-1"), options=options)
    return portkey.headers(config)


@pytest.mark.parametrize(
    "options",
    [
        {"trace_id": "a\nb"},  # was sent: httpx refuses it while sending
        {"virtual_key": "Jos\u00e9"},  # was sent: httpx cannot encode it
        {"config": {"k": {1, 2}}},  # was a TypeError from json.dumps
        {"metadata": {"k": b"x"}},  # was a TypeError from json.dumps
        {"config": {"retry": {"attempts": math.nan}}},  # was sent as NaN, not JSON
        {"provider_api_key": "sk-1\r\nX-Evil: 1"},
    ],
)
def test_a_portkey_option_that_cannot_go_in_a_header_is_refused(options: dict[str, object]) -> None:
    with pytest.raises(InvalidRequestError, match="portkey option") as caught:
        _portkey_headers(**options)
    assert "sk-1" not in str(caught.value)


def test_portkey_json_headers_are_ascii_json_as_the_sdk_sends_them() -> None:
    headers = _portkey_headers(metadata={"_user": "Jos\u00e9"})
    assert headers["x-portkey-metadata"] == '{"_user":"Jos\\u00e9"}'
    assert json.loads(headers["x-portkey-metadata"]) == {"_user": "Jos\u00e9"}


@pytest.mark.parametrize("key", ["sk-SECRET-77\n", "sk-SECRET-77\r\nX: y", "sk-SECR\u00c9T-77"])
def test_an_api_key_that_cannot_go_in_a_header_is_refused_without_showing_it(
    key: str, loopback: Loopback
) -> None:
    # "\n" was sent: h11 refused it and the retried APIConnectionError quoted the header,
    # key included; a non-ASCII key was a UnicodeEncodeError from httpx.
    client = RerankClient("cohere", api_key=key, base_url=loopback.url, max_retries=0)
    with pytest.raises(AuthenticationError, match="cannot be sent") as caught:
        client.rerank(model="rerank-v3.5", query="q", documents=["a"])
    assert "SECRET" not in f"{caught.value} {caught.value!r}"
    assert loopback.received == []


def test_an_extra_header_that_cannot_be_sent_is_refused_without_showing_it(
    loopback: Loopback,
) -> None:
    client = RerankClient(
        "cohere", api_key="k", base_url=loopback.url, headers={"X-Token": "tok-SECRET\n"}
    )
    with pytest.raises(InvalidRequestError, match="'X-Token' cannot be sent") as caught:
        client.rerank(model="rerank-v3.5", query="q", documents=["a"])
    assert "SECRET" not in str(caught.value)
    assert loopback.received == []


@pytest.mark.parametrize("units", [b"-1", b"NaN", b"Infinity", b"-0.5"])
def test_a_usage_count_that_is_not_a_count_is_no_usage(units: bytes) -> None:
    # A negative, NaN or infinite count was reported as the usage.
    request = RerankRequest.create(model="m", query="q", documents=["a"])
    body = b'{"results": [{"index": 0, "relevance_score": 0.5}], "meta": {"billed_units": '
    body += b'{"search_units": ' + units + b"}}}"
    parse = get_provider("cohere").parse
    assert parse is not None
    assert parse(RawResponse(200, {}, body), request).usage.search_units is None


@pytest.mark.parametrize("model", ["a b?c=1#frag", "\x1b", "x/y%2Fz"])
def test_an_nvidia_hosted_model_id_stays_one_url_path(model: str) -> None:
    # "?"/"#" turned into a query and fragment (the call went elsewhere); "\x1b" made an URL
    # httpx refuses while sending.
    config = ClientConfig(provider="nvidia", api_key=SecretStr("k"))
    request = RerankRequest.create(model=model, query="q", documents=["a"])
    build = get_provider("nvidia").build
    assert build is not None
    url = httpx.URL(build(request, config).url)
    assert url.path.startswith("/v1/retrieval/") and url.path.endswith("/reranking")
    assert not url.query and not url.fragment


@pytest.mark.parametrize("slug", ["nvidia", "deepinfra"])
def test_a_model_id_with_a_lone_surrogate_is_refused_before_io(slug: str) -> None:
    # quote() raised UnicodeEncodeError while building the endpoint URL.
    config = ClientConfig(provider=slug, api_key=SecretStr("k"))
    request = RerankRequest.create(model="org/m\ud800", query="q", documents=["a"])
    build = get_provider(slug).build
    assert build is not None
    with pytest.raises(InvalidRequestError, match="cannot go in a URL"):
        build(request, config)


@pytest.mark.parametrize("name", ["", "k" * 101])
def test_a_bedrock_rerank_parameter_name_outside_the_service_model_is_refused(name: str) -> None:
    # botocore's AdditionalModelRequestFieldsKey is 1 to 100 characters; it was sent anyway.
    provider = get_provider("bedrock")
    config = ClientConfig(provider="bedrock", options={"region": "us-west-2"})
    request = RerankRequest.create(
        model="amazon.rerank-v1:0", query="q", documents=["a"], parameters={name: 1}
    )
    with pytest.raises(InvalidRequestError, match="1 to 100 characters"):
        provider.validate(request, config)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("aws_session_token", "tok-SECRET-1\n"),  # was signed into X-Amz-Security-Token
        ("aws_secret_access_key", "sec-SECRET-1\u00e9"),
        ("aws_access_key_id", "AKIA\u00e9"),  # was an unsendable Authorization header
    ],
)
def test_a_bedrock_credential_that_cannot_go_in_a_header_is_refused_unshown(
    name: str, value: str
) -> None:
    options = {"region": "us-west-2", "aws_access_key_id": "AKIA1", "aws_secret_access_key": "s"}
    config = ClientConfig(provider="bedrock", options={**options, name: value})
    request = RerankRequest.create(model="amazon.rerank-v1:0", query="q", documents=["a"])
    with pytest.raises(InvalidRequestError, match=f"{name} holds a line break") as caught:
        get_provider("bedrock").validate(request, config)
    assert "SECRET" not in f"{caught.value} {caught.value!r}"


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1\n/v1",  # was httpx.InvalidURL from rerank()
        "http://[::1",  # was httpx.InvalidURL (azure-ai: a ValueError from urlsplit)
        "localhost:8080",  # was sent, then a retried APIConnectionError
        "ftp://127.0.0.1",
        "http://a b",  # was a DNS lookup of "a b"
        "http://127.0.0.1:99999",
    ],
)
@pytest.mark.parametrize("slug", ["tei", "azure-ai", "watsonx"])
def test_a_base_url_httpx_cannot_send_to_is_refused_before_io(slug: str, url: str) -> None:
    options: dict[str, Any] = {"project_id": "p"} if slug == "watsonx" else {}
    client = RerankClient(slug, api_key="k", base_url=url, max_retries=0, **options)
    with pytest.raises(InvalidRequestError, match="must be an http\\(s\\) URL"):
        client.rerank(model="m", query="q", documents=["a"])


def test_a_watsonx_iam_url_httpx_cannot_send_to_is_refused_before_io() -> None:
    client = RerankClient(
        "watsonx", api_key="k", url="https://x.example", project_id="p", iam_url="iam.example"
    )
    with pytest.raises(InvalidRequestError, match="iam_url must be an http"):
        client.rerank(model="m", query="q", documents=["a"])


@pytest.mark.parametrize("params", [{"top_n": 0}, {"top_n": "left"}, {"documents": []}])
def test_bedrock_invoke_parameters_cannot_set_a_mapped_field(params: dict[str, object]) -> None:
    # Was sent as is when the unified argument was unset: top_n 0 or "left" reached Cohere.
    config = ClientConfig(
        provider="bedrock", api_key=SecretStr("k"), options={"region": "us-east-1"}
    )
    request = RerankRequest.create(
        model="cohere.rerank-v3-5:0", query="q", documents=["a"], parameters=params
    )
    with pytest.raises(InvalidRequestError, match="use the rerank argument"):
        get_provider("bedrock").validate(request, config)
