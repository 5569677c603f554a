"""Fixtures for the LangChain integration tests.

The root ``tests/conftest.py`` does not apply to this folder, so the pieces needed here are
re-exported from the root conftest (the repo root is on ``sys.path`` when pytest runs
from it with ``python -m pytest``).
"""

from __future__ import annotations

# The root fixtures (no ambient keys, the loopback server, retry logs captured) are the same
# here: re-exported, not rewritten (pytest registers fixtures found in a conftest's namespace).
from tests.conftest import _no_ambient_keys, _quiet_retries, loopback

__all__ = ["_no_ambient_keys", "_quiet_retries", "loopback"]
