"""``unified-rerank serve``: the app on uvicorn.

The config is loaded and every upstream built before the socket opens, so a bad config stops
the command with one line naming the field (exit 2). With ``--workers N`` uvicorn runs N
processes, each building the app from the same file (``UNIFIED_RERANK_SERVER_CONFIG``), and
``/metrics`` adds up all of them (prometheus_client's multiprocess mode, in a temporary folder).
"""

from __future__ import annotations

import argparse
import copy
import os
import sys
import tempfile
from typing import Any

__all__ = ["add_arguments", "serve"]

EXIT_OK, EXIT_USAGE = 0, 2


def _port(text: str) -> int:
    """A TCP port; argparse turns the refusal into one usage line (exit 2)."""
    if not text.isdigit() or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number (0 to 65535)")
    return int(text)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``serve`` options (nothing is imported here: ``--help`` stays fast)."""
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: loopback)")
    parser.add_argument("--port", type=_port, default=8787, help="port (default 8787)")
    parser.add_argument("--config", metavar="FILE", help="server config, JSON or YAML")
    parser.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    parser.add_argument(
        "--log-level",
        default="info",
        choices=["debug", "info", "warning", "error"],
        help="info logs one line per request (default info)",
    )


def _log_config(level: str) -> dict[str, Any]:
    """uvicorn's logging config plus this package's loggers, applied in every worker."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["loggers"]["unified_rerank"] = {
        "handlers": ["default"],
        "level": level.upper(),
        "propagate": False,
    }
    return config


def serve(args: argparse.Namespace) -> int:
    """Run the server until interrupted; 2 on a bad config or a missing extra."""
    try:
        import uvicorn
    except ImportError:
        print(
            "error: serve needs the server extra: pip install 'unified-rerank[server]'",
            file=sys.stderr,
        )
        return EXIT_USAGE
    from .app import create_app
    from .config import CONFIG_ENV, ConfigError, load_config

    if args.workers < 1:
        print("error: --workers must be at least 1", file=sys.stderr)
        return EXIT_USAGE
    try:
        app = create_app(load_config(args.config))
    except ConfigError as exc:
        print(f"error: config: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if not app.config.server_keys and args.host not in ("127.0.0.1", "localhost", "::1"):
        print(
            f"warning: listening on {args.host} without server_keys: anyone who can reach it "
            "can use its virtual keys",
            file=sys.stderr,
        )
    options = {
        "host": args.host,
        "port": args.port,
        "log_level": args.log_level,
        "log_config": _log_config(args.log_level),
        # Per-request work the gateway does not need: no proxy header rewriting (it logs no
        # client address), no Server header.
        "proxy_headers": False,
        "server_header": False,
    }
    if args.workers == 1:
        uvicorn.run(app, access_log=False, **options)
        return EXIT_OK
    if args.config:
        os.environ[CONFIG_ENV] = os.path.abspath(args.config)
    with tempfile.TemporaryDirectory(prefix="unified-rerank-metrics-") as folder:
        os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", folder)
        uvicorn.run(
            "unified_rerank.server.app:app_from_env",
            factory=True,
            workers=args.workers,
            access_log=False,
            **options,
        )
    return EXIT_OK
