"""The ``vidgraph`` Typer app and what every command shares: consoles, one-line errors, JSON output, examples.

Commands live one per module in this package and only map the API's results and errors to output and exit codes;
validation is the API's. Heavy modules are imported inside the commands, so ``vidgraph --help`` stays fast.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Annotated, Any

import typer

from .. import __version__

app = typer.Typer(
    name="vidgraph",
    help="Answer questions about long videos: index a folder of videos once, then inspect and ask.\n\n"
         "[dim]Example:[/dim]  vidgraph index ~/videos --stages scan,asr   then   vidgraph inspect ~/videos",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

_STATE = {"debug": False}


def terminal(stderr: bool = False) -> Any:
    from rich.console import Console

    console = Console(stderr=stderr, highlight=False)
    if not console.is_terminal:
        console.width = max(console.width, 160)  # logs and pipes: do not squeeze tables
    console.on_broken_pipe = _reader_left  # Rich would exit 1: a reader that left is not an error
    return console


def _reader_left() -> None:
    _quiet_stdout()
    raise typer.Exit(0)


def show(record: Any, printer: Any, json_out: bool, code: int) -> None:
    """Print a result record (``to_dict()`` as JSON with ``--json``, else ``printer``) and exit with ``code``."""
    if json_out:
        echo_json(record.to_dict())
    else:
        printer(record, terminal())
    raise typer.Exit(code)


def echo_json(data: Any) -> None:
    """``--json``: the data as indented JSON on stdout (non-ASCII kept as is)."""
    import json

    typer.echo(json.dumps(data, indent=2, ensure_ascii=False))


def error_line(text: str) -> None:
    from rich.text import Text

    terminal(stderr=True).print(Text(f"error: {text}", style="bold red"), soft_wrap=True)


def command(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Run a command: vidgraph errors are one line and exit 1; --debug re-raises with the traceback."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from ..errors import VidgraphError, os_failure

        usage = type(typer.BadParameter("")).__mro__[1]  # the UsageError of the click typer runs on
        try:
            try:
                return fn(*args, **kwargs)
            finally:
                sys.stdout.flush()  # a reader that left shows here, inside the command
        except (typer.Exit, typer.Abort, SystemExit, usage):
            raise  # a malformed command line: click prints the usage and exits 2
        except BrokenPipeError:  # the reader went away (vidgraph inspect … | head -1): not an error
            _quiet_stdout()
            raise typer.Exit(0) from None
        except KeyboardInterrupt:
            if _STATE["debug"]:
                raise
            error_line("interrupted (run the same command again: it resumes where it stopped)")
            raise typer.Exit(130) from None
        except VidgraphError as e:
            if _STATE["debug"]:
                raise
            error_line(" ".join(str(e).split("\n")))
            raise typer.Exit(1) from None
        except OSError as e:  # a file or disk the index needs: one line naming the path
            if _STATE["debug"]:
                raise
            error_line(" ".join(str(os_failure(e, e.filename or "?")).split("\n")))
            raise typer.Exit(1) from None
        except Exception as e:  # noqa: BLE001 - a bug: still one line unless --debug
            if _STATE["debug"]:
                raise
            error_line(f"internal error: {type(e).__name__}: {e} (run with --debug for the traceback and report it)")
            raise typer.Exit(1) from None

    return wrapper


def _quiet_stdout() -> None:
    """After a broken pipe: point stdout at /dev/null so Python's exit does not complain about the flush."""
    import os
    import sys

    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except OSError:
        pass


def _version(value: bool) -> None:
    if value:
        typer.echo(f"vidgraph {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show full tracebacks instead of one-line errors.",
                                        envvar="VIDGRAPH_DEBUG")] = False,
) -> None:
    _STATE["debug"] = debug


def examples(*lines: tuple[str, str]) -> str:
    """An epilog: one example command per line with its comment."""
    width = max(len(cmd) for cmd, _ in lines)
    return "[b]Examples[/b]\n\n" + "\n\n".join(f"  {cmd:<{width}}  [dim]# {note}[/dim]" for cmd, note in lines)
