"""``vidgraph ask``: answer a question about a folder's videos with cited moments; live steps on stderr."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from .app import app, command, show, terminal


_ASK_EXIT = ("Exit codes: 0 answered; 3 the agents abstained (\"Not in the video.\": nothing found supports an "
             "answer; for multiple choice, an option saying the video does not show it, or an unsupported choice); "
             "1 an error, a model server that is down included (one line on stderr; --debug for the traceback); 2 a "
             "malformed command line (unknown flag, missing argument), with a usage message.")

_ASK_EXAMPLES = "[b]Examples[/b]\n\n" + "\n\n".join(f"  [dim]# {note}[/dim]\n  {cmd}" for note, cmd in (
    ("a needle: one fact said or shown once", 'vidgraph ask ~/videos "What is the invoice number?"'),
    ("multiple choice (the answer is a letter)",
     'vidgraph ask ~/videos "When is the meeting?" --option Monday --option Thursday --option Friday'),
    ("counting, times, order, lists: computed by the index (no model call)",
     'vidgraph ask ~/videos "How many times is the pump mentioned?"'),
    ("grounding: the k-th time a word is said, to the word", 'vidgraph ask ~/videos "When is budget said the second '
                                                             'time?"'),
    ("several videos (default: all of them)",
     'vidgraph ask ~/videos "Which talk mentions the budget?" --video a.mp4 --video b.mp4'),
    ("a model on an OpenAI-compatible server (vLLM, Ollama, llama.cpp server)",
     'vidgraph ask ~/videos "Who speaks first?" --model openai:qwen2.5-7b@http://localhost:8000/v1'),
    ("the Answer as JSON, for scripts", 'vidgraph ask ~/videos "What is the invoice number?" --json --quiet')))


@app.command(help="Answer QUESTION about the videos of FOLDER, citing the moments that prove it (video, time, "
                  "modality, evidence). Whatever is not indexed yet is indexed first.\n\n"
                  "Strategies: auto (= tools: query tools over the index compute counts, times, order and lists; "
                  "the model picks the calls and reads what they found; citations come from the tools), classic "
                  "(the first design's routing: rag, search or mapreduce), rag (retrieve and answer in one call), "
                  "search (look at frames, split, move between moments), mapreduce (read every clip, then "
                  "combine), uniform (evenly spaced frames, no memory: a baseline). The steps of the agents are "
                  "printed on stderr as they happen (--quiet hides them and the progress bars).\n\n"
                  + _ASK_EXIT,
             epilog=_ASK_EXAMPLES)
@command
def ask(
    folder: Annotated[Path, typer.Argument(help="A folder of videos (indexed first if needed).", show_default=False)],
    question: Annotated[str, typer.Argument(help="The question, in quotes.", show_default=False)],
    option: Annotated[Optional[list[str]], typer.Option(  # noqa: UP007
        "--option", "-o", metavar="TEXT", help="A choice of a multiple-choice question; repeat it 2 to 10 times "
        "(the answer is the letter A, B, ...).", show_default=False)] = None,
    video: Annotated[Optional[list[str]], typer.Option(  # noqa: UP007
        "--video", "-v", metavar="NAME", help="Only this video (name, path or id); repeat for several. "
        "\\[default: every video]", show_default=False)] = None,
    strategy: Annotated[str, typer.Option(
        "--strategy", "-s", metavar="NAME", help="auto, tools, classic, rag, search, mapreduce or uniform.")] = "auto",
    model: Annotated[Optional[str], typer.Option(  # noqa: UP007
        "--model", "-m", metavar="BACKEND:MODEL", help="The language model: llamacpp:qwen2.5-coder-0.5b (faster), "
        "openai:MODEL@http://host:port/v1, transformers:/path/to/model-dir. \\[default: settings llm, "
        "llamacpp:qwen2.5-coder-1.5b]", show_default=False)] = None,
    looks: Annotated[Optional[int], typer.Option(  # noqa: UP007
        "--looks", metavar="N", help="At most N looks (frames decoded and analysed on a span). \\[default: 3]",
        show_default=False)] = None,
    calls: Annotated[Optional[int], typer.Option(  # noqa: UP007
        "--calls", metavar="N", help="At most N model calls. \\[default: 10]", show_default=False)] = None,
    seconds: Annotated[Optional[float], typer.Option(  # noqa: UP007
        "--seconds", metavar="S", help="At most S seconds of wall time for the agents. \\[default: 300]",
        show_default=False)] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the Answer as JSON (answer.to_dict()) on stdout: "
                                                          "text, found, choice, citations, trace, cost.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No steps or progress bars on stderr.")] = False,
    index_dir: Annotated[Optional[Path], typer.Option(  # noqa: UP007
        "--index-dir", help="Where the index lives. \\[default: FOLDER/.vidgraph]", show_default=False)] = None,
) -> None:
    """Ask a question (help text above)."""
    from ..agents import Budget, check_question
    from ..index.reporter import RichReporter
    from ..library import Library

    check_question(question, option, strategy, folder)  # refused before anything is indexed or loaded
    budget = Budget(**{k: v for k, v in {"looks": looks, "calls": calls, "seconds": seconds}.items() if v is not None})
    library = Library(folder, index_dir=index_dir)
    progress: Any = False if quiet else RichReporter(terminal(stderr=True))
    on_step = None if quiet else _StepPrinter(library, terminal(stderr=True))
    answer = library.ask(question, option or None, strategy=strategy, model=model, videos=video or None,
                         budget=budget, progress=progress, on_step=on_step)
    show(answer, _print_answer, json_out, 0 if answer.found else 3)


class _StepPrinter:
    """Prints each step of the agents as one dim line on stderr as it happens."""

    def __init__(self, library: Any, console: Any) -> None:
        self.library, self.console, self.names = library, console, None

    def __call__(self, step: Any) -> None:
        from rich.text import Text

        from ..agents.answer import STEP_COLOURS
        from ..records import fmt_span

        if self.names is None:
            self.names = {e.video_id: e.name for e in self.library.videos()}
        where = " ".join(x for x in (self.names.get(step.video_id, step.video_id) if step.video_id else "",
                                     fmt_span(step.span) if step.span else "") if x)
        used = f"{step.seconds:.1f} s" + (f", {step.calls} call{'s' if step.calls > 1 else ''}" if step.calls else "")
        detail = " ".join(step.detail.split())
        line = Text("  ")
        line.append(f"{step.kind:<9}", style=STEP_COLOURS.get(step.kind, ""))
        line.append(f" {where}  " if where else " ")
        line.append(detail[:200] + ("…" if len(detail) > 200 else ""))
        line.append(f"  ({used})", style="dim")
        self.console.print(line, soft_wrap=True, overflow="ignore", no_wrap=True)


_STYLES = {"found": "bold green", "abstained": "bold red", "chosen": "bold", "option": "dim", "summary": "dim",
           "citation": ""}


def _print_answer(answer: Any, console: Any) -> None:
    """The answer's own lines (``Answer.lines``: text, options, summary, cited moments), styled."""
    from rich.text import Text

    for style, line in answer.lines():
        console.print(Text(line, style=_STYLES[style]), soft_wrap=True)
