"""LlamaIndex node postprocessor for unified-rerank: one reranker class for every service."""

from llama_index.postprocessor.unified_rerank.base import SCORE_KEY, UnifiedRerank

__all__ = ["SCORE_KEY", "UnifiedRerank"]
