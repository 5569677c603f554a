"""``unified-rerank serve``: Portkey's unified ``/rerank`` API as a self-hosted gateway.

The server is one more user of the core: an HTTP request and its headers become a
``RerankRequest`` and a reranker (``RerankClient``, ``Router``, ``CachedReranker``), and the
answer is the unified JSON, or an error JSON with the upstream's status. It holds no provider
knowledge. Needs the ``server`` extra (``pip install 'unified-rerank[server]'``).

- ``app.py``: the ASGI app (routes, gateway keys, body limit, answers, logs, metrics).
- ``upstream.py``: headers and config -> the reranker a request goes to.
- ``config.py``: the config file, loaded and validated (``docs/server.md``).
- ``errors.py``: errors as HTTP answers.
- ``metrics.py``: Prometheus collectors.
- ``stores.py``: the cache stores (in-process, Redis).
- ``run.py``: the ``serve`` command on uvicorn.
- ``openapi.json``: the API's description, served at ``/openapi.json``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .app import RerankServer, create_app
    from .config import ConfigError, ServerConfig, load_config

__all__ = ["ConfigError", "RerankServer", "ServerConfig", "create_app", "load_config"]

_WHERE = {
    "RerankServer": ".app",
    "create_app": ".app",
    "ConfigError": ".config",
    "ServerConfig": ".config",
    "load_config": ".config",
}


def __getattr__(name: str) -> Any:
    # Lazy: `unified-rerank --help` reads the serve options (run.py) without the server extra.
    where = _WHERE.get(name)
    if where is None:
        raise AttributeError(name)
    import importlib

    return getattr(importlib.import_module(where, __name__), name)
