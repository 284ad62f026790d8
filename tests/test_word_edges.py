"""Word edges pulled in from pauses (tools.word_edges), on signals with known sound times."""

import numpy as np

from vidgraph.records import Span, TranscriptSegment, Word
from vidgraph.tools.word_edges import tighten

RATE = 16000


def _signal(seconds: float, sounds: list[tuple[float, float]], noise: float = 1e-4) -> np.ndarray:
    rng = np.random.default_rng(0)
    x = rng.normal(0, noise, int(seconds * RATE)).astype(np.float32)
    for a, b in sounds:
        t = np.arange(int(a * RATE), int(b * RATE))
        x[t] += 0.3 * np.sin(2 * np.pi * 220 * t / RATE)
    return x


def _seg(*words: tuple[str, float, float]) -> TranscriptSegment:
    ws = tuple(Word(span=Span(a, b), text=t) for t, a, b in words)
    return TranscriptSegment(video_id="v", span=Span(ws[0].span.start, ws[-1].span.end),
                             text=" ".join(t for t, _, _ in words), words=ws)


def test_a_word_timed_into_the_pause_before_it_starts_where_it_sounds():
    x = _signal(4.0, [(0.5, 1.0), (2.0, 2.5)])
    seg = _seg(("Hello", 0.45, 1.05), ("Madrid", 1.55, 2.45))  # the second starts 0.45 s early, as Whisper does
    out = tighten([seg], x, offset=30.0 - 30.0, rate=RATE)[0]
    madrid = out.words[1].span
    assert abs(madrid.start - 2.0) <= 0.03 and abs(madrid.end - 2.5) <= 0.05
    assert abs(out.words[0].span.start - 0.5) <= 0.03
    assert out.span == Span(out.words[0].span.start, madrid.end)


def test_times_are_on_the_video_timeline_and_an_end_runs_on_while_it_sounds():
    x = _signal(3.0, [(1.0, 1.6)])
    seg = _seg(("banana", 100.9, 101.3))  # the window starts at 100 s; the sound lasts to 101.6
    w = tighten([seg], x, offset=100.0, rate=RATE)[0].words[0].span
    assert abs(w.start - 101.0) <= 0.03 and abs(w.end - 101.6) <= 0.05


def test_an_end_never_runs_into_the_next_word():
    x = _signal(3.0, [(1.0, 2.0)])  # continuous speech: the two words share one sound
    seg = _seg(("add", 1.0, 1.3), ("cream", 1.5, 2.0))
    out = tighten([seg], x, offset=0.0, rate=RATE)[0].words
    assert out[0].span.end <= out[1].span.start == 1.5


def test_a_window_without_clear_pauses_keeps_whispers_times():
    x = _signal(3.0, [(1.0, 2.0)], noise=0.2)  # noise nearly as loud as the speech
    seg = _seg(("word", 0.6, 2.0))
    assert tighten([seg], x, offset=0.0, rate=RATE) == [seg]


def test_a_word_inside_silence_is_left_alone():
    x = _signal(3.0, [(0.2, 0.6)])
    seg = _seg(("hm", 1.5, 1.8))
    assert tighten([seg], x, offset=0.0, rate=RATE)[0].words == seg.words
