"""``python -m unified_rerank``: the ``unified-rerank`` command."""

from __future__ import annotations

from .cli import main

raise SystemExit(main())
