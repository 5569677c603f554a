"""bedrock SigV4 signing (checked against an independent implementation of the spec),
botocore's credential chain, botocore as an optional import, and re-signing on retries
against a loopback server."""

from __future__ import annotations

import datetime
import hashlib
import hmac
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from unittest import mock

import pytest

from tests.support.loopback import Answer, Loopback
from tests.test_bedrock import ARN_COHERE, DUMMY, aws_env  # noqa: F401 (autouse fixture)
from unified_rerank import (
    AuthenticationError,
    InvalidRequestError,
    RateLimitError,
    RerankClient,
)
from unified_rerank.providers import _aws
from unified_rerank.providers.base import HttpCall
from unified_rerank.transport import RetryPolicy

EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
OK = {"results": [{"index": 1, "relevanceScore": 0.9}, {"index": 0, "relevanceScore": 0.1}]}


# --- an independent SigV4 (AWS "Signature Version 4 signing process"), no botocore ---------


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def sigv4_signature(
    *,
    method: str,
    canonical_uri: str,
    headers: Mapping[str, str],
    body: bytes,
    secret: str,
    amz_date: str,
    region: str,
    service: str = "bedrock",
) -> str:
    """The signature over exactly ``headers`` (lower-case names), per the SigV4 spec."""
    names = sorted(headers)
    canonical_headers = "".join(f"{n}:{' '.join(headers[n].split())}\n" for n in names)
    canonical_request = "\n".join(
        [
            method,
            canonical_uri,
            "",
            canonical_headers,
            ";".join(names),
            hashlib.sha256(body).hexdigest(),
        ]
    )
    scope = f"{amz_date[:8]}/{region}/{service}/aws4_request"
    string_to_sign = "\n".join(
        [
            "AWS4-HMAC-SHA256",
            amz_date,
            scope,
            hashlib.sha256(canonical_request.encode()).hexdigest(),
        ]
    )
    key = _hmac(("AWS4" + secret).encode(), amz_date[:8])
    for part in (region, service, "aws4_request"):
        key = _hmac(key, part)
    return hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()


def test_independent_sigv4_matches_the_aws_test_suite_vector() -> None:
    # "get-vanilla" from the AWS SigV4 test suite: proves the reference implementation above.
    signature = sigv4_signature(
        method="GET",
        canonical_uri="/",
        headers={"host": "example.amazonaws.com", "x-amz-date": "20150830T123600Z"},
        body=b"",
        secret="wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        amz_date="20150830T123600Z",
        region="us-east-1",
        service="service",
    )
    assert signature == "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"


def parse_authorization(value: str) -> dict[str, str]:
    assert value.startswith("AWS4-HMAC-SHA256 ")
    parts = dict(p.strip().split("=", 1) for p in value[len("AWS4-HMAC-SHA256 ") :].split(","))
    return parts


def verify(
    auth: Mapping[str, str],
    sent: Mapping[str, str],
    *,
    method: str,
    canonical_uri: str,
    body: bytes,
    secret: str,
    region: str,
) -> None:
    """Check ``auth`` (the signer's headers) against ``sent`` (every header that was sent)."""
    lowered = {k.lower(): v for k, v in sent.items()}
    fields = parse_authorization(auth["Authorization"])
    amz_date = auth["X-Amz-Date"]
    signed = fields["SignedHeaders"].split(";")
    expected = sigv4_signature(
        method=method,
        canonical_uri=canonical_uri,
        headers={n: lowered[n] for n in signed},
        body=body,
        secret=secret,
        amz_date=amz_date,
        region=region,
    )
    assert fields["Signature"] == expected
    assert fields["Credential"].endswith(f"/{amz_date[:8]}/{region}/bedrock/aws4_request")


def fixed_clock(*moments: datetime.datetime) -> Any:
    """Patch botocore's clock the way botocore's tests do (naive UTC datetimes)."""
    target = "botocore.auth.get_current_datetime"
    if not hasattr(sys.modules["botocore.auth"], "get_current_datetime"):  # older botocore
        target = "botocore.auth.datetime.datetime"
        return mock.patch(target, **{"utcnow.side_effect": list(moments)})
    return mock.patch(target, side_effect=list(moments))


def plan_call(c: RerankClient, **fields: Any) -> HttpCall:
    (call,) = c._plan(fields).calls
    return call


# --- signing ---------------------------------------------------------------------------------


def test_agent_runtime_signature_is_sigv4_bedrock() -> None:
    import botocore.auth  # noqa: F401 (the clock patch needs the module loaded)

    c = RerankClient("bedrock", **DUMMY)
    call = plan_call(c, model=ARN_COHERE, query="q", documents=["a", "b"])
    with fixed_clock(datetime.datetime(2026, 1, 2, 3, 4, 5)):
        auth = call.signer(call)  # type: ignore[misc]
    assert set(auth) == {"Authorization", "X-Amz-Date", "X-Amz-Security-Token"}
    assert auth["X-Amz-Date"] == "20260102T030405Z"
    assert auth["X-Amz-Security-Token"] == "testing-token"
    fields = parse_authorization(auth["Authorization"])
    assert fields["Credential"] == "testing/20260102/us-west-2/bedrock/aws4_request"
    assert fields["SignedHeaders"] == "accept;content-type;host;x-amz-date;x-amz-security-token"
    sent = {**call.headers, **auth, "Host": "bedrock-agent-runtime.us-west-2.amazonaws.com"}
    verify(
        auth,
        sent,
        method="POST",
        canonical_uri="/rerank",
        body=call.body,
        secret="testing-secret",
        region="us-west-2",
    )
    # The verifier is not a rubber stamp: a different body or secret does not verify.
    with pytest.raises(AssertionError):
        verify(
            auth,
            sent,
            method="POST",
            canonical_uri="/rerank",
            body=call.body + b" ",
            secret="testing-secret",
            region="us-west-2",
        )
    with pytest.raises(AssertionError):
        verify(
            auth,
            sent,
            method="POST",
            canonical_uri="/rerank",
            body=call.body,
            secret="other",
            region="us-west-2",
        )


def test_invoke_model_signature_double_encodes_the_model_id() -> None:
    c = RerankClient("bedrock", region="us-east-1", **DUMMY, headers={"X-Trace": "a  b"})
    call = plan_call(c, model="cohere.rerank-v3-5:0", query="q", documents=["a"])
    assert call.url.endswith("/model/cohere.rerank-v3-5%3A0/invoke")
    auth = call.signer(call)  # type: ignore[misc]
    # SigV4 for non-S3 services encodes each path segment twice: "%3A" -> "%253A".
    verify(
        auth,
        {**call.headers, **auth, "Host": "bedrock-runtime.us-east-1.amazonaws.com"},
        method="POST",
        canonical_uri="/model/cohere.rerank-v3-5%253A0/invoke",
        body=call.body,
        secret="testing-secret",
        region="us-east-1",
    )
    assert "x-trace" in parse_authorization(auth["Authorization"])["SignedHeaders"]


def test_every_attempt_gets_a_fresh_signature() -> None:
    import botocore.auth  # noqa: F401

    c = RerankClient("bedrock", **DUMMY)
    call = plan_call(c, model=ARN_COHERE, query="q", documents=["a"])
    with fixed_clock(
        datetime.datetime(2026, 1, 2, 3, 4, 5), datetime.datetime(2026, 1, 2, 3, 9, 0)
    ):
        first, second = call.signer(call), call.signer(call)  # type: ignore[misc]
    assert first["X-Amz-Date"] != second["X-Amz-Date"]
    assert first["Authorization"] != second["Authorization"]


# --- the credential chain --------------------------------------------------------------------


def test_credentials_from_the_environment_are_resolved_lazily(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing-env")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing-env-secret")
    c = RerankClient("bedrock", region="eu-west-1")
    call = plan_call(c, model=ARN_COHERE, query="q", documents=["a"])
    assert not _aws._credentials  # planning read no credentials
    auth = call.signer(call)  # type: ignore[misc]
    assert set(auth) == {"Authorization", "X-Amz-Date"}  # no session token
    assert parse_authorization(auth["Authorization"])["Credential"].startswith("testing-env/")
    # The explicit region wins over the ARN's us-west-2.
    verify(
        auth,
        {**call.headers, **auth, "Host": "bedrock-agent-runtime.eu-west-1.amazonaws.com"},
        method="POST",
        canonical_uri="/rerank",
        body=call.body,
        secret="testing-env-secret",
        region="eu-west-1",
    )
    assert list(_aws._credentials) == [None]  # cached for the default profile
    call.signer(call)  # type: ignore[misc]
    assert len(_aws._sessions) == 1


def test_profile_gives_credentials_and_region(aws_env: Path) -> None:  # noqa: F811
    (aws_env / "credentials").write_text(
        "[dev]\naws_access_key_id = testing-profile\naws_secret_access_key = profile-secret\n"
    )
    (aws_env / "config").write_text("[profile dev]\nregion = eu-central-1\n")
    c = RerankClient("bedrock", profile="dev")
    call = plan_call(c, model="cohere.rerank-v3-5:0", query="q", documents=["a"])
    assert call.url.startswith("https://bedrock-runtime.eu-central-1.amazonaws.com/")
    auth = call.signer(call)  # type: ignore[misc]
    credential = parse_authorization(auth["Authorization"])["Credential"]
    assert credential.startswith("testing-profile/") and "/eu-central-1/bedrock/" in credential


def test_missing_credentials_fail_before_anything_is_sent(loopback: Loopback) -> None:
    c = RerankClient("bedrock", base_url=loopback.url, region="us-east-1")
    with pytest.raises(AuthenticationError, match=r"no AWS credentials found.*AWS_ACCESS_KEY_ID"):
        c.rerank(model=ARN_COHERE, query="q", documents=["a"])
    c = RerankClient("bedrock", base_url=loopback.url, region="us-east-1", profile="nope")
    with pytest.raises(AuthenticationError, match="nope"):
        c.rerank(model=ARN_COHERE, query="q", documents=["a"])
    assert loopback.received == []


def test_without_botocore_the_error_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "botocore", None)
    assert not _aws.has_botocore()
    c = RerankClient("bedrock", region="us-east-1", **DUMMY)
    with pytest.raises(AuthenticationError, match=r'pip install "unified-rerank\[bedrock\]"'):
        c.rerank(model=ARN_COHERE, query="q", documents=["a"])
    with pytest.raises(AuthenticationError, match=r"unified-rerank\[bedrock\]"):
        _aws.frozen_credentials(None, None)
    # A Bedrock API key on InvokeModel needs no botocore.
    keyed = RerankClient("bedrock", region="us-east-1", api_key="test-key-not-a-secret")
    call = plan_call(keyed, model="cohere.rerank-v3-5:0", query="q", documents=["a"])
    assert call.signer is None


def test_import_does_not_load_botocore() -> None:
    code = (
        "import sys, unified_rerank\n"
        "from unified_rerank import RerankClient\n"
        "c = RerankClient('bedrock', region='us-east-1', aws_access_key_id='testing',\n"
        "                 aws_secret_access_key='testing')\n"
        "plan = c._plan(dict(model='cohere.rerank-v3-5:0', query='q', documents=['a']))\n"
        "assert plan.calls[0].signer is not None\n"
        "assert 'botocore' not in sys.modules, 'botocore imported before signing'\n"
        "plan.calls[0].signer(plan.calls[0])\n"
        "assert 'botocore' in sys.modules\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


# --- retries against a loopback server ---------------------------------------------------------


def loop_client(url: str, **kw: Any) -> RerankClient:
    c = RerankClient("bedrock", base_url=url, region="us-west-2", **DUMMY, **kw)
    c._transport().retry = RetryPolicy(max_retries=c.max_retries, base_delay=0.01, max_delay=0.02)
    return c


THROTTLED = Answer(429, {"message": "Rate exceeded"}, {"x-amzn-ErrorType": "ThrottlingException"})
TWO_MOMENTS = (datetime.datetime(2026, 3, 4, 5, 6, 7), datetime.datetime(2026, 3, 4, 5, 6, 9))


def check_resigned(loopback: Loopback) -> None:
    first, second = loopback.received
    assert first.path == second.path == "/rerank" and first.body == second.body
    auths = []
    for got in (first, second):
        headers = {k.lower(): v for k, v in got.headers.items()}
        auth = {"Authorization": headers["authorization"], "X-Amz-Date": headers["x-amz-date"]}
        verify(
            auth,
            headers,
            method="POST",
            canonical_uri="/rerank",
            body=got.body,
            secret="testing-secret",
            region="us-west-2",
        )
        auths.append(auth)
    assert [a["X-Amz-Date"] for a in auths] == ["20260304T050607Z", "20260304T050609Z"]
    assert auths[0]["Authorization"] != auths[1]["Authorization"]


def test_throttled_then_success_is_resigned(loopback: Loopback) -> None:
    import botocore.auth  # noqa: F401

    loopback.script(THROTTLED, Answer(200, OK))
    with fixed_clock(*TWO_MOMENTS):
        resp = loop_client(loopback.url).rerank(model=ARN_COHERE, query="q", documents=["a", "b"])
    assert [r.index for r in resp.results] == [1, 0]
    check_resigned(loopback)


async def test_throttled_then_success_is_resigned_async(loopback: Loopback) -> None:
    import botocore.auth  # noqa: F401

    loopback.script(THROTTLED, Answer(200, OK))
    with fixed_clock(*TWO_MOMENTS):
        resp = await loop_client(loopback.url).arerank(
            model=ARN_COHERE, query="q", documents=["a", "b"]
        )
    assert resp.results[0].index == 1 and resp.provider == "bedrock"
    check_resigned(loopback)


def test_throttling_gives_up_with_a_rate_limit_error(loopback: Loopback) -> None:
    loopback.script(THROTTLED)
    with pytest.raises(RateLimitError) as info:
        loop_client(loopback.url, max_retries=1).rerank(
            model=ARN_COHERE, query="q", documents=["a"]
        )
    assert info.value.code == "ThrottlingException" and info.value.status_code == 429
    assert len(loopback.received) == 2


def test_service_quota_400_is_not_retried(loopback: Loopback) -> None:
    # botocore's standard retry mode does not retry it (docs/bedrock.md "Retries").
    quota = Answer(
        400, {"message": "quota"}, {"x-amzn-ErrorType": "ServiceQuotaExceededException:x"}
    )
    loopback.script(quota, Answer(200, OK))
    with pytest.raises(RateLimitError) as info:
        loop_client(loopback.url).rerank(model=ARN_COHERE, query="q", documents=["a", "b"])
    assert not info.value.retryable and len(loopback.received) == 1


async def test_validation_error_is_not_retried_async(loopback: Loopback) -> None:
    loopback.script(
        Answer(
            400,
            {"message": "1 validation error detected"},
            {"x-amzn-ErrorType": "ValidationException:http://internal.amazon.com/"},
        )
    )
    with pytest.raises(InvalidRequestError) as info:
        await loop_client(loopback.url).arerank(model=ARN_COHERE, query="q", documents=["a"])
    err = info.value
    assert err.code == "ValidationException" and err.status_code == 400
    assert "1 validation error detected" in str(err) and len(loopback.received) == 1


def test_invoke_model_over_loopback_verifies(loopback: Loopback) -> None:
    loopback.script(Answer(200, {"results": [{"index": 0, "relevance_score": 0.4}]}))
    resp = loop_client(loopback.url).rerank(
        model="cohere.rerank-v3-5:0", query="q", documents=["a"]
    )
    assert resp.results[0].relevance_score == 0.4
    (got,) = loopback.received
    assert got.path == "/model/cohere.rerank-v3-5%3A0/invoke"
    assert got.json() == {"query": "q", "documents": ["a"], "api_version": 2}
    headers = {k.lower(): v for k, v in got.headers.items()}
    verify(
        {"Authorization": headers["authorization"], "X-Amz-Date": headers["x-amz-date"]},
        headers,
        method="POST",
        canonical_uri="/model/cohere.rerank-v3-5%253A0/invoke",
        body=got.body,
        secret="testing-secret",
        region="us-west-2",
    )


def test_signer_headers_never_reach_a_repr() -> None:
    c = RerankClient("bedrock", **DUMMY)
    call = plan_call(c, model=ARN_COHERE, query="q", documents=["a"])
    assert "testing-secret" not in repr(call) and "testing-token" not in repr(call)
