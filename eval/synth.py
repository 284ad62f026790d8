"""Generated test videos with known ground truth (ffmpeg + espeak-ng).

A video is a list of ``Scene``s joined by hard cuts. Each scene has a picture (an ffmpeg test source or a real
photo), text burned in at known times and sentences spoken at known times. ``make_video`` writes the mp4 and
returns a ``Truth`` with the cut times, each sentence's voiced span (measured from the audio), each text line's
span and each photo's objects.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import tempfile
import wave
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"
SPEECH_RATE = 22050  # espeak-ng's output rate


@dataclass(frozen=True)
class Text:
    text: str
    start: float  # relative to the scene start
    end: float
    y: float = 0.4  # top of the text as a fraction of the height
    size: int = 56


@dataclass(frozen=True)
class Speech:
    text: str
    start: float  # relative to the scene start


@dataclass(frozen=True)
class Scene:
    duration: float
    source: str = "testsrc2"
    """An ffmpeg lavfi source expression (without size/rate), or a path to a photo."""
    texts: tuple[Text, ...] = ()
    speech: tuple[Speech, ...] = ()
    objects: tuple[str, ...] = ()
    """Labels known to be in the photo (ground truth for detection)."""


@dataclass
class Truth:
    duration: float
    cuts: list[float] = field(default_factory=list)
    speech: list[tuple[float, float, str]] = field(default_factory=list)
    texts: list[tuple[float, float, str]] = field(default_factory=list)
    objects: list[tuple[float, float, str]] = field(default_factory=list)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1)

    @classmethod
    def from_json(cls, text: str) -> Truth:
        return cls(**json.loads(text))


def asset_photo(name: str) -> Path:
    """A real photo that ships in an installed wheel (``bus.jpg``/``zidane.jpg`` in ultralytics), not imported."""
    spec = importlib.util.find_spec("ultralytics")
    if spec is None or spec.origin is None:
        raise FileNotFoundError("the ultralytics package (which ships bus.jpg and zidane.jpg) is not installed")
    path = Path(spec.origin).parent / "assets" / name
    if not path.is_file():
        raise FileNotFoundError(path)
    return path


def require_tools() -> None:
    missing = [t for t in ("ffmpeg", "espeak-ng") if shutil.which(t) is None]
    if missing:
        raise RuntimeError(f"{', '.join(missing)} not found: apt-get install ffmpeg espeak-ng")


def _speak(text: str, out: Path, voice: str = "en-us", speed: int = 150) -> np.ndarray:
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(out), text], check=True,
                   capture_output=True)
    with wave.open(str(out)) as w:
        assert w.getframerate() == SPEECH_RATE and w.getnchannels() == 1
        return np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16).astype(np.float32)


def _voiced(samples: np.ndarray) -> tuple[float, float]:
    """Start and end (s) of the part louder than 2% of the peak, in 10 ms frames."""
    hop = SPEECH_RATE // 100
    n = len(samples) // hop
    energy = np.abs(samples[: n * hop]).reshape(n, hop).max(axis=1)
    loud = np.nonzero(energy > 0.02 * energy.max())[0]
    return float(loud[0] * hop / SPEECH_RATE), float((loud[-1] + 1) * hop / SPEECH_RATE)


def _scene_filter(i: int, scene: Scene, size: str, fps: int, input_index: int | None) -> str:
    w, h = size.split("x")
    if input_index is not None:  # a photo, looped
        return (f"[{input_index}:v]scale={w}:{h}:force_original_aspect_ratio=decrease,"
                f"pad={w}:{h}:(ow-iw)/2:(oh-ih)/2:color=0x202020,setsar=1,fps={fps},format=yuv420p,"
                f"trim=duration={scene.duration},setpts=PTS-STARTPTS[v{i}]")
    src = scene.source
    if src.startswith("life"):
        base = f"{src}:s=320x180:r={fps},scale={w}:{h}:flags=neighbor"
    elif src.startswith("color"):
        base = f"{src}:s={size}:r={fps}"
    else:
        base = f"{src}{'=' if '=' not in src else ':'}s={size}:r={fps}"
    return f"{base},format=yuv420p,trim=duration={scene.duration},setpts=PTS-STARTPTS[v{i}]"


def make_video(scenes: list[Scene], out: str | Path, size: str = "1280x720", fps: int = 30,
               preset: str = "veryfast", timecode: bool = False) -> Truth:
    """Render ``scenes`` into ``out`` (H.264 + AAC mp4) and return the ground truth."""
    require_tools()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    total = sum(s.duration for s in scenes)
    truth = Truth(duration=total)
    with tempfile.TemporaryDirectory(prefix="vidgraph-synth-") as tmp:
        tmpdir = Path(tmp)
        audio = np.zeros(int(total * SPEECH_RATE) + SPEECH_RATE, dtype=np.float32)
        inputs: list[str] = []
        filters: list[str] = []
        drawtexts: list[str] = []
        offset = 0.0
        for i, scene in enumerate(scenes):
            if i:
                truth.cuts.append(round(offset, 3))
            photo = Path(scene.source).suffix.lower() in (".jpg", ".jpeg", ".png")
            index = None
            if photo:
                inputs += ["-loop", "1", "-framerate", str(fps), "-t", str(scene.duration), "-i", scene.source]
                index = sum(1 for a in inputs if a == "-i") - 1
                truth.objects += [(offset, offset + scene.duration, label) for label in scene.objects]
            filters.append(_scene_filter(i, scene, size, fps, index))
            for k, sp in enumerate(scene.speech):
                wav = _speak(sp.text, tmpdir / f"s{i}_{k}.wav")
                at = int((offset + sp.start) * SPEECH_RATE)
                seg = wav[: max(0, len(audio) - at)]
                audio[at: at + len(seg)] += seg
                v0, v1 = _voiced(wav)
                truth.speech.append((round(float(offset + sp.start + v0), 3),
                                     round(float(offset + sp.start + v1), 3), sp.text))
            for k, tx in enumerate(scene.texts):
                path = tmpdir / f"t{i}_{k}.txt"
                path.write_text(tx.text)
                a, b = offset + tx.start, offset + tx.end
                drawtexts.append(
                    f"drawtext=fontfile={FONT}:textfile={path}:expansion=none:fontsize={tx.size}:fontcolor=white:"
                    f"box=1:boxcolor=black@0.6:boxborderw=12:x=(w-tw)/2:y=h*{tx.y}:enable='between(t,{a:.3f},{b:.3f})'"
                )
                truth.texts.append((round(a, 3), round(b, 3), tx.text))
            offset += scene.duration
        audio = np.clip(audio[: int(total * SPEECH_RATE)], -32768, 32767).astype(np.int16)
        wav_path = tmpdir / "speech.wav"
        with wave.open(str(wav_path), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(SPEECH_RATE)
            w.writeframes(audio.tobytes())
        audio_index = sum(1 for a in inputs if a == "-i")
        inputs += ["-i", str(wav_path)]
        chain = "".join(f"[v{i}]" for i in range(len(scenes))) + f"concat=n={len(scenes)}:v=1:a=0"
        overlays = drawtexts + ([f"drawtext=fontfile={FONT}:text='t=%{{eif\\:t\\:d}}s':fontsize=28:fontcolor=white:"
                                 "box=1:boxcolor=black@0.8:boxborderw=6:x=w-tw-20:y=20"] if timecode else [])
        graph = ";\n".join(filters) + ";\n" + chain + "".join("," + d for d in overlays) + "[v]"
        script = tmpdir / "graph.txt"
        script.write_text(graph)
        cmd = ["ffmpeg", "-y", "-hide_banner", "-loglevel", "error", *inputs, "-filter_complex_script", str(script),
               "-map", "[v]", "-map", f"{audio_index}:a", "-t", str(total), "-c:v", "libx264", "-preset", preset,
               "-crf", "23", "-maxrate", "3M", "-bufsize", "6M", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "96k",
               "-ar", "44100", "-movflags", "+faststart", str(out)]
        subprocess.run(cmd, check=True, capture_output=True)
    out.with_suffix(".truth.json").write_text(truth.to_json())
    return truth


# -- the standard fixture ---------------------------------------------------------------------------------------------

SENTENCES = [
    "Welcome to the quarterly review of the northern warehouse project.",
    "The red container holds four hundred and twenty kilograms of copper wire.",
    "Please remember that the meeting moves to Thursday at three o'clock.",
    "Our engineers replaced the broken pump in the basement last week.",
    "The old generator will be sold at the auction in March.",
    "Thank you for watching, and see you in the next episode.",
]


def fixture_scenes() -> list[Scene]:
    """60 s: six 10 s scenes (cuts at 10..50 s), one sentence and one text line each, a real photo at 30-40 s."""
    return [
        Scene(10, "testsrc2", (Text("QUARTERLY REVIEW 2024", 1, 8),), (Speech(SENTENCES[0], 1.0),)),
        Scene(10, "mandelbrot=maxiter=256", (Text("Invoice No. 4821-B", 2, 9, y=0.3),), (Speech(SENTENCES[1], 1.5),)),
        Scene(10, "color=c=0x1E5A32", (Text("Meeting moved to Thursday 3:00 PM", 1, 9, y=0.8, size=40),),
              (Speech(SENTENCES[2], 1.0),)),
        Scene(10, str(asset_photo("bus.jpg")), (Text("CHANNEL 7 NEWS", 2, 9, y=0.08, size=48),),
              (Speech(SENTENCES[3], 1.0),), objects=("bus", "person")),
        Scene(10, "smptehdbars", (Text("Pump replaced in basement", 1, 9, y=0.6),), (Speech(SENTENCES[4], 1.5),)),
        Scene(10, "gradients=c0=navy:c1=orange:speed=0.02", (Text("Bridge budget: 7 million dollars", 2, 9),),
              (Speech(SENTENCES[5], 1.0),)),
    ]


_SOURCES = ["testsrc2", "mandelbrot=maxiter=256", "color=c=0x1E5A32", "smptehdbars",
            "gradients=c0=navy:c1=orange:speed=0.02", "color=c=0x303060", "testsrc", "rgbtestsrc"]
_COLOURS = ["red", "blue", "green", "yellow", "black", "white", "orange", "purple"]
_THINGS = ["container", "truck", "generator", "ladder", "printer", "bicycle", "crate", "pump", "boiler", "kettle"]
_PLACES = ["warehouse", "basement", "harbour", "office", "garage", "station", "bridge", "factory"]
_NUMBERS = ["twelve", "forty two", "seventy", "one hundred", "three thousand", "eighteen", "ninety nine", "six"]


def long_scenes(minutes: float, seed: int = 0, scene_seconds: float = 10.0, photo_every: int = 6) -> list[Scene]:
    """A long, speech-dense video: ``scene_seconds`` scenes, two sentences and one text line each, a real
    photo every ``photo_every`` scenes. Seeded and reproducible."""
    import random

    rng = random.Random(seed)
    scenes = []
    n = max(1, int(round(minutes * 60 / scene_seconds)))
    photos = [(asset_photo("bus.jpg"), ("bus", "person")), (asset_photo("zidane.jpg"), ("person",))]
    for i in range(n):
        colour, thing, place, number = (rng.choice(x) for x in (_COLOURS, _THINGS, _PLACES, _NUMBERS))
        speech = (
            Speech(f"Scene {i + 1}. The {colour} {thing} is in the {place}.", 0.4),
            Speech(f"It weighs {number} kilograms and was checked on day {rng.randint(1, 28)}.",
                   scene_seconds / 2 - 0.2),
        )
        text = (Text(f"{place.upper()} {rng.randint(100, 999)}-{rng.choice('ABCDEFGH')}", 1, scene_seconds - 1,
                     y=rng.choice([0.1, 0.4, 0.7])),)
        if photo_every and i % photo_every == photo_every - 1:
            photo, objects = photos[(i // photo_every) % len(photos)]
            scenes.append(Scene(scene_seconds, str(photo), text, speech, objects))
        else:
            scenes.append(Scene(scene_seconds, _SOURCES[i % len(_SOURCES)], text, speech))
    return scenes
