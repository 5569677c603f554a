"""The server's config file: the documented examples load, bad configs refuse to start with
one line naming the field, and ``unified-rerank serve`` exits 2 on them."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.server.serving import ROOT
from unified_rerank.server import ConfigError, ServerConfig, create_app, load_config

EXAMPLES = ROOT / "examples"


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("COHERE_API_KEY", "VOYAGE_API_KEY"):
        monkeypatch.setenv(name, f"value-of-{name}")
    monkeypatch.setenv("UNIFIED_RERANK_REDIS_URL", "redis://127.0.0.1:1/0")  # never connected
    monkeypatch.setenv("UNIFIED_RERANK_SERVER_KEYS", "k1, k2")


@pytest.mark.parametrize("name", ["server-config.json", "server-config.yaml"])
def test_the_examples_load_and_build(env: None, name: str) -> None:
    config = load_config(str(EXAMPLES / name))
    assert config.server_keys == (b"k1", b"k2")
    app = create_app(config)
    assert set(app.upstreams._virtual) == set(config.virtual_keys)
    assert set(app.upstreams._named) == set(config.configs)
    assert "value-of" not in repr(config) and "k1" not in repr(config)


def test_docs_name_every_config_field() -> None:
    doc = (ROOT / "docs" / "server.md").read_text()
    from unified_rerank.server.config import CacheSettings, _File

    for field in [*_File.model_fields, *CacheSettings.model_fields]:
        assert f"`{field}`" in doc, field


@pytest.mark.parametrize(
    ("data", "where"),
    [
        ({"virtual_key": {}}, "virtual_key: unknown field"),
        ({"virtual_keys": {"a": {"api_key": "k"}}}, "virtual_keys.a.provider"),
        ({"virtual_keys": {"a": {"provider": "nope", "api_key": "k"}}}, "virtual_keys.a:"),
        ({"virtual_keys": {"a": {"provider": "cohere", "colour": 1}}}, "virtual_keys.a:"),
        (
            {"virtual_keys": {"a": {"provider": "cohere", "api_key": "k", "api_key_env": "X"}}},
            "virtual_keys.a: give api_key or api_key_env",
        ),
        ({"virtual_keys": {"a": {"provider": "cohere", "api_key_env": "UNSET_X"}}}, "UNSET_X"),
        (
            {"virtual_keys": {"a": {"provider": "cohere", "timeout": "slow"}}},
            "virtual_keys.a: timeout",
        ),
        ({"server_keys": []}, "server_keys"),
        ({"server_keys": [""]}, "server_keys"),
        ({"server_keys_env": "UNSET_KEYS"}, "server_keys_env"),
        ({"allow_custom_host": "maybe"}, "allow_custom_host"),
        ({"max_body_bytes": 0}, "max_body_bytes"),
        ({"cache": {"store": "memcached"}}, "cache.store"),
        ({"cache": {"ttl": -1}}, "cache.ttl"),
        ({"cache": {"store": "redis", "url": "http://x"}}, "cache.url: Redis URL"),
        ({"configs": {"c": {"targets": []}}}, "configs.c.targets"),
        ({"configs": {"c": {"targets": [{"virtual_key": "none"}]}}}, "configs.c.targets.0"),
        (
            {"configs": {"c": {"strategy": {"mode": "x"}, "targets": [{"provider": "cohere"}]}}},
            "configs.c",
        ),
        ([1], "top level"),
    ],
)
def test_bad_configs_name_the_field(data: object, where: str) -> None:
    with pytest.raises(ConfigError) as info:
        create_app(ServerConfig.from_mapping(data))
    message = str(info.value)
    assert where in message and "\n" not in message


def test_unreadable_and_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(str(tmp_path / "missing.json"))
    bad = tmp_path / "bad.json"
    bad.write_text('{"virtual_keys": ')
    with pytest.raises(ConfigError, match="line 1"):
        load_config(str(bad))
    bad_yaml = tmp_path / "bad.yaml"
    bad_yaml.write_text("a: [1,\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(str(bad_yaml))


def test_serve_refuses_a_bad_config_with_one_line(tmp_path: Path) -> None:
    path = tmp_path / "server.json"
    path.write_text(
        json.dumps({"virtual_keys": {"prod": {"provider": "cohere", "api_key_env": "UNSET_Y"}}})
    )
    out = subprocess.run(
        [sys.executable, "-m", "unified_rerank", "serve", "--config", str(path), "--port", "1"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2
    assert out.stderr.strip().count("\n") == 0
    assert re.search(r"virtual_keys\.prod\.api_key_env.*UNSET_Y", out.stderr)


@pytest.mark.parametrize("port", ["99999", "-1", "http"])
def test_serve_refuses_a_port_out_of_range_with_one_line(port: str) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "unified_rerank", "serve", "--port", port],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2
    assert "--port" in out.stderr and "Traceback" not in out.stderr


def test_the_app_object_for_other_asgi_servers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "server.json"
    path.write_text(json.dumps({"virtual_keys": {"co": {"provider": "cohere", "api_key": "k"}}}))
    monkeypatch.setenv("UNIFIED_RERANK_SERVER_CONFIG", str(path))
    import unified_rerank.server.app as module

    monkeypatch.setattr(module, "_built", [])
    from unified_rerank.server.app import app

    assert callable(app) and set(app.upstreams._virtual) == {"co"}
    assert module.app is app  # built once
