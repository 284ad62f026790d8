"""The package's imports point one way: records / errors / prompts → config → tools → models → memory → index →
agents → library → cli, serve, eval. Every import counts (module level, inside functions, under
``TYPE_CHECKING``): a type is a dependency too. No cycles, no import against the direction, no module over the
size limit (data tables excepted, by name)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PKG = "vidgraph"

LAYERS: tuple[tuple[str, ...], ...] = (
    ("errors", "records", "prompts"),
    ("config",),
    ("tools",),
    ("models",),
    ("memory",),
    ("index",),
    ("agents",),
    ("library", "views"),
    ("cli", "serve", "eval"),
)
"""Top-level names of the package, lowest layer first. A module may import its own layer and the layers below."""

MAX_LINES = 500
TABLES: set[str] = set()
"""Modules allowed past MAX_LINES because most of their length is data tables (none today)."""


def modules() -> dict[str, Path]:
    out = {}
    for path in ROOT.rglob("*.py"):
        rel = path.relative_to(ROOT)
        if rel.parts[0] in ("tests", "build", "dist", "examples") or any(p.startswith(".") for p in rel.parts):
            continue
        parts = rel.with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def imports(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """Package modules imported anywhere in ``path`` (relative and absolute imports alike)."""
    is_pkg = path.name == "__init__.py"
    here = ([PKG] + name.split(".")) if name else [PKG]
    found: set[str] = set()

    def add(dotted: str) -> None:
        if dotted != PKG and not dotted.startswith(PKG + "."):
            return
        rel = dotted[len(PKG) + 1:]
        while rel and rel not in known:
            rel = rel.rpartition(".")[0]
        if rel != name:
            found.add(rel)

    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(alias.name)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here if is_pkg else here[:-1]
                base = base[: len(base) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            for alias in node.names:
                sub = f"{module}.{alias.name}"
                add(sub if sub.removeprefix(PKG + ".") in known else module)
    return found


def layer(name: str) -> int:
    top = name.split(".")[0] if name else ""
    if top == "":
        return len(LAYERS) - 2  # the package itself: the library's face (``vidgraph.Library``)
    for rank, names in enumerate(LAYERS):
        if top in names:
            return rank
    raise AssertionError(f"module {name!r} has no layer: add its top-level name to LAYERS")


def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imports(name, path, known) for name, path in known.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def test_no_import_cycles():
    found = cycles(graph())
    assert not found, "import cycles:\n" + "\n".join(f"  {len(c)}: {', '.join(c)}" for c in found)


def test_imports_point_one_way():
    wrong = sorted(f"{src or PKG} ({LAYERS[layer(src)][0]}) imports {dst} ({LAYERS[layer(dst)][0]})"
                   for src, targets in graph().items() for dst in targets if layer(dst) > layer(src))
    assert not wrong, "imports against the direction:\n  " + "\n  ".join(wrong)


def test_modules_stay_small():
    big = sorted((n, len(p.read_text(encoding="utf-8").splitlines())) for n, p in modules().items())
    over = [f"{n}: {k} lines" for n, k in big if k > MAX_LINES and n not in TABLES]
    assert not over, f"modules over {MAX_LINES} lines:\n  " + "\n  ".join(over)


def test_the_walker_sees_every_kind_of_import(tmp_path, monkeypatch):
    """A function-level import and a TYPE_CHECKING import both count (the test cannot pass by not looking)."""
    pkg = tmp_path
    (pkg / "records.py").write_text("def f():\n    from .library import Library\n")
    (pkg / "library.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                                    "    from .records import Span\n")
    known = {"records": pkg / "records.py", "library": pkg / "library.py"}
    edges = {n: imports(n, p, known) for n, p in known.items()}
    assert edges == {"records": {"library"}, "library": {"records"}}
    assert cycles(edges) == [["library", "records"]]
