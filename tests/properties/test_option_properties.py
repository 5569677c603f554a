"""Property-based: any client configuration (any value for a provider's options such as
``region=``, ``config=``, ``provider_api_key=``; odd API keys; extra headers) gives a typed
error before I/O or a request httpx can send; a secret never appears in an error or a repr."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.properties import strategies as S
from tests.properties.checks import (
    cases,
    check_error,
    check_secrets,
    check_sendable,
    decoded_body,
    name_of,
)
from tests.properties.tally import count
from tests.properties.test_provider_properties import PROPERTY
from tests.support.provider_configs import Setup, client_config
from unified_rerank.errors import RerankError
from unified_rerank.providers import get_provider
from unified_rerank.schema import RerankRequest

#: Values a caller may pass by mistake: wrong types, empty, odd numbers, non-JSON objects.
OPTION_VALUES = st.one_of(
    st.sampled_from(
        [
            "a\nb",
            "Jos\u00e9",
            {"user": "Jos\u00e9"},
            {"k": {1, 2}},
            {"k": b"bytes"},
            {"retry": {"attempts": math.nan}},
            {("tuple",): 1},
            {1, 2},
            b"bytes",
            "us-east-1",
            "cn-beijing",
            "2025-10",
            "api-key",
            "{not json",
            '{"retry": {"attempts": 3}}',
        ]
    ),
    S.NICE_TEXT,
    S.ODD,
    S.FINITE_JSON,
    st.dictionaries(st.text(max_size=4), S.JSON, max_size=3),
)
#: Endings of an API key: a trailing newline (read from a file), CRLF, non-ASCII, controls.
KEY_SUFFIXES = st.sampled_from(["", "\n", "\r\nX-Evil: 1", "\u00e9", "\x00", "\t", " "]) | st.text(
    max_size=3
)
#: Extra headers a caller passes: mostly fine, some that cannot be sent.
EXTRA_HEADERS = st.dictionaries(
    st.sampled_from(["X-Trace", "x-a", "Bad Name", "", "X-\u00e9"]) | st.text(max_size=4),
    st.sampled_from(["v", "a\nb", "\u00e9", "", "x" * 10]) | st.text(max_size=4),
    max_size=2,
)
#: Base URLs a caller may mistype: no scheme, another scheme, spaces, line breaks, bad ports.
BASE_URLS = st.sampled_from(
    [
        "localhost:8080",
        "http://",
        "ftp://127.0.0.1",
        "http://a b",
        "http://127.0.0.1\n",
        "http://[::1",
        "http://127.0.0.1:99999",
        "http://127.0.0.1:8080/v1",
        "https://127.0.0.1/",
        "",
    ]
)
SECRET_MARK = "SECRET-OPTION-VALUE-55c2"


def _secret_option(name: str) -> bool:
    return any(part in name for part in ("secret", "api_key", "token", "credentials"))


@pytest.mark.parametrize(("slug", "setup"), cases())
@settings(PROPERTY, max_examples=30)
@given(data=st.data())
def test_any_option_value_is_refused_or_built(slug: str, setup: Setup, data: st.DataObject) -> None:
    provider = get_provider(slug)
    names = sorted(provider.options)
    changed = data.draw(st.lists(st.sampled_from(names), max_size=2, unique=True)) if names else []
    options: dict[str, Any] = dict(setup.options)
    for name in changed:
        value = data.draw(OPTION_VALUES, label=name)
        if _secret_option(name) and isinstance(value, str):
            value = SECRET_MARK + value  # a secret-looking value, so a leak is found
        options[name] = value
    secrets = [v for k, v in options.items() if _secret_option(k) and isinstance(v, str)]
    key = setup.key
    if key is not None and data.draw(st.booleans(), label="odd key"):
        key = SECRET_MARK + data.draw(KEY_SUFFIXES, label="key suffix")
        secrets.append(key)
    base_url = setup.base_url
    if data.draw(st.integers(0, 3), label="odd base_url") == 0:
        base_url = data.draw(BASE_URLS, label="base_url")
    marked = dataclasses.replace(setup, options=options, key=key, base_url=base_url)
    extra = data.draw(EXTRA_HEADERS, label="extra headers")
    config = dataclasses.replace(client_config(slug, marked), headers=extra)
    request = RerankRequest.create(model=setup.models[0], query="q", documents=["a", "b"])
    try:
        provider.validate(request, config)
        if provider.run_local is not None:
            count(name_of(slug, setup), "option", "accepted (in-process)")
            return
        assert provider.build is not None
        call = provider.build(request, config)
        if call.signer is not None:  # signed before each attempt: may refuse too
            call.signer(call)
    except RerankError as err:
        check_error(err, marked)
        shown = f"{err} {err!r}"
        assert not any(s in shown for s in secrets if SECRET_MARK in s), shown
        count(name_of(slug, setup), "option", f"refused: {type(err).__name__}")
        return
    check_secrets(call, marked)
    decoded_body(call)
    check_sendable(call)
    count(name_of(slug, setup), "option", "built")
