from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.faults import FaultServer

#: Provider keys held by the server's config in these tests: never in any answer or log.
SECRET = "sk-server-held-cohere-key"
BACKUP_SECRET = "sk-server-held-backup-key"
GATEWAY_KEY = "gw-test-key-1"


@pytest.fixture
def upstream() -> Iterator[FaultServer]:
    """A Cohere-shaped loopback upstream answering correct rankings (faults scripted per query)."""
    server = FaultServer(slow_delay=2.0).start()
    server.keep_bodies = True
    yield server
    server.stop()


@pytest.fixture
def backup() -> Iterator[FaultServer]:
    server = FaultServer().start()
    server.keep_bodies = True
    yield server
    server.stop()


def vk(url: str, key: str = SECRET, **options: object) -> dict[str, object]:
    """A ``virtual_keys`` entry for a Cohere-shaped loopback upstream."""
    return {"provider": "cohere", "api_key": key, "base_url": url, **options}
