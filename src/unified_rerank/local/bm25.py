"""Lexical BM25 scoring of documents against a query, with ``bm25s`` (extra ``[bm25]``).

No model download: the documents of one request are the corpus. Tokens are lowercase words of
two or more characters (``bm25s.tokenize``), with an English stopword list ``bm25s`` ships
(``en_plus`` when this ``bm25s`` has it, else ``en``); a query that shares no word with a
document scores 0 for it, never an error.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..errors import InvalidRequestError
from . import MissingDependencyError

__all__ = ["DEFAULT_STOPWORDS", "score"]

#: ``stopwords=`` client option: a list name bm25s knows ("en", "en_plus", "de", ...),
#: "none" for no stopwords, or this default.
DEFAULT_STOPWORDS = "english"


def _bm25s() -> Any:
    try:
        import bm25s
    except ImportError:
        raise MissingDependencyError("bm25", "bm25s", "bm25") from None
    return bm25s


def _stopwords(bm25s: Any, name: str | None) -> Any:
    if name is None or name == "none":
        return []
    if name in ("english", "en"):
        # The fuller English list when this bm25s ships it ("en" alone keeps "how", "my", ...).
        try:
            from bm25s.stopwords import STOPWORDS_EN_PLUS
        except ImportError:
            return "en"
        return list(STOPWORDS_EN_PLUS)
    return name


def _tokenize(bm25s: Any, texts: list[str], stopwords: Any) -> list[list[str]]:
    try:
        tokens = bm25s.tokenize(texts, stopwords=stopwords, return_ids=False, show_progress=False)
    except (ValueError, KeyError) as exc:  # an unknown stopword list name
        raise InvalidRequestError(
            f"local/bm25: bad stopwords option {stopwords!r}: {exc}", provider="local"
        ) from None
    return [list(t) for t in tokens]


def score(
    query: str,
    texts: Sequence[str],
    *,
    stopwords: str | None = DEFAULT_STOPWORDS,
    max_tokens: int | None = None,
    truncation: bool | None = None,
    k1: float = 1.5,
    b: float = 0.75,
) -> list[float]:
    """One BM25 score per text (0 where no query word occurs), in input order.

    ``max_tokens`` keeps each document's first ``max_tokens`` tokens (after stopword removal);
    with ``truncation=False`` a longer document is an ``InvalidRequestError`` instead.
    """
    bm25s = _bm25s()
    words = _stopwords(bm25s, stopwords)
    docs = _tokenize(bm25s, list(texts), words)
    if max_tokens is not None:
        for i, tokens in enumerate(docs):
            if len(tokens) > max_tokens:
                if truncation is False:
                    raise InvalidRequestError(
                        f"document {i} has {len(tokens)} BM25 tokens, more than "
                        f"max_tokens_per_doc={max_tokens}, and truncation is false",
                        provider="local",
                    )
                docs[i] = tokens[:max_tokens]
    query_tokens = _tokenize(bm25s, [query], words)[0]
    if not query_tokens or not any(docs):
        # Nothing to match (bm25s cannot index an all-empty corpus nor score an empty query).
        return [0.0] * len(docs)
    retriever = bm25s.BM25(k1=k1, b=b)
    retriever.index(docs, show_progress=False)
    return [float(s) for s in retriever.get_scores(query_tokens)]
