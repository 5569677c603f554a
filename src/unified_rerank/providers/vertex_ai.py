"""Google Vertex AI ranking (Discovery Engine), ``POST https://discoveryengine.googleapis.com
/v1/projects/{project}/locations/{location}/rankingConfigs/default_ranking_config:rank``
(providers-more.md section 1).

Auth: ``api_key=`` is taken as a ready OAuth2 access token (e.g. ``gcloud auth
print-access-token``); without one, Application Default Credentials through google-auth (the
optional extra ``unified-rerank[vertex]``; ``GOOGLE_APPLICATION_CREDENTIALS``, the gcloud ADC
file, the metadata server), or a google-auth ``credentials=`` object. google-auth refreshes
the token with its own transport: in a worker thread on async calls, once for all concurrent
calls, 3 min 45 s before expiry (google-auth's own threshold; see ``_tokens``). The quota
project (``quota_project=`` or ``GOOGLE_CLOUD_QUOTA_PROJECT``, else the credentials' own) is
sent as ``x-goog-user-project``, as google-auth does.

Options: ``project`` (else ``GOOGLE_CLOUD_PROJECT`` / ``GCLOUD_PROJECT``), ``location``
(default ``global``), ``quota_project``, ``credentials``.

Unified fields: each document is a record ``{"id": "<position>", "content": <text>}`` plus
``"title"`` only when the caller's object has a string ``title`` (nothing is invented: a
title changes what is ranked). With ``rank_fields``, ``title``/``text`` map to the record's
fields; any other field list is rendered into ``content`` as ``field: value`` lines. ``top_n``
is ``topN``; record details are never echoed (``ignoreRecordDetailsInResponse``: documents
are back-filled from the request). ``parameters`` may carry ``userLabels`` only;
``max_tokens_per_doc`` and ``truncation=False`` are refused (the service truncates records
itself), ``truncation=True`` and ``priority`` are dropped. At most 200 records per request:
larger calls are windowed. The service reports no usage, so none is reported.
"""

from __future__ import annotations

import datetime
import importlib.util
import os
import re
import sys
from typing import Any

from ..errors import APIConnectionError, AuthenticationError, InvalidRequestError, RerankError
from ..schema import Document, RerankRequest, RerankResponse
from . import _tokens
from .base import (
    ClientConfig,
    HttpCall,
    Limits,
    RawResponse,
    decode_json,
    field_of,
    finish,
    json_body,
    json_headers,
    malformed,
    render_text,
    standard_error,
)

SLUG = "vertex-ai"
#: No variable holds an access token; ADC has its own (GOOGLE_APPLICATION_CREDENTIALS, ...).
ENV_KEYS: tuple[str, ...] = ()
#: Application Default Credentials from a key file, shown by `unified-rerank providers`
#: (`gcloud auth application-default login` works without it).
CREDENTIAL_ENV = ("GOOGLE_APPLICATION_CREDENTIALS",)
PROJECT_ENV = ("GOOGLE_CLOUD_PROJECT", "GCLOUD_PROJECT")
QUOTA_PROJECT_ENV = "GOOGLE_CLOUD_QUOTA_PROJECT"
OPTIONS: frozenset[str] = frozenset({"project", "location", "quota_project", "credentials"})
#: The API ranks on named fields of object documents (the unified ``rank_fields``).
RANKS_FIELDS = True

BASE_URL = "https://discoveryengine.googleapis.com"
RANKING_CONFIG = "default_ranking_config"
DEFAULT_LOCATION = "global"
SCOPE = "https://www.googleapis.com/auth/cloud-platform"
#: "At most 200 records to rank" (GDE v1 ``RankRequest.records``).
MAX_DOCUMENTS = 200
#: google-auth refreshes this long before expiry (``_helpers.REFRESH_THRESHOLD``).
REFRESH_MARGIN = 225.0
#: What google-api-core retries as transient (``retry.if_transient_error``): 500, 429, 503.
RETRYABLE_STATUS = frozenset({429, 500, 503})
MISSING_GOOGLE_AUTH = (
    "vertex-ai without api_key=... uses Application Default Credentials, which needs "
    'google-auth: pip install "unified-rerank[vertex]"'
)

_PROJECT = re.compile(r"[A-Za-z0-9][A-Za-z0-9.:_-]*")  # ids, numbers, "example.com:proj"
_LOCATION = re.compile(r"[a-z0-9-]+")
_TITLE_TEXT = frozenset({"title", "text"})


# --- options ------------------------------------------------------------------------------------


def _name_option(
    config: ClientConfig, name: str, env: tuple[str, ...], pattern: re.Pattern[str]
) -> str | None:
    value = config.options.get(name)
    source = f"option {name}"
    if value is None:
        found = next(((k, os.environ[k]) for k in env if os.environ.get(k)), None)
        if found is not None:
            source, value = found
    if value is not None and (not isinstance(value, str) or not pattern.fullmatch(value)):
        raise InvalidRequestError(
            f"vertex-ai: {source} is not a valid name: {value!r}", provider=SLUG
        )
    return value


def project(config: ClientConfig) -> str:
    value = _name_option(config, "project", PROJECT_ENV, _PROJECT)
    if value is None:
        raise InvalidRequestError(
            "vertex-ai needs a Google Cloud project: pass project=... or set GOOGLE_CLOUD_PROJECT",
            provider=SLUG,
        )
    return value


def location(config: ClientConfig) -> str:
    return _name_option(config, "location", (), _LOCATION) or DEFAULT_LOCATION


def quota_project(config: ClientConfig) -> str | None:
    return _name_option(config, "quota_project", (QUOTA_PROJECT_ENV,), _PROJECT)


# --- validation and the request -----------------------------------------------------------------


def limits(model: str, config: ClientConfig) -> Limits:
    return Limits(max_documents=MAX_DOCUMENTS)


def validate(request: RerankRequest, config: ClientConfig) -> None:
    project(config)
    location(config)
    quota_project(config)
    if request.max_tokens_per_doc is not None:
        raise InvalidRequestError(
            "vertex-ai has no `max_tokens_per_doc`: the ranking model truncates each record "
            "to its own limit; drop the argument",
            provider=SLUG,
        )
    if request.truncation is False:
        raise InvalidRequestError(
            "vertex-ai cannot refuse over-long records (truncation=False): the service "
            "truncates them itself; leave `truncation` unset",
            provider=SLUG,
        )
    user_labels(request)
    for i, doc in enumerate(request.documents):
        record = _record(i, doc, request.rank_fields)
        if not record.get("title") and not record.get("content"):
            raise InvalidRequestError(
                f"document {i} is empty: a vertex-ai record needs a title or content",
                provider=SLUG,
            )


def user_labels(request: RerankRequest) -> dict[str, str] | None:
    params = dict(request.parameters or {})
    labels = params.pop("userLabels", None)
    if params:
        raise InvalidRequestError(
            "vertex-ai accepts only parameters={'userLabels': {...}}; unknown: "
            f"{sorted(params)}",
            provider=SLUG,
        )
    if labels is None:
        return None
    if not isinstance(labels, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in labels.items()
    ):
        raise InvalidRequestError("vertex-ai userLabels must map strings to strings", provider=SLUG)
    return {k: str(v) for k, v in labels.items()}


def _record(index: int, doc: Document, rank_fields: list[str] | None) -> dict[str, str]:
    """A ranking record: ``content`` from the text, ``title`` only from the caller's own."""
    record = {"id": str(index)}
    if isinstance(doc, str):
        record["content"] = doc
    elif rank_fields is None:
        record["content"] = doc["text"]  # a string: the request was validated
        if isinstance(doc.get("title"), str):
            record["title"] = doc["title"]
    elif set(rank_fields) <= _TITLE_TEXT:  # named fields are strings (validated)
        if "title" in rank_fields:
            record["title"] = doc["title"]
        if "text" in rank_fields:
            record["content"] = doc["text"]
    else:
        record["content"] = render_text(doc, rank_fields)
    return record


def body(request: RerankRequest) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "model": request.model,
        "query": request.query,
        "records": [_record(i, d, request.rank_fields) for i, d in enumerate(request.documents)],
        # Documents come back from the request: the answer needs only ids and scores.
        "ignoreRecordDetailsInResponse": True,
    }
    if request.top_n is not None:
        payload["topN"] = min(request.top_n, len(request.documents))
    labels = user_labels(request)
    if labels:
        payload["userLabels"] = labels
    return payload


def build(request: RerankRequest, config: ClientConfig) -> HttpCall:
    path = (
        f"/v1/projects/{project(config)}/locations/{location(config)}"
        f"/rankingConfigs/{RANKING_CONFIG}:rank"
    )
    headers = json_headers()
    quota = quota_project(config)
    token = config.optional_key()
    credentials = None
    if token:
        headers["Authorization"] = f"Bearer {token}"
        if quota:
            headers["x-goog-user-project"] = quota
    else:
        credentials = google_token(config.options.get("credentials"), quota)
    return HttpCall(
        method="POST",
        url=config.root(BASE_URL) + path,
        headers=config.merged_headers(headers),
        body=json_body(body(request)),
        credentials=credentials,
    )


# --- the google-auth token ----------------------------------------------------------------------


def has_google_auth() -> bool:
    if "google.auth" in sys.modules:
        return True
    try:
        return importlib.util.find_spec("google.auth") is not None
    except ModuleNotFoundError:  # no "google" namespace at all
        return False


def google_token(credentials: Any, quota: str | None) -> _tokens.TokenAuth:
    """The shared token source: ADC (per credentials file and quota project), or the given
    google-auth credentials object (kept alive by its cache entry, so its id stays unique)."""
    if not has_google_auth():
        raise AuthenticationError(MISSING_GOOGLE_AUTH, provider=SLUG)
    if credentials is not None and not callable(getattr(credentials, "refresh", None)):
        raise InvalidRequestError(
            "vertex-ai credentials must be a google-auth Credentials object", provider=SLUG
        )
    key = (
        (SLUG, "adc", os.environ.get("GOOGLE_APPLICATION_CREDENTIALS"), quota)
        if credentials is None
        else (SLUG, "credentials", id(credentials), quota)
    )
    return _tokens.shared(
        key,
        lambda: _tokens.TokenAuth(
            _tokens.BlockingExchange(GoogleCredentials(credentials, quota).refresh),
            margin=lambda lifetime: REFRESH_MARGIN,
        ),
    )


class GoogleCredentials:
    """google-auth credentials (ADC, loaded on first use), refreshed by google-auth itself.

    Called only by one exchange at a time (``TokenAuth``), so it needs no lock of its own.
    """

    def __init__(self, credentials: Any, quota: str | None) -> None:
        if credentials is not None and quota and hasattr(credentials, "with_quota_project"):
            credentials = credentials.with_quota_project(quota)  # a copy; no I/O
        self._credentials = credentials
        self._quota = quota
        self._issued = False

    def __repr__(self) -> str:
        return f"GoogleCredentials(adc={self._credentials is None}, quota={self._quota!r})"

    def refresh(self) -> _tokens.Issued:
        try:
            import google.auth
            import google.auth.exceptions
            import google.auth.transport.requests
        except ImportError:
            raise AuthenticationError(MISSING_GOOGLE_AUTH, provider=SLUG) from None
        errors = google.auth.exceptions
        try:
            credentials = self._credentials
            if credentials is None:
                credentials, _ = google.auth.default(scopes=[SCOPE], quota_project_id=self._quota)
                self._credentials = credentials
            # Asked again only once the token is stale or was refused (401): refresh even if
            # google-auth still deems it valid; at first use a valid token is used as is.
            if self._issued or not credentials.valid:
                credentials.refresh(google.auth.transport.requests.Request())
            headers: dict[str, str] = {}
            credentials.apply(headers)  # authorization, and x-goog-user-project if any
            self._issued = True
        except errors.TransportError as exc:
            raise APIConnectionError(
                f"google-auth could not reach the token endpoint: {exc}", provider=SLUG
            ) from None
        except errors.GoogleAuthError as exc:
            raise AuthenticationError(
                f"google-auth could not get an access token ({type(exc).__name__}: {exc}); "
                "set GOOGLE_APPLICATION_CREDENTIALS, run `gcloud auth application-default "
                "login`, or pass api_key=<access token>",
                provider=SLUG,
                retryable=bool(getattr(exc, "retryable", False)),
            ) from None
        return _tokens.Issued(headers, _seconds_left(credentials.expiry))


def _seconds_left(expiry: datetime.datetime | None) -> float | None:
    """google-auth's ``expiry`` (naive UTC) as seconds from now; None when it has none."""
    if expiry is None:
        return None
    now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
    return (expiry - now).total_seconds()


# --- answers and errors -------------------------------------------------------------------------


def parse(raw: RawResponse, request: RerankRequest) -> RerankResponse:
    answer = decode_json(raw, SLUG)
    # proto3 JSON leaves an empty list out: no `records` is zero results (then too few).
    records = answer.get("records", []) if isinstance(answer, dict) else None
    if not isinstance(records, list):
        raise malformed(SLUG, raw, "`records` is missing or not a list")
    items = []
    n = len(request.documents)
    for record in records:
        record_id = field_of(record, "id", SLUG, raw)
        # Exactly an id we sent, str(index): not "01", nor a non-ASCII digit isdigit() accepts.
        ascii_digits = isinstance(record_id, str) and record_id.isascii() and record_id.isdigit()
        index = int(record_id) if ascii_digits else n
        if index >= n or str(index) != record_id:
            raise malformed(SLUG, raw, f"record id {record_id!r} is not one we sent")
        items.append({"index": index, "relevance_score": record.get("score")})
    # No usage: the Ranking API reports none (LiteLLM's search units are invented).
    return finish(request, raw, items, provider=SLUG)


def error(raw: RawResponse, request: RerankRequest) -> RerankError:
    # google.rpc.Status as JSON: {"error": {"code", "message", "status", "details"}}.
    err = standard_error(
        raw, SLUG, paths=("error.message", "message"), code_paths=("error.status",)
    )
    err.retryable = raw.status_code in RETRYABLE_STATUS
    return err
