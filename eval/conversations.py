"""Generated conversations with exact truth (who speaks when, who is called what), for the speakers stage.

A conversation has 2-4 speakers (``2 + seed % 3`` unless given) drawn from ``SPEAKER_POOL``: espeak-ng voices with
their own accent, variant, pitch and speed, plus a sox pitch shift (which moves the formants too), picked so that
no two are closer than 0.85 in resemblyzer cosine. Turns last 2-15 s with 0.2-1.0 s pauses, about one in five is
by the same speaker again, nothing overlaps; turn loudness varies (+-4 dB per speaker, +-2 dB per turn) over a
faint noise floor, optionally over a synthetic music bed. The text comes from a small grammar with
self-introductions ("Hi, I'm Maria."), hand-overs by name ("What do you think, Paul?") and phrases that only look
like introductions ("I'm sure ...", "I'm Sorry, I missed that.").

``make_conversation(seed)`` returns (16 kHz mono float32, truth dict); ``make_video`` writes it as an mp4 over a
plain background, optionally with one speaker's full name shown as a lower third during one of their turns (for
the OCR rule). Everything is seeded: the same seed gives the same files (sox runs with -R -D: no random dither).

    python -m vidgraph.eval.conversations --seeds 0-5 --out /tmp/conv      # wav + json per seed
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import tempfile
import wave
from pathlib import Path
from typing import Any

import numpy as np

SR = 16000
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"

# id, name, espeak voice, espeak pitch (-p), speed (-s wpm), sox pitch shift (cents)
SPEAKER_POOL: list[dict[str, Any]] = [
    dict(id="S01", name="Maria", voice="en-us+f1", pitch=60, speed=155, sox_pitch=200),
    dict(id="S02", name="Fiona", voice="en-gb-x-gbclan+f2", pitch=60, speed=155, sox_pitch=0),
    dict(id="S03", name="Grace", voice="en-gb-x-gbcwmd+f5", pitch=40, speed=165, sox_pitch=-250),
    dict(id="S04", name="Andy", voice="en-gb-x-rp+Andy", pitch=60, speed=165, sox_pitch=0),
    dict(id="S05", name="Boris", voice="en-gb-x-gbcwmd+boris", pitch=60, speed=155, sox_pitch=200),
    dict(id="S06", name="Stephanie", voice="en-gb-x-gbcwmd+steph", pitch=60, speed=165, sox_pitch=0),
    dict(id="S07", name="Edward", voice="en-gb-x-gbclan+edward", pitch=50, speed=175, sox_pitch=0),
    dict(id="S08", name="Alicia", voice="en-us-nyc+Alicia", pitch=50, speed=175, sox_pitch=0),
    dict(id="S09", name="Belinda", voice="en-us-nyc+belinda", pitch=60, speed=155, sox_pitch=200),
    dict(id="S10", name="Paul", voice="en-gb-scotland+paul", pitch=50, speed=155, sox_pitch=0),
    dict(id="S11", name="Quincy", voice="en-gb-x-gbcwmd+quincy", pitch=60, speed=175, sox_pitch=-250),
    dict(id="S12", name="Travis", voice="en-us-nyc+travis", pitch=60, speed=155, sox_pitch=200),
    dict(id="S13", name="Shelby", voice="en-029+shelby", pitch=60, speed=175, sox_pitch=0),
    dict(id="S14", name="Anika", voice="en-gb-scotland+anika", pitch=60, speed=165, sox_pitch=0),
    dict(id="S15", name="Lee", voice="en-us+Lee", pitch=40, speed=155, sox_pitch=0),
    dict(id="S16", name="Hugo", voice="en-us-nyc+Hugo", pitch=40, speed=155, sox_pitch=-250),
]
SURNAMES = ["Fischer", "Novak", "Lindqvist", "Moreau", "Keller", "Brennan", "Okafor", "Tanaka"]

SUBJ = ["I", "we", "you", "my sister", "the manager", "our neighbour", "the team", "nobody", "everyone at the office",
        "the old man next door", "my father", "the new teacher", "the driver", "our client", "the kids"]
VERB = ["looked at", "talked about", "forgot", "fixed", "painted", "ordered", "found", "wanted to sell", "bought",
        "carried", "cleaned", "moved", "checked", "planned", "wrote about", "asked about", "complained about",
        "finished"]
OBJ = ["the kitchen table", "a red bicycle", "the quarterly report", "the garden fence", "a cheap flight to Lisbon",
       "the broken window", "our holiday photos", "the budget for next year", "a box of old books", "the blue car",
       "the contract", "the heating system", "a birthday cake", "the train timetable", "the concert tickets",
       "the software update", "a new pair of shoes", "the river path"]
ADV = ["yesterday", "last week", "this morning", "after lunch", "on Sunday", "again", "before the meeting",
       "in the rain", "without telling anyone", "very slowly", "at the last minute", "twice", "for the first time",
       "late at night"]
OPEN = ["Well,", "Honestly,", "You know,", "Actually,", "So,", "Right,", "To be fair,", "I mean,", "Okay,", "Anyway,",
        ""]
QUES = ["Do you think {o} is worth it?", "Did anyone check {o}?", "Why did {s} forget {o}?", "Have you seen {o} {a}?",
        "Who is going to pay for {o}?", "Is {o} still there?"]
REACT = ["That sounds good to me.", "I am not so sure about that.", "Really?", "That is a fair point.",
         "I completely agree.", "No, that is not what happened.", "Let me think about it.", "Exactly.",
         "Hmm, maybe.", "That makes sense."]
DISTRACT = ["I'm sure {o} will be fine.", "I'm going to check {o} {a}.", "I'm not convinced about {o}.",
            "I'm really tired of {o}.", "I'm Sorry, I missed that.", "I'm in the kitchen right now.",
            "Call me when {s} is ready.", "They call me every day about {o}."]
INTRO = ["Hi, I'm {n}.", "Hello everyone, my name is {n}.", "I'm {n}, by the way.", "This is {n} speaking.",
         "Hi there, {n} here.", "My name's {n}."]
ADDRESS = ["What do you think, {n}?", "{n}, what about you?", "Over to you, {n}.", "{n}, do you agree?"]


def require_tools() -> None:
    missing = [t for t in ("espeak-ng", "sox", "ffmpeg") if shutil.which(t) is None]
    if missing:
        raise RuntimeError(f"{', '.join(missing)} not found: apt-get install espeak-ng sox ffmpeg")


def trim_silence(y: np.ndarray, rel_db: float = -40.0) -> np.ndarray:
    """Cut leading/trailing 10 ms frames quieter than ``rel_db`` below the loudest one."""
    hop = SR // 100
    n = len(y) // hop
    if n == 0:
        return y
    rms = np.sqrt(np.mean(y[: n * hop].reshape(n, hop) ** 2, axis=1) + 1e-12)
    idx = np.nonzero(rms > rms.max() * 10 ** (rel_db / 20))[0]
    return y[idx[0] * hop: (idx[-1] + 1) * hop] if len(idx) else y[:0]


def synth(text: str, voice: str, pitch: int = 50, speed: int = 165, sox_pitch: int = 0, **_: Any) -> np.ndarray:
    """espeak-ng, then sox to 16 kHz mono (+ pitch shift); float32, silence trimmed so the span is exact."""
    with tempfile.TemporaryDirectory(prefix="vidgraph-conv-") as td:
        raw, out = os.path.join(td, "raw.wav"), os.path.join(td, "out.wav")
        subprocess.run(["espeak-ng", "-v", voice, "-p", str(pitch), "-s", str(speed), "-w", raw, text], check=True,
                       capture_output=True)
        cmd = ["sox", "-R", "-D", raw, "-r", str(SR), "-c", "1", "-b", "16", out]
        subprocess.run(cmd + (["pitch", str(sox_pitch)] if sox_pitch else []), check=True, capture_output=True)
        with wave.open(out) as w:
            y = np.frombuffer(w.readframes(w.getnframes()), np.int16).astype(np.float32) / 32768.0
    return trim_silence(y)


def sentence(rng: random.Random) -> str:
    r = rng.random()
    s, v, o, a = rng.choice(SUBJ), rng.choice(VERB), rng.choice(OBJ), rng.choice(ADV)
    if r < 0.55:
        op = rng.choice(OPEN)
        txt = f"{op} {s} {v} {o} {a}." if op else f"{s} {v} {o} {a}."
    elif r < 0.75:
        txt = rng.choice(QUES).format(s=s, o=o, a=a)
    elif r < 0.92:
        txt = rng.choice(REACT)
    else:
        txt = rng.choice(DISTRACT).format(s=s, o=o, a=a)
    txt = txt.strip()
    return txt[0].upper() + txt[1:]


def music_bed(n: int, rng: random.Random, nrng: np.random.RandomState) -> np.ndarray:
    """Triad chords changing every 1.5-3 s plus a noise hi-hat on a 0.5 s beat; unit RMS."""
    out = np.zeros(n, np.float64)
    t0 = 0
    roots = [220.0, 246.9, 261.6, 293.7, 329.6, 196.0, 174.6]
    while t0 < n:
        t = np.arange(min(int(rng.uniform(1.5, 3.0) * SR), n - t0)) / SR
        root = rng.choice(roots) * rng.choice([0.5, 1.0])
        env = np.minimum(1, t / 0.05) * np.exp(-t / 2.5)
        for ratio in (1.0, 1.26, 1.5):
            for h in range(1, 5):
                out[t0:t0 + len(t)] += env * np.sin(2 * np.pi * root * ratio * h * t + rng.uniform(0, 6.28)) / h
        t0 += len(t)
    hat = nrng.randn(int(0.03 * SR)) * np.exp(-np.arange(int(0.03 * SR)) / (0.008 * SR))
    for b in range(0, n - len(hat), SR // 2):
        out[b:b + len(hat)] += 0.5 * hat
    return (out / (np.sqrt(np.mean(out ** 2)) + 1e-12)).astype(np.float32)


def make_conversation(seed: int, minutes: tuple[float, float] = (1.0, 3.0), n_speakers: int | None = None,
                      music_dbfs: float | None = None) -> tuple[np.ndarray, dict[str, Any]]:
    """Audio and truth: ``{"seed", "duration", "speakers": [{id, name, ...}], "turns": [{speaker, start, end, text,
    intro, addressed}]}``; ``intro`` is the name the turn introduces its speaker by, ``addressed`` the speaker id
    the turn hands over to by name."""
    rng = random.Random(seed)
    nrng = np.random.RandomState(seed)
    n_speakers = n_speakers or 2 + seed % 3
    spk = rng.sample(SPEAKER_POOL, n_speakers)
    gain_db = {s["id"]: rng.uniform(-4, 4) for s in spk}
    target = rng.uniform(*minutes) * 60.0
    turns: list[dict[str, Any]] = []
    lead_in = rng.uniform(0.3, 1.0)
    chunks = [np.zeros(int(lead_in * SR), np.float32)]
    t, prev, addressed_next, introduced = lead_in, None, None, set()
    while t < target or len({tr["speaker"] for tr in turns}) < n_speakers:
        if addressed_next is not None:
            cur = addressed_next
        elif prev is not None and rng.random() < 0.2:
            cur = prev
        else:
            unseen = [s for s in spk if s["id"] not in {tr["speaker"] for tr in turns}]
            others = [s for s in spk if s is not prev]
            cur = rng.choice(unseen) if unseen and rng.random() < 0.6 else rng.choice(others)
        addressed_next = None
        want = rng.uniform(2.0, 15.0)
        parts, intro = [], None
        if cur["id"] not in introduced and rng.random() < 0.5:
            parts.append(rng.choice(INTRO).format(n=cur["name"]))
            intro = cur["name"]
        introduced.add(cur["id"])
        while sum(len(p.split()) for p in parts) < want * cur["speed"] / 60.0 * 0.85:
            parts.append(sentence(rng))
        if len(spk) > 1 and rng.random() < 0.15:
            other = rng.choice([s for s in spk if s is not cur])
            parts.append(rng.choice(ADDRESS).format(n=other["name"]))
            addressed_next = other
        y = synth(" ".join(parts), **cur)
        while len(y) > 15.0 * SR and len(parts) > 1:  # keep turns within 2-15 s
            parts.pop(-2 if addressed_next is not None and len(parts) > 2 else -1)
            y = synth(" ".join(parts), **cur)
        if len(y) < 2.0 * SR:
            parts.append(sentence(rng))
            y = synth(" ".join(parts), **cur)
            if len(y) > 15.0 * SR:
                y = y[: int(15.0 * SR)]
        if intro and not any(intro in p for p in parts):
            intro = None
        gain = 10 ** ((gain_db[cur["id"]] + rng.uniform(-2, 2)) / 20)
        y = (y / (np.abs(y).max() + 1e-9) * 0.5 * gain).astype(np.float32)
        end = t + len(y) / SR
        turns.append(dict(speaker=cur["id"], start=round(t, 4), end=round(end, 4), text=" ".join(parts),
                          intro=intro, addressed=addressed_next["id"] if addressed_next else None))
        chunks.append(y)
        pause = int(round(rng.uniform(0.2, 1.0) * SR))
        chunks.append(np.zeros(pause, np.float32))
        t = end + pause / SR
        prev = cur
    wav = np.concatenate(chunks)
    noise_db = rng.uniform(-60, -50)
    noise = nrng.randn(len(wav)).astype(np.float32) * 10 ** (noise_db / 20)
    rumble = np.convolve(nrng.randn(len(wav)), np.ones(400) / 400, mode="same").astype(np.float32)
    wav = wav + noise + rumble * 10 ** ((noise_db + 10) / 20)
    if music_dbfs is not None:
        wav = wav + music_bed(len(wav), rng, nrng) * 10 ** (music_dbfs / 20)
    wav = np.clip(wav, -1, 1).astype(np.float32)
    truth = dict(seed=seed, duration=round(len(wav) / SR, 4), music_dbfs=music_dbfs,
                 speakers=[dict(s, gain_db=round(gain_db[s["id"]], 2)) for s in spk], turns=turns)
    return wav, truth


def write_wav(path: str | Path, wav: np.ndarray) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SR)
        w.writeframes((np.clip(wav, -1, 1) * 32767).astype(np.int16).tobytes())


def pick_caption(truth: dict[str, Any]) -> dict[str, Any] | None:
    """A turn of 4 s or more by a speaker who never introduces themselves (else any speaker), to show their full
    name under; ``{"speaker", "name", "start", "end"}``."""
    introduced = {t["speaker"] for t in truth["turns"] if t["intro"]}
    long = [t for t in truth["turns"] if t["end"] - t["start"] >= 4.0]
    pick = next((t for t in long if t["speaker"] not in introduced), long[0] if long else None)
    if pick is None:
        return None
    person = next(s for s in truth["speakers"] if s["id"] == pick["speaker"])
    surname = SURNAMES[truth["seed"] % len(SURNAMES)]
    return dict(speaker=pick["speaker"], name=f"{person['name']} {surname}", start=round(pick["start"] + 0.5, 3),
                end=round(pick["end"] - 0.5, 3))


def make_video(seed: int, out: str | Path, caption: bool = True, size: str = "640x360",
               **kwargs: Any) -> dict[str, Any]:
    """The conversation of ``seed`` as an mp4 (plain background, AAC audio); with ``caption``, one speaker's full
    name as a lower third during one of their turns (``truth["caption"]``). Writes ``out`` and its ``.json``."""
    require_tools()
    wav, truth = make_conversation(seed, **kwargs)
    truth["caption"] = pick_caption(truth) if caption else None
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="vidgraph-conv-") as td:
        audio = Path(td) / "speech.wav"
        write_wav(audio, wav)
        video = f"color=c=0x203040:s={size}:r=10:d={truth['duration']}"
        graph = "null"
        if truth["caption"]:
            c = truth["caption"]
            (Path(td) / "name.txt").write_text(c["name"])
            graph = (f"drawtext=fontfile={FONT}:textfile={Path(td) / 'name.txt'}:expansion=none:fontsize=32:"
                     f"fontcolor=white:box=1:boxcolor=black@0.6:boxborderw=10:x=40:y=h*0.78:"
                     f"enable='between(t,{c['start']:.3f},{c['end']:.3f})'")
        subprocess.run(["ffmpeg", "-y", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", video, "-i",
                        str(audio), "-vf", graph, "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p",
                        "-c:a", "aac", "-b:a", "96k", "-ar", str(SR), "-shortest", str(out)], check=True,
                       capture_output=True)
    out.with_suffix(".json").write_text(json.dumps(truth, indent=1))
    return truth


def parse_seeds(text: str) -> list[int]:
    out: list[int] = []
    for part in text.split(","):
        if "-" in part:
            a, b = part.split("-")
            out += range(int(a), int(b) + 1)
        elif part:
            out.append(int(part))
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", default="0-5")
    parser.add_argument("--minutes", type=float, nargs="*", help="one value: that long; two: a range (default 1 3)")
    parser.add_argument("--speakers", type=int)
    parser.add_argument("--music", type=float, help="music bed RMS in dBFS, e.g. -30")
    parser.add_argument("--video", action="store_true", help="write mp4 (with a name caption) instead of wav")
    parser.add_argument("--out", type=Path, default=Path("conversations"))
    args = parser.parse_args(argv)
    require_tools()
    args.out.mkdir(parents=True, exist_ok=True)
    minutes = (1.0, 3.0) if not args.minutes else (args.minutes[0], args.minutes[-1])
    for seed in parse_seeds(args.seeds):
        kw = dict(minutes=minutes, n_speakers=args.speakers, music_dbfs=args.music)
        if args.video:
            truth = make_video(seed, args.out / f"conv_{seed}.mp4", **kw)
        else:
            wav, truth = make_conversation(seed, **kw)
            write_wav(args.out / f"conv_{seed}.wav", wav)
            (args.out / f"conv_{seed}.json").write_text(json.dumps(truth, indent=1))
        print(f"conv_{seed}: {truth['duration']:.1f} s, {len(truth['speakers'])} speakers, {len(truth['turns'])} turns",
              flush=True)


if __name__ == "__main__":
    main()
