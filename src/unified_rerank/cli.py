"""The ``unified-rerank`` command: ``rerank``, ``batch`` and ``providers``.

Only the standard library loads at start (``--help`` is fast); the client, providers and
``tqdm`` load when a command needs them. Exit codes (docs/cli.md): 0 ok, 1 some batch lines
failed, 2 usage or bad input, 3 provider/auth/network error, 130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import time
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from .client import RerankClient
    from .errors import RerankError

__all__ = ["main"]

EXIT_OK = 0
EXIT_FAILED_LINES = 1
EXIT_USAGE = 2
EXIT_PROVIDER = 3
EXIT_INTERRUPTED = 130

DEFAULT_MODEL = "local/bm25"
DEFAULT_CONCURRENCY = 4


class UsageError(Exception):
    """Bad command-line input (a missing file, a bad JSON line): exit code 2."""


# -- argument parsing ------------------------------------------------------------------------


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {value}")
    return value


def _client_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("provider options")
    g.add_argument(
        "-m",
        "--model",
        default=DEFAULT_MODEL,
        help=f"'provider/model-id' (default: {DEFAULT_MODEL}; also local/cross-encoder:NAME)",
    )
    g.add_argument("--provider", help="provider slug, when --model has no 'provider/' prefix")
    g.add_argument("--base-url", help="API root override (self-hosted servers, proxies, tests)")
    g.add_argument(
        "--api-key",
        help="API key (visible to other users in the process list: prefer the provider's "
        "environment variable, see `unified-rerank providers`)",
    )
    g.add_argument(
        "--timeout",
        type=float,
        default=60.0,
        help="seconds per HTTP attempt (default: %(default)s)",
    )
    g.add_argument(
        "--max-retries",
        type=int,
        default=2,
        help="retries of retryable errors (default: %(default)s)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="unified-rerank",
        description="Rerank documents against a query with any reranking service, or locally.",
        epilog="exit codes: 0 ok, 1 some batch lines failed, 2 usage or bad input, "
        "3 provider/auth/network error, 130 interrupted",
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    r = sub.add_parser(
        "rerank",
        help="rank documents (files or standard input) against one query",
        description="Rank documents against a query. Documents: one per line (blank lines "
        "skipped), or JSON Lines with a `text` field (files ending .jsonl, or --jsonl).",
    )
    r.add_argument("-q", "--query", required=True, help="the query")
    r.add_argument("files", nargs="*", metavar="FILE", help="document files ('-' or none: stdin)")
    r.add_argument("--top-n", type=_positive, help="keep the N best documents")
    r.add_argument("--json", action="store_true", help="print the unified response as JSON")
    r.add_argument("--jsonl", action="store_true", help="read every input as JSON Lines")
    _client_options(r)

    b = sub.add_parser(
        "batch",
        help="rerank many queries from a JSON Lines file, resumably",
        description='Each input line: {"id", "query", "documents"}. Results are appended '
        "to OUT as they finish; a rerun skips ids already done and retries failed ones.",
    )
    b.add_argument("input", metavar="IN.jsonl", help="queries, one JSON object per line")
    b.add_argument("-o", "--output", required=True, metavar="OUT.jsonl", help="results file")
    b.add_argument(
        "--concurrency",
        type=_positive,
        default=DEFAULT_CONCURRENCY,
        help="queries in flight (default: %(default)s)",
    )
    b.add_argument("--top-n", type=_positive, help="keep the N best documents per query")
    b.add_argument(
        "--return-documents", action="store_true", help="include the documents in results"
    )
    b.add_argument(
        "--force",
        action="store_true",
        help="replace OUT even when it is not a results file of this command",
    )
    _client_options(b)

    sub.add_parser("providers", help="list providers, their key variables and whether set")

    from .server.run import add_arguments as serve_arguments  # argparse only, no server import

    serve_arguments(
        sub.add_parser(
            "serve",
            help="serve the unified /rerank HTTP API (needs the server extra)",
            description="Portkey's unified POST /rerank as a self-hosted gateway; "
            "config fields in docs/server.md.",
        )
    )
    return parser


# -- entry point -------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.version:
        from . import __version__

        print(f"unified-rerank {__version__}")
        return EXIT_OK
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        if args.command == "rerank":
            return cmd_rerank(args)
        if args.command == "batch":
            return cmd_batch(args)
        if args.command == "serve":
            from .server.run import serve

            return serve(args)
        return cmd_providers()
    except UsageError as exc:
        _err(f"error: {exc}")
        return EXIT_USAGE
    except KeyboardInterrupt:
        _err("interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # `unified-rerank ... | head`
        _quiet_stdout()
        return EXIT_OK
    except Exception as exc:
        from .errors import RerankError

        if isinstance(exc, RerankError):
            _err(f"error: {for_the_command_line(str(exc))}")
            return _exit_code(exc)
        raise


#: Client arguments the core's messages name (``pass api_key=...``), as this command's flags.
_FLAGS = {
    "api_key": "--api-key",
    "provider": "--provider",
    "base_url": "--base-url",
    "timeout": "--timeout",
    "max_retries": "--max-retries",
}
_PYTHON_HINT = re.compile(r"\b(" + "|".join(_FLAGS) + r")=(?:\.\.\.|<([^>]*)>)")


def for_the_command_line(message: str) -> str:
    """A core message with its Python hints (``api_key=...``) as flags (``--api-key``)."""
    return _PYTHON_HINT.sub(
        lambda m: _FLAGS[m[1]] + (f" <{m[2]}>" if m[2] else ""),
        message,
    )


def _err(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _quiet_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def _exit_code(exc: RerankError) -> int:
    from .errors import InvalidRequestError

    # A 400/422 from a provider is the provider refusing our call: a provider error for scripts.
    if isinstance(exc, InvalidRequestError) and exc.status_code is None:
        return EXIT_USAGE
    return EXIT_PROVIDER


def _client(args: argparse.Namespace) -> RerankClient:
    from .client import RerankClient

    return RerankClient(
        args.provider,
        api_key=args.api_key or None,
        base_url=args.base_url,
        timeout=args.timeout,
        max_retries=args.max_retries,
    )


# -- rerank ------------------------------------------------------------------------------------


def read_documents(files: Sequence[str], *, jsonl: bool, stdin: TextIO | None = None) -> list[Any]:
    """Documents from files (or stdin): one per non-blank line, or JSON Lines objects."""
    docs: list[Any] = []
    for name in files or ["-"]:
        as_jsonl = jsonl or name.endswith(".jsonl")
        label = "<stdin>" if name == "-" else name
        for lineno, line in _lines(name, stdin):
            if not line.strip():
                continue
            if not as_jsonl:
                docs.append(line.rstrip("\r\n"))
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise UsageError(f"{label}:{lineno}: not valid JSON ({exc.msg})") from None
            if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
                raise UsageError(f"{label}:{lineno}: expected a JSON object with a string `text`")
            docs.append(obj)
    return docs


def _lines(name: str, stdin: TextIO | None) -> Iterable[tuple[int, str]]:
    if name == "-":
        return enumerate(stdin or sys.stdin, start=1)
    try:
        with open(name, encoding="utf-8") as f:
            return list(enumerate(f, start=1))
    except FileNotFoundError:
        raise UsageError(f"{name}: no such file") from None
    except UnicodeDecodeError as exc:
        raise UsageError(f"{name}: not UTF-8 text ({exc.reason})") from None
    except OSError as exc:
        raise UsageError(f"{name}: cannot read ({exc.strerror or exc})") from None


def cmd_rerank(args: argparse.Namespace) -> int:
    docs = read_documents(args.files, jsonl=args.jsonl)
    if not docs:
        named = [name for name in args.files if name != "-"]
        if named:
            verb = "is" if len(named) == 1 else "are"
            raise UsageError(f"no documents: {', '.join(named)} {verb} empty (or blank lines only)")
        raise UsageError("no documents on standard input: give files, or lines on standard input")
    with _client(args) as client:
        resp = client.rerank(
            model=args.model,
            query=args.query,
            documents=docs,
            top_n=args.top_n,
            return_documents=True,
        )
    if args.json:
        print(json.dumps(resp.model_dump(exclude_none=True), ensure_ascii=False, indent=2))
    else:
        print_table(resp.model_dump(exclude_none=True), sys.stdout)
    return EXIT_OK


def print_table(resp: dict[str, Any], out: TextIO) -> None:
    """rank, score, index, text (one line, cut to the terminal width)."""
    width = shutil.get_terminal_size((100, 24)).columns
    results = resp["results"]
    score_w = max([5, *(len(f"{r['relevance_score']:.4f}") for r in results)])
    index_w = max([5, *(len(str(r["index"])) for r in results)])
    rank_w = max(4, len(str(len(results))))
    head = f"{'rank':>{rank_w}}  {'score':>{score_w}}  {'index':>{index_w}}  "
    room = max(10, width - len(head))
    out.write(head + "text\n")
    for rank, r in enumerate(results, start=1):
        doc = r.get("document") or {}
        text = " ".join(str(doc.get("text", "")).split())
        if len(text) > room:
            text = text[: room - 1] + "\u2026"
        score = f"{r['relevance_score']:.4f}"
        out.write(f"{rank:>{rank_w}}  {score:>{score_w}}  {r['index']:>{index_w}}  {text}\n")
    count = len(results)
    out.write(f"({resp['provider']}/{resp['model']}, {count} result{'' if count == 1 else 's'})\n")
    out.flush()


# -- batch -------------------------------------------------------------------------------------


def _id_key(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def read_batch_input(path: str) -> list[tuple[int, dict[str, Any]]]:
    """Every input line, checked up front: bad lines are reported together with line numbers."""
    problems: list[str] = []
    items: list[tuple[int, dict[str, Any]]] = []
    seen: dict[str, int] = {}
    for lineno, line in _lines(path, None):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(f"{path}:{lineno}: not valid JSON ({exc.msg})")
            continue
        if not isinstance(obj, dict):
            problems.append(f"{path}:{lineno}: expected a JSON object")
            continue
        missing = [k for k in ("id", "query", "documents") if k not in obj]
        if missing:
            problems.append(f"{path}:{lineno}: missing {', '.join(missing)}")
            continue
        if not isinstance(obj["id"], (str, int)) or isinstance(obj["id"], bool):
            problems.append(f"{path}:{lineno}: `id` must be a string or an integer")
            continue
        key = _id_key(obj["id"])
        if key in seen:
            problems.append(f"{path}:{lineno}: id {obj['id']!r} repeats line {seen[key]}")
            continue
        seen[key] = lineno
        items.append((lineno, obj))
    if problems:
        more = len(problems) - 20
        raise UsageError(
            f"{len(problems)} bad input line(s), nothing was run:\n  "
            + "\n  ".join(problems[:20])
            + (f"\n  ... and {more} more" if more > 0 else "")
        )
    return items


#: How every line this command writes begins (``_write_line``): a torn last line of an
#: interrupted run starts so too; any other unreadable line is not ours.
_RESULT_START = '{"id": '


def _result_line(obj: Any) -> bool:
    """Whether ``obj`` is a line this command writes: a result or an error record."""
    return (
        isinstance(obj, dict)
        and "id" in obj
        and (isinstance(obj.get("results"), list) or isinstance(obj.get("error"), dict))
    )


def _json_or_none(line: str) -> Any:
    try:
        return json.loads(line)
    except ValueError:
        return None


def _not_ours(path: str, lineno: int) -> UsageError:
    return UsageError(
        f"{path}:{lineno}: not a result line of `unified-rerank batch`; refusing to resume "
        "into (and rewrite) this file: choose another -o, or pass --force to replace it"
    )


def read_done(path: str) -> set[str]:
    """Ids already answered in OUT. Failed lines and a torn last line are dropped from OUT
    (rewritten atomically), so a rerun retries them and OUT holds each id once.

    OUT must hold only this command's result lines: any other file is refused
    (``UsageError``) and left untouched."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            lines = f.readlines()
    except FileNotFoundError:
        return set()
    except OSError as exc:
        raise UsageError(f"{path}: cannot read ({exc.strerror or exc})") from None
    keep: list[str] = []
    done: set[str] = set()
    dropped = 0
    for lineno, line in enumerate(lines, start=1):
        if not line.strip():
            dropped += 1
            continue
        torn = not line.endswith("\n")
        obj: Any = None if torn else _json_or_none(line)
        if not _result_line(obj):
            if torn and line.startswith(_RESULT_START):
                dropped += 1  # the last line of a killed run: its id runs again
                continue
            raise _not_ours(path, lineno)
        if "error" in obj:
            dropped += 1
            continue
        key = _id_key(obj["id"])
        if key in done:
            dropped += 1
            continue
        done.add(key)
        keep.append(line)
    if dropped:
        tmp = f"{path}.tmp-{os.getpid()}"
        with open(tmp, "w", encoding="utf-8") as f:
            f.writelines(keep)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    return done


class _Progress:
    """tqdm on a terminal when installed; otherwise plain counts on stderr."""

    def __init__(self, total: int) -> None:
        self.total, self.count, self.bar = total, 0, None
        self.step = max(1, total // 10)
        if sys.stderr.isatty():
            try:
                from tqdm import tqdm

                self.bar = tqdm(total=total, unit="query", file=sys.stderr)
            except ImportError:
                pass

    def update(self, failed: int) -> None:
        self.count += 1
        if self.bar is not None:
            self.bar.update(1)
            if failed:
                self.bar.set_postfix(failed=failed)
        elif self.count % self.step == 0 or self.count == self.total:
            _err(f"{self.count}/{self.total} done" + (f", {failed} failed" if failed else ""))

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _error_record(qid: Any, exc: BaseException) -> dict[str, Any]:
    from .errors import RerankError

    status = exc.status_code if isinstance(exc, RerankError) else None
    message = exc.message if isinstance(exc, RerankError) else str(exc)
    return {
        "id": qid,
        "error": {"type": type(exc).__name__, "message": message, "status_code": status},
    }


def _write_line(fd: int, record: dict[str, Any]) -> None:
    """One complete line per write on an O_APPEND descriptor: never a torn line on Ctrl-C."""
    data = (json.dumps(record, ensure_ascii=False) + "\n").encode()
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


async def _run_batch(
    args: argparse.Namespace, todo: list[dict[str, Any]], fd: int, stats: dict[str, int]
) -> None:
    import asyncio

    from .local import MissingDependencyError

    progress = _Progress(len(todo))
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    for item in todo:
        queue.put_nowait(item)

    async def worker(client: RerankClient) -> None:
        while True:
            try:
                item = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            qid = item["id"]
            try:
                resp = await client.arerank(
                    model=args.model,
                    query=item["query"],
                    documents=item["documents"],
                    top_n=args.top_n,
                    return_documents=args.return_documents,
                )
            except MissingDependencyError:
                raise  # every line would fail alike: stop, as `rerank` does (exit 2)
            except Exception as exc:  # recorded, and the other lines carry on
                record = _error_record(qid, exc)
                stats["failed"] += 1
            else:
                body = resp.model_dump(exclude_none=True)
                record = {"id": qid, "response_id": body.pop("id"), **body}
                stats["done"] += 1
            _write_line(fd, record)
            progress.update(stats["failed"])

    try:
        async with _client(args) as client:
            workers = [worker(client) for _ in range(min(args.concurrency, len(todo)) or 1)]
            await asyncio.gather(*workers)
    finally:
        progress.close()


def _open_output(path: str, source: str, *, force: bool) -> tuple[set[str], int]:
    """The ids already done in OUT and an append descriptor on it; any problem with OUT
    (a directory, no such folder, not ours, not writable) is a ``UsageError``."""
    if os.path.exists(path) and os.path.exists(source) and os.path.samefile(path, source):
        raise UsageError(f"{path}: -o names the input file; choose another results file")
    if os.path.isdir(path):
        raise UsageError(f"{path}: is a directory; -o takes a file")
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT
    try:
        done = set() if force else read_done(path)
        return done, os.open(path, flags | (os.O_TRUNC if force else 0), 0o644)
    except FileNotFoundError:
        folder = os.path.dirname(path) or "."
        raise UsageError(f"{path}: cannot create it: no folder {folder}") from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot write ({exc.strerror or exc})") from None


def cmd_batch(args: argparse.Namespace) -> int:
    import asyncio

    items = read_batch_input(args.input)
    if not items:
        raise UsageError(f"{args.input}: no queries (the file is empty)")
    # Fail fast on a bad model, provider, option or missing key, before touching OUT.
    _client(args)._plan({"model": args.model, "query": "probe", "documents": ["probe"]})
    done, fd = _open_output(args.output, args.input, force=args.force)
    todo = [obj for _, obj in items if _id_key(obj["id"]) not in done]
    skipped = len(items) - len(todo)
    stats = {"done": 0, "failed": 0}
    started = time.monotonic()
    try:
        asyncio.run(_run_batch(args, todo, fd, stats))
    except KeyboardInterrupt:
        _err(
            f"\ninterrupted: {stats['done'] + stats['failed']} result line(s) are safely in "
            f"{args.output}; run the same command again to resume (done ids are skipped)"
        )
        return EXIT_INTERRUPTED
    finally:
        os.close(fd)
    seconds = time.monotonic() - started
    _err(
        f"done {stats['done']}, skipped {skipped} (already in {args.output}), "
        f"failed {stats['failed']} in {seconds:.1f}s"
        + ("; rerun the same command to retry the failed ids" if stats["failed"] else "")
    )
    return EXIT_FAILED_LINES if stats["failed"] else EXIT_OK


# -- providers ---------------------------------------------------------------------------------


def cmd_providers() -> int:
    from .providers import PROVIDERS, get_provider
    from .providers.base import ClientConfig

    rows = [("provider", "key or credential variables", "set", "endpoint variable", "max docs")]
    for slug in PROVIDERS:
        try:
            provider = get_provider(slug)
        except ImportError:
            rows.append((slug, "?", "not installed", "?", "?"))
            continue
        except Exception as exc:  # a broken module must not hide the others
            rows.append((slug, "?", f"error: {type(exc).__name__}", "?", "?"))
            continue
        # The key variables, then any other credentials that make it usable (a provider
        # module's CREDENTIAL_ENV: bedrock's AWS chain, vertex-ai's ADC file).
        keys = (*provider.env_keys, *getattr(provider.module, "CREDENTIAL_ENV", ()))
        is_set = "yes" if any(os.environ.get(k) for k in keys) else "no"
        try:
            limit = provider.limits("", ClientConfig(provider=slug)).max_documents
        except Exception:
            limit = None
        rows.append(
            (
                slug,
                " or ".join(keys) or "(none needed)",
                is_set if keys else "-",
                " or ".join(provider.base_url_env) or "-",
                "-" if limit is None else str(limit),
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r[:4], widths, strict=True)) + "  " + r[4])
    return EXIT_OK
