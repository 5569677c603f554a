"""LlamaIndex node postprocessor for unified-rerank: one reranker class for every service."""

from llama_index.postprocessor.unified_rerank.base import UnifiedRerank

__all__ = ["UnifiedRerank"]
