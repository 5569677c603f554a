"""What the command says: flags and variables rather than Python arguments, the provider a
model names, the defaults in --help, every variable that makes a provider usable, plurals."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from unified_rerank import cli
from unified_rerank.providers import PROVIDERS

FAQ = str(Path(__file__).resolve().parents[1] / "examples" / "faq.txt")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_an_unknown_provider_prefix_is_named_with_the_known_ones(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _, err = run(capsys, "rerank", "-q", "q", "-m", "foo/bar", FAQ)
    assert code == 2
    assert "unknown provider 'foo'" in err and "cannot tell" not in err
    assert all(slug in err for slug in PROVIDERS)


def test_errors_name_flags_and_variables_not_python_arguments(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _, err = run(capsys, "rerank", "-q", "q", "-m", "cohere/rerank-v3.5", FAQ)
    assert code == 3 and "--api-key" in err and "COHERE_API_KEY" in err
    assert "api_key=" not in err
    code, _, err = run(capsys, "rerank", "-q", "q", "-m", "rerank-v3.5", FAQ)
    assert code == 2 and "--provider" in err and "provider=" not in err
    assert err.count("\n") == 1  # one line


def test_python_hints_become_flags() -> None:
    said = cli.for_the_command_line(
        "no API key for x: pass api_key=... or set X_KEY; or pass api_key=<access token>; "
        "x needs base_url=... ; pass provider=...; region=... stays"
    )
    assert said == (
        "no API key for x: pass --api-key or set X_KEY; or pass --api-key <access token>; "
        "x needs --base-url ; pass --provider; region=... stays"
    )


def test_help_shows_the_defaults(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main(["batch", "--help"])
    flat = " ".join(capsys.readouterr().out.split())
    assert "seconds per HTTP attempt (default: 60.0)" in flat
    assert "retries of retryable errors (default: 2)" in flat
    assert "queries in flight (default: 4)" in flat


def test_providers_lists_every_variable_that_makes_one_usable(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("AWS_BEARER_TOKEN_BEDROCK", "AWS_ACCESS_KEY_ID", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_PROFILE", "dev")
    code, out, _ = run(capsys, "providers")
    assert code == 0
    rows = {line.split()[0]: line for line in out.splitlines()[1:]}
    bedrock = rows["bedrock"].split()
    assert {"AWS_BEARER_TOKEN_BEDROCK", "AWS_ACCESS_KEY_ID", "AWS_PROFILE"} <= set(bedrock)
    assert "yes" in bedrock  # the AWS credential chain is set up through AWS_PROFILE
    azure = rows["azure-ai"].split()
    assert "AZURE_AI_API_KEY" in azure and "AZURE_AI_ENDPOINT" in azure
    assert "GOOGLE_APPLICATION_CREDENTIALS" in rows["vertex-ai"]


@pytest.mark.parametrize(("count", "said"), [(1, "1 result)"), (2, "2 results)")])
def test_result_count_is_singular_or_plural(count: int, said: str) -> None:
    resp = {
        "provider": "local",
        "model": "bm25",
        "results": [
            {"index": i, "relevance_score": 1.0, "document": {"text": "t"}} for i in range(count)
        ],
    }
    buf = io.StringIO()
    cli.print_table(resp, buf)
    assert buf.getvalue().splitlines()[-1] == f"(local/bm25, {said}"
