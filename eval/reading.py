"""Reading benchmark annotation files (text, JSON, JSON lines) with one-line errors naming the file."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..errors import ConfigError


def fail(path: str | Path, problem: str, hint: str) -> ConfigError:
    return ConfigError(f"{path}: {' '.join(problem.split())}", hint)


def read_text(path: str | Path, what: str) -> str:
    p = Path(path)
    if not p.is_file():
        raise fail(p, "no such file" if not p.exists() else "is not a file", f"pass the path of {what}")
    try:
        return p.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise fail(p, "is not a UTF-8 text file", f"pass the path of {what}") from None


def read_json(path: str | Path, what: str) -> Any:
    text = read_text(path, what)
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise fail(path, f"is not valid JSON ({e.msg} at line {e.lineno} column {e.colno})",
                    f"pass {what}") from None


def read_jsonl(path: str | Path, what: str) -> list[dict[str, Any]]:
    out = []
    for n, line in enumerate(read_text(path, what).splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            raise fail(path, f"line {n} is not valid JSON ({e.msg})", f"pass {what} (one JSON object a line)") \
                from None
        if not isinstance(row, dict):
            raise fail(path, f"line {n} is not a JSON object", f"pass {what} (one JSON object a line)")
        out.append(row)
    return out


def existing(path: str | Path) -> Path:
    read_text(path, "a file of questions (JSON lines)")
    return Path(path)


def read_records(path: str | Path, what: str) -> list[dict[str, Any]]:
    """A JSON list of objects or JSON lines."""
    p = Path(path)
    if p.suffix.lower() == ".jsonl":
        return read_jsonl(p, what)
    if p.suffix.lower() == ".parquet":
        try:
            import pyarrow.parquet as pq  # optional, only for the Hugging Face parquet files
        except ImportError:
            raise fail(p, "is a parquet file and pyarrow is not installed",
                        "pip install pyarrow, or convert the file to JSON lines") from None
        return pq.read_table(p).to_pylist()
    data = read_json(p, what)
    if isinstance(data, dict) and all(isinstance(v, dict) for v in data.values()):
        data = [{"_key": k, **v} for k, v in data.items()]
    if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
        raise fail(p, "is not a JSON list of objects", f"pass {what}")
    return data


def need(row: dict[str, Any], keys: Iterable[str], path: str | Path, where: str, what: str) -> None:
    lacking = [k for k in keys if k not in row]
    if lacking:
        raise fail(path, f"{where} has no {', '.join(repr(k) for k in lacking)}", f"pass {what}")


def as_float(value: Any) -> float | None:
    try:
        return None if value is None or value == "" else float(value)
    except (TypeError, ValueError):
        return None


def clock(text: str) -> float:
    """'75', '01:15' or '1:02:03.5' -> seconds."""
    seconds = 0.0
    for part in text.strip().split(":"):
        seconds = seconds * 60 + float(part)
    return seconds


