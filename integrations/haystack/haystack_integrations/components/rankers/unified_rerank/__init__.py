"""Haystack integration for unified-rerank: ``UnifiedRanker``, one ranker component for every
reranking service (Cohere, Voyage, Jina, Pinecone, AWS Bedrock, Azure AI, self-hosted engines,
the embedded BM25, ...)."""

from haystack_integrations.components.rankers.unified_rerank.ranker import UnifiedRanker

__all__ = ["UnifiedRanker"]
