"""What the agents return: the ``Answer`` with its cited moments, trace and cost, and its faces — lines of text
(terminals, ``str(answer)``), HTML (notebooks: thumbnails embedded as data URLs, the trace as a timeline), and an
export for people (``Answer.export``: each cited moment as a clip, with ``report.html`` and ``answer.json``).

The export cuts clips with ``tools.clips`` (a tool: below the agents, imported only when exporting). An answer
knows its moments (video id, file name relative to the library, span) but not where the library keeps its files —
that is the library's catalog — so ``Library.export(answer, folder)`` hands the files down by id and nothing
imports upwards.

Every piece of text that came from a video is HTML-escaped in the HTML face.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any

from ..records import LETTERS, Record, Span, fmt_span


STEP_COLOURS = {"routed": "#6b7280", "retrieved": "#2563eb", "looked": "#d97706", "split": "#9333ea",
                "moved": "#0891b2", "decided": "#4b5563", "planned": "#6b7280", "mapped": "#059669",
                "reduced": "#047857", "drafted": "#1d4ed8", "reflected": "#7c3aed", "answered": "#15803d",
                "abstained": "#b91c1c", "budget": "#b45309", "error": "#b91c1c", "called": "#2563eb"}
CSS = "font-family:system-ui,sans-serif;font-size:13px;line-height:1.4;max-width:980px"


@dataclass(frozen=True, slots=True, kw_only=True)
class Citation(Record):
    """A moment that supports an answer: the video, the span, the modality and the evidence text seen there."""

    video_id: str
    video: str
    span: Span
    modality: str
    evidence: str
    frame: str | None = None
    """Path of a thumbnail inside the span (for notebooks and reports)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Step(Record):
    """One step of an agent's work (``routed``, ``retrieved``, ``looked``, ``split``, ``moved``, ``called``,
    ``mapped``, ``drafted``, ``reflected``, ``answered``, ``abstained``, ``budget``, ``error``), with the moment it
    concerns when there is one."""

    kind: str
    detail: str
    video_id: str = ""
    span: Span | None = None
    seconds: float = 0.0
    calls: int = 0
    prompt: str = ""
    """The version of the prompt the model read at this step (``name@hash`` of its file), when one did."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Cost(Record):
    """What answering one question used."""

    model_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    frames: int = 0
    """Frames looked at (decoded and analysed on demand)."""
    looks: int = 0
    seconds: float = 0.0

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def __str__(self) -> str:
        return (f"{_n(self.model_calls, 'model call')}, {_n(self.tokens, 'token')}, "
                f"{_n(self.frames, 'frame')} looked at, {self.seconds:.1f} s")


@dataclass(frozen=True, slots=True, kw_only=True)
class Answer(Record):
    """The answer to a question, with the moments that prove it and how it was found.

    ``found`` is False when the agents abstained ("not in the video"); ``choice`` is the option letter for a
    multiple-choice question. Every answer with ``found`` has at least one citation.
    """

    question: str
    text: str
    found: bool
    choice: str | None = None
    options: tuple[str, ...] = ()
    confidence: float = 0.0
    citations: tuple[Citation, ...] = ()
    trace: tuple[Step, ...] = ()
    cost: Cost = Cost()
    strategy: str = ""
    model: str = ""

    def lines(self) -> Iterator[tuple[str, str]]:
        """``(style, line)`` pairs: the answer, its options, the summary, then one line per cited moment. Styles:
        ``found`` / ``abstained``, ``chosen`` / ``option``, ``summary``, ``citation``."""
        yield ("found" if self.found else "abstained"), self.text
        for i, option in enumerate(self.options):
            yield ("chosen" if LETTERS[i] == self.choice else "option"), f"  {LETTERS[i]}. {option}"
        yield "summary", f"confidence {self.confidence:.2f} · {self.strategy} · {self.model} · {self.cost}"
        for c in self.citations:
            evidence = " ".join(c.evidence.split())
            yield "citation", f"  {c.video}  {fmt_span(c.span)}  {c.modality}  {_clip(evidence, 300)}"

    def __str__(self) -> str:
        return "\n".join(line for _, line in self.lines())

    def _repr_html_(self) -> str:
        return answer_html(self)

    def export(self, folder: str | Path, videos: Any, fmt: str = "mp4", pad: float = 1.0) -> Exported:
        """Write each cited moment as a clip (``fmt`` mp4 or webm, the span widened by ``pad`` s each side) with
        ``report.html`` and ``answer.json`` into ``folder``. ``videos``: the ``Library`` (it knows its files:
        ``Library.export``), the file of each cited video by id, or the library folder (a citation names its file
        relative to it). See ``export_answer``."""
        if hasattr(videos, "export") and hasattr(videos, "catalog_path"):  # a Library (not imported: it is above)
            return videos.export(self, folder, fmt, pad)
        return export_answer(self, folder, videos, fmt, pad)


def _n(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _clip(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def img_html(path: str | None, width: int = 160) -> str:
    """A JPEG file as an ``<img>`` with a data URL (a grey box when it is missing)."""
    if not path or not Path(path).is_file():
        return f'<div style="width:{width}px;height:{width * 9 // 16}px;background:#e5e7eb"></div>'
    data = base64.b64encode(Path(path).read_bytes()).decode()
    return f'<img src="data:image/jpeg;base64,{data}" style="width:{width}px;border-radius:4px">'


def _citation_card(c: Citation) -> str:
    return (f'<div style="display:inline-block;vertical-align:top;width:170px;margin:4px">{img_html(c.frame)}'
            f'<div><b>{escape(fmt_span(c.span))}</b> <span style="color:#6b7280">{escape(c.modality)}</span></div>'
            f'<div style="color:#374151">{escape(c.video)}</div>'
            f'<div style="font-size:12px">{escape(_clip(c.evidence, 140))}</div></div>')


def answer_html(a: Answer) -> str:
    """The answer, cited moments as thumbnails with timestamps, and the trace as a timeline."""
    colour = "#15803d" if a.found else "#b91c1c"
    options = ""
    if a.options:
        bold = ' style="font-weight:600"'
        rows = "".join(f"<li{bold if a.choice == LETTERS[i] else ''}>{LETTERS[i]}. {escape(o)}</li>"
                       for i, o in enumerate(a.options))
        options = f'<ol style="list-style:none;padding-left:0;margin:4px 0">{rows}</ol>'
    cards = "".join(_citation_card(c) for c in a.citations) or '<i>no cited moments</i>'
    steps = "".join(
        f'<tr><td style="color:{STEP_COLOURS.get(s.kind, "#374151")};font-weight:600;padding-right:8px">'
        f'{escape(s.kind)}</td><td style="white-space:nowrap;padding-right:8px">'
        f'{escape(fmt_span(s.span)) if s.span else ""}</td><td>{escape(_clip(s.detail, 220))}</td>'
        f'<td style="color:#6b7280;white-space:nowrap;padding-left:8px">{s.seconds:.1f} s'
        f'{f" · {s.calls} call" + ("s" if s.calls > 1 else "") if s.calls else ""}</td></tr>'
        for s in a.trace)
    return (f'<div style="{CSS}"><div style="color:#6b7280">{escape(a.question)}</div>{options}'
            f'<div style="font-size:18px;font-weight:600;color:{colour};margin:4px 0">{escape(a.text)}</div>'
            f'<div style="color:#6b7280">confidence {a.confidence:.2f} · {escape(a.strategy)} · '
            f'{escape(a.model)} · {escape(str(a.cost))}</div>'
            f'<div style="margin:8px 0">{cards}</div>'
            f'<details><summary>trace ({len(a.trace)} steps)</summary><table>{steps}</table></details></div>')


# -- the export: cited moments as clips, with a report ---------------------------------------------------------


@dataclass(frozen=True)
class Exported:
    """What ``Answer.export`` wrote: the folder, the report files, one clip per citation (None when its video
    file was not available or could not be cut, with the reason in ``problems``)."""

    folder: Path
    report: Path
    json: Path
    clips: tuple[Path | None, ...]
    problems: tuple[str, ...] = ()


def export_answer(answer: Answer, folder: str | Path, videos: Mapping[str, str | Path] | str | Path, fmt: str = "mp4",
                  pad: float = 1.0) -> Exported:
    """Write ``answer``'s cited moments as clips (each span widened by ``pad`` seconds on both sides) and the
    report into ``folder`` (created; files of an earlier export there are replaced)."""
    from ..tools.clips import cut_clip, still

    out = Path(folder)
    (out / "clips").mkdir(parents=True, exist_ok=True)
    clips: list[Path | None] = []
    thumbs: list[str | None] = []
    problems: list[str] = []
    for n, c in enumerate(answer.citations, 1):
        src = _source(c, videos)
        span = Span(max(0.0, c.span.start - pad), c.span.end + pad)
        stem = f"{n:02d}_{_safe(Path(c.video).stem)}_{span.start:.1f}-{span.end:.1f}"
        clip = thumb = None
        if src is None:
            problems.append(f"{n}: {c.video}: the video file is not available")
        else:
            try:
                clip = cut_clip(src, span, out / "clips" / f"{stem}.{fmt}", fmt)
                thumb = out / "clips" / f"{stem}.jpg"
                if c.frame and Path(c.frame).is_file():
                    shutil.copyfile(c.frame, thumb)
                else:
                    still(src, c.span.middle, thumb, 320)
            except Exception as e:  # noqa: BLE001 - one bad moment does not stop the report
                problems.append(f"{n}: {c.video} {fmt_span(c.span)}: {getattr(e, 'message', None) or e}")
                clip = thumb = None
        clips.append(clip)
        thumbs.append(thumb.name if thumb else None)
    data = answer.to_dict()
    for d, clip, c in zip(data["citations"], clips, answer.citations):
        d["frame"] = None  # a path inside the index: not part of the export
        d["clip"] = f"clips/{clip.name}" if clip else None
        d["clip_span"] = {"start": max(0.0, c.span.start - pad), "end": c.span.end + pad}
    data["problems"] = problems
    (out / "answer.json").write_text(json.dumps(data, indent=1, ensure_ascii=False), encoding="utf-8")
    (out / "report.html").write_text(report_html(answer, clips, thumbs, problems), encoding="utf-8")
    return Exported(out, out / "report.html", out / "answer.json", tuple(clips), tuple(problems))


def _source(c: Citation, videos: Mapping[str, str | Path] | str | Path) -> Path | None:
    if isinstance(videos, Mapping):
        path = videos.get(c.video_id)
        return Path(path) if path is not None and Path(path).is_file() else None
    root = Path(videos).expanduser().resolve()
    candidate = (root / c.video).resolve()
    return candidate if candidate.is_relative_to(root) and candidate.is_file() else None


def _safe(name: str) -> str:
    return re.sub(r"[^\w.-]+", "_", name)[:40] or "video"


def report_html(answer: Answer, clips: list[Path | None], thumbs: list[str | None], problems: list[str]) -> str:
    """A self-contained page: the question, the answer, each cited moment with its clip, the trace."""
    cards = []
    for n, (c, clip, thumb) in enumerate(zip(answer.citations, clips, thumbs), 1):
        media = (f'<video controls preload="metadata" src="clips/{escape(clip.name)}"'
                 + (f' poster="clips/{escape(thumb)}"' if thumb else "") + "></video>" if clip
                 else '<div class="missing">no clip</div>')
        cards.append(f'<figure>{media}<figcaption><b>{n}. {escape(c.video)}</b> {escape(fmt_span(c.span))} '
                     f'<i>{escape(c.modality)}</i><br>{escape(c.evidence[:300])}</figcaption></figure>')
    steps = "".join(f'<li><b style="color:{STEP_COLOURS.get(s.kind, "#374151")}">{escape(s.kind)}</b> '
                    f'{escape(fmt_span(s.span)) if s.span else ""} {escape(s.detail[:300])}</li>' for s in answer.trace)
    options = "".join(f"<li>{escape(o)}</li>" for o in answer.options)
    notes = "".join(f"<li>{escape(p)}</li>" for p in problems)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>vidgraph: {escape(answer.question[:80])}</title>
<style>body{{font:14px system-ui,sans-serif;max-width:1000px;margin:2em auto;color:#222}}
figure{{display:inline-block;vertical-align:top;width:300px;margin:6px}}video{{width:300px;background:#000}}
.answer{{font-size:20px;font-weight:600;color:{'#15803d' if answer.found else '#b91c1c'}}}
.missing{{width:300px;height:168px;background:#e5e7eb}}.dim{{color:#6b7280}}</style></head><body>
<p class="dim">{escape(answer.question)}</p>{f'<ol type="A">{options}</ol>' if options else ''}
<p class="answer">{escape(answer.text)}</p>
<p class="dim">confidence {answer.confidence:.2f} · {escape(answer.strategy)} · {escape(answer.model)} ·
{escape(str(answer.cost))}</p>
<h3>Cited moments</h3><div>{''.join(cards) or '<i>none</i>'}</div>
{f'<h3>Problems</h3><ul>{notes}</ul>' if notes else ''}
<details><summary>trace ({len(answer.trace)} steps)</summary><ol>{steps}</ol></details>
</body></html>
"""
