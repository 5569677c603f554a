"""LangChain integration for unified-rerank: ``UnifiedRerank``, one document compressor for
every reranking service (Cohere, Voyage, Jina, Pinecone, AWS Bedrock, Azure AI, self-hosted
engines, ...)."""

from langchain_unified_rerank.rerank import UnifiedRerank

__all__ = ["UnifiedRerank"]
