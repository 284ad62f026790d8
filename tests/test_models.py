"""The chat interface and its three backends: llama.cpp in process, an OpenAI-compatible server, transformers.

Real models: the packaged Qwen2.5-Coder GGUFs (llama.cpp, and llama-cpp-python's own OpenAI server on loopback), a
tiny random-weight Qwen2-VL built here (the transformers image path) and the 0.5B GGUF through transformers.
A small http.server double checks the request shape, retries, the response_format fallback and error lines.
"""

from __future__ import annotations

import base64
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Literal

import pytest
from pydantic import BaseModel

from vidgraph.errors import ConfigError, ModelError
from vidgraph.models import ImagePart, Message, Usage, extract_json, load_model
from vidgraph.models.packaged import PACKAGED
from vidgraph.models.testing import ScriptedModel

sys.path.insert(0, str(Path(__file__).parent))
from helpers_server import _ok  # noqa: E402
from conftest import THREADS, make_settings  # noqa: E402


class Color(BaseModel):
    color: str


class Choice(BaseModel):
    answer: Literal["A", "B", "C", "D"]


BUS = [Message.system("You answer questions about a video from its timestamped captions."),
       Message.user("Captions:\n0:05 A man walks a dog in a park.\n0:20 A red bus stops at the corner.\n"
                    "0:35 Children play football.\n\nQuestion: what color is the bus?")]


# --- base.chat with a scripted model ----------------------------------------------------------------------------

def Scripted(replies: list[str], native: bool = False, images: bool = False) -> ScriptedModel:
    """The shipped scripted model: replies from a list; every call kept in ``calls``."""
    return ScriptedModel(list(replies), native_schema=native, images=images, usage=Usage(10, 3, 0.5, 1))


def sent(model: ScriptedModel) -> list[tuple[list[Message], dict | None]]:
    return [(list(c.messages), c.json_schema) for c in model.calls]


def test_schema_reply_is_parsed_and_the_schema_is_instructed():
    model = Scripted(['{"color": "red"}'])
    reply = model.chat(BUS, schema=Color)
    assert reply.data == Color(color="red") and reply.usage == Usage(10, 3, 0.5, 1)
    messages, json_schema = sent(model)[0]
    assert json_schema is None and messages[0].role == "system" and len(messages) == len(BUS)
    assert '"color"' in messages[0].text() and "JSON schema" in messages[0].text()


def test_native_schema_goes_to_the_backend_not_the_prompt():
    model = Scripted(['{"color": "red"}'], native=True)
    assert model.chat(BUS, schema=Color).data.color == "red"
    messages, json_schema = sent(model)[0]
    assert json_schema == Color.model_json_schema() and messages == BUS


def test_bad_reply_is_retried_once_with_the_error_and_usage_sums():
    model = Scripted(["The bus is red.", '```json\n{"color": "red"}\n```'])
    reply = model.chat(BUS, schema=Color)
    assert reply.data.color == "red"
    assert reply.usage == Usage(20, 6, 1.0, 2)
    retry = sent(model)[1][0]
    assert retry[-2] == Message.assistant("The bus is red.")
    assert "no JSON object" in retry[-1].text() and retry[-1].role == "user"


def test_two_bad_replies_raise_one_line():
    model = Scripted(['{"colour": "red"}', '{"colour": "red"}'])
    with pytest.raises(ModelError, match="did not return valid JSON twice") as err:
        model.chat(BUS, schema=Color)
    assert "color: Field required" in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(ModelError, match="missing keys: answer"):
        Scripted(["{}", '{"a": 1}']).chat(BUS, schema={"type": "object", "required": ["answer"]})


def test_native_schema_turned_off_mid_call_instructs_the_retry():
    """A backend whose server refused response_format flips native_schema; the retry then carries the schema."""

    class Flipping(ScriptedModel):
        def _complete(self, messages, **kw):
            self.native_schema = False
            return super()._complete(messages, **kw)

    model = Flipping(["no", '{"color": "red"}'], native_schema=True)
    assert model.chat(BUS, schema=Color).data.color == "red"
    assert sent(model)[0][1] is not None and sent(model)[1][1] is None
    assert "JSON schema" in sent(model)[1][0][0].text()


def test_images_need_a_vision_model(tmp_path):
    frame = ImagePart(str(tmp_path / "f.jpg"), t=75.5, video="a.mp4")
    model = Scripted(["x"])
    with pytest.raises(ModelError, match="takes no images"):
        model.chat([Message.user("what is shown?", frame)])
    assert sent(model) == []
    assert Message.user("see", frame).text() == "see\n[frame at 1:15.5 of a.mp4]"


def test_extract_json_tolerates_fences_and_chatter():
    assert extract_json('Sure! Here it is: {"a": [1, 2]} Hope that helps.') == {"a": [1, 2]}
    assert extract_json('```json\n[{"t": 1}]\n```') == [{"t": 1}]
    assert extract_json('{broken {"ok": true}') == {"ok": True}
    with pytest.raises(ValueError, match="no JSON"):
        extract_json("nothing here")


# --- llama.cpp in process ---------------------------------------------------------------------------------------

def test_llamacpp_small_model_answers_from_context(settings):
    model = load_model("llamacpp:qwen2.5-coder-0.5b", settings)
    assert load_model("llamacpp:qwen2.5-coder-0.5b", settings) is model
    reply = model.chat(BUS, schema=Color, max_tokens=32)
    assert "red" in reply.data.color.lower()
    assert reply.usage.calls == 1 and reply.usage.prompt_tokens > 40 and 0 < reply.usage.completion_tokens < 32
    plain = model.chat([Message.user("Reply with the word yes.")], max_tokens=4)
    assert plain.text.strip() and plain.data is None and plain.usage.completion_tokens <= 4
    with pytest.raises(ModelError, match="takes no images"):
        model.chat([Message.user("what is this?", ImagePart("x.jpg", t=1.0))])


@pytest.mark.slow
@pytest.mark.numerics
def test_llamacpp_default_model_multiple_choice(settings):
    """The offline default gets four questions over nine captions right (the 0.5B model misses two)."""
    captions = """0:00-0:40 A woman in a blue coat walks along a rainy street.
0:40-1:30 She enters a bakery and greets an old man behind the counter.
1:30-2:10 She pays with coins and leaves with a paper bag.
2:10-3:00 A brown dog follows her to a bus stop.
3:00-3:50 She gets on bus number 42.
3:50-5:00 On the bus she reads a newspaper.
5:00-6:20 She gets off near a park and sits on a green bench.
6:20-7:30 She eats one croissant and gives another to a boy on a bicycle.
7:30-10:00 She walks toward a museum as the rain stops."""
    questions = [("Which bus does the woman take?", ["12", "24", "42", "7"], "C"),
                 ("What does the woman buy at the bakery?", ["flowers", "croissants", "a newspaper", "coffee"], "B"),
                 ("What follows the woman to the bus stop?", ["a cat", "a boy on a bicycle", "an old man",
                                                              "a brown dog"], "D"),
                 ("Where does she sit after getting off the bus?", ["on a green bench", "in a cafe",
                                                                     "on the museum steps", "in the bakery"], "A")]
    model = load_model("llamacpp:qwen2.5-coder-1.5b", settings)
    answers = []
    for question, options, _ in questions:
        prompt = f"Captions:\n{captions}\n\nQuestion: {question}\n" + "\n".join(
            f"{letter}) {option}" for letter, option in zip("ABCD", options))
        reply = model.chat([BUS[0], Message.user(prompt)], schema=Choice, max_tokens=16)
        assert reply.usage.prompt_tokens > 200
        answers.append(reply.data.answer)
    assert answers == [want for *_, want in questions]


def test_llamacpp_spec_errors(settings, tmp_path):
    with pytest.raises(ConfigError, match="no packaged model named 'qwen-9000'"):
        load_model("llamacpp:qwen-9000", settings)
    with pytest.raises(ConfigError, match="missing.gguf does not exist"):
        load_model(f"llamacpp:{tmp_path / 'missing.gguf'}", settings)
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"GGUF" + bytes(60))
    with pytest.raises(ModelError, match="cannot load"):
        load_model(f"llamacpp:{broken}", settings).chat([Message.user("hi")])
    with pytest.raises(ConfigError, match="not 'backend:model'"):
        load_model("qwen", settings)


# --- OpenAI-compatible: llama-cpp-python's server on loopback ---------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def llama_server(settings, tmp_path_factory):
    """llama-cpp-python's server with the 0.5B GGUF, through ``vidgraph.models.llama_server`` (which loads the
    portable build's CPU backend first); yields its /v1 base URL."""
    import httpx

    gguf = PACKAGED["qwen2.5-coder-0.5b"].path(settings)
    port = _free_port()
    log = tmp_path_factory.mktemp("server") / "server.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "vidgraph.models.llama_server", "--model", str(gguf),
                                 "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "2048",
                                 "--n_threads", str(THREADS)],
                                stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                pytest.fail(f"llama_cpp.server exited ({proc.returncode}): {log.read_text()[-800:]}")
            try:
                if httpx.get(f"{base}/models", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"llama_cpp.server did not come up: {log.read_text()[-800:]}")
            time.sleep(0.3)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_openai_against_llama_cpp_server(llama_server, settings, monkeypatch, tmp_path):
    from vidgraph.models import openai

    model = openai.OpenAIModel(f"qwen2.5-coder-0.5b@{llama_server}", settings)
    plain = model.chat([Message.user("Reply with the single word: hello")], max_tokens=8)
    assert "hello" in plain.text.lower() and plain.usage.completion_tokens > 0 and plain.usage.prompt_tokens > 5
    # llama-cpp-python's server refuses json_schema (HTTP 500 naming response_format) and constrains decoding
    # with json_object + schema: the client settles on that, still native.
    reply = model.chat(BUS, schema=Color, max_tokens=32)
    assert "red" in reply.data.color.lower() and reply.usage.calls == 1 and reply.usage.tokens > 40
    assert model._format == "json_object" and model.native_schema
    # The server cannot take images: a 500 after the retries, one line that says so.
    monkeypatch.setattr(openai, "BACKOFF", (0.05, 0.05, 0.05))
    frame = tmp_path / "tiny.jpg"
    frame.write_bytes(_jpeg())
    with pytest.raises(ModelError, match="takes no images") as err:
        model.chat([Message.user("What is shown?", ImagePart(str(frame), t=3.0))], max_tokens=8)
    assert "\n" not in str(err.value) and llama_server in str(err.value)


# --- OpenAI-compatible: a scripted HTTP server ------------------------------------------------------------------

def _jpeg() -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (32, 24), (200, 30, 30)).save(buf, format="JPEG")
    return buf.getvalue()


def test_openai_request_shape_with_images_and_key(fake, tmp_path, monkeypatch):
    from vidgraph.models.openai import OpenAIModel

    monkeypatch.setenv("VG_TEST_API_KEY", "sk-test-123")
    settings = make_settings(llm_api_key_env="VG_TEST_API_KEY", llm_base_url=fake.url)
    jpeg = _jpeg()
    frames = [tmp_path / "a.jpg", tmp_path / "b.jpg"]
    for f in frames:
        f.write_bytes(jpeg)
    fake.script = [(200, _ok('{"color": "red"}', {"prompt_tokens": 1234, "completion_tokens": 7}))]
    model = OpenAIModel("qwen2.5-vl-7b", settings)
    assert model.supports_images and model.url == f"{fake.url}/chat/completions"
    reply = model.chat([Message.system("Look at the frames."),
                        Message.user("What color is the bus?", ImagePart(str(frames[0]), t=30.0, video="city.mp4"),
                                     ImagePart(str(frames[1]), t=95.0))],
                       schema=Color, max_tokens=64, stop=["\n\n"])
    assert reply.data.color == "red"
    assert (reply.usage.prompt_tokens, reply.usage.completion_tokens, reply.usage.calls) == (1234, 7, 1)
    request = fake.requests[0]
    assert request["path"] == "/v1/chat/completions"
    assert request["headers"]["Authorization"] == "Bearer sk-test-123"
    body = request["json"]
    assert (body["model"], body["max_tokens"], body["temperature"], body["stop"]) == ("qwen2.5-vl-7b", 64, 0.0,
                                                                                      ["\n\n"])
    assert body["response_format"] == {"type": "json_schema", "json_schema": {
        "name": "reply", "schema": Color.model_json_schema(), "strict": False}}
    assert body["messages"][0] == {"role": "system", "content": "Look at the frames."}
    parts = body["messages"][1]["content"]
    assert [p["type"] for p in parts] == ["text", "text", "image_url", "text", "image_url"]
    assert parts[0]["text"] == "What color is the bus?"
    assert parts[1]["text"] == "[frame at 0:30.0 of city.mp4]" and parts[3]["text"] == "[frame at 1:35.0]"
    for p in (parts[2], parts[4]):
        head, data = p["image_url"]["url"].split(",", 1)
        assert head == "data:image/jpeg;base64" and base64.b64decode(data) == jpeg


def test_openai_retries_503_then_succeeds(fake, settings, fast_retries):
    from vidgraph.models.openai import OpenAIModel

    fake.script = [(503, {"error": "loading"}), (503, {"error": "loading"}), (200, _ok("hello"))]
    reply = OpenAIModel(f"m@{fake.url}", settings).chat([Message.user("hi")])
    assert reply.text == "hello" and len(fake.requests) == 3
    assert reply.usage.tokens == 0 and reply.usage.calls == 1  # no usage in the reply: 0 tokens, still counted
    fake.script = [(429, "slow down")] * 4
    with pytest.raises(ModelError, match=r"HTTP 429 4 times \(slow down\)"):
        OpenAIModel(f"m@{fake.url}", settings).chat([Message.user("hi")])


def test_openai_falls_back_when_response_format_is_refused(fake, settings):
    from vidgraph.models.openai import OpenAIModel

    def respond(request):
        if "response_format" in request["json"]:
            return 400, {"error": {"message": "response_format is not supported by this server"}}
        return 200, _ok('Here you go: {"color": "red"}', {"prompt_tokens": 50, "completion_tokens": 9})

    fake.respond = respond
    model = OpenAIModel(f"m@{fake.url}", settings)
    reply = model.chat(BUS, schema=Color)
    assert reply.data.color == "red" and not model.native_schema
    sent = [r["json"] for r in fake.requests]
    assert [s.get("response_format", {}).get("type") for s in sent] == ["json_schema", "json_object", None]
    assert "JSON schema" in sent[2]["messages"][0]["content"] and '"color"' in sent[2]["messages"][0]["content"]
    assert reply.usage.prompt_tokens == 50
    fake.requests.clear()
    assert model.chat(BUS, schema=Color).data.color == "red"
    assert len(fake.requests) == 1 and "response_format" not in fake.requests[0]["json"]
    assert "JSON schema" in fake.requests[0]["json"]["messages"][0]["content"]


def test_openai_image_rejection_and_http_errors_are_one_line(fake, settings, tmp_path, monkeypatch):
    from vidgraph.models.openai import OpenAIModel

    frame = tmp_path / "a.jpg"
    frame.write_bytes(_jpeg())
    model = OpenAIModel(f"text-only@{fake.url}", settings)
    fake.script = [(400, {"error": {"message": "model is not a multimodal model"}})]
    with pytest.raises(ModelError, match="text-only takes no images") as err:
        model.chat([Message.user("What?", ImagePart(str(frame), t=1.0))])
    assert "not a multimodal model" in str(err.value) and "\n" not in str(err.value)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret-456")
    fake.script = [(401, {"error": {"message": "Incorrect API key\nprovided"}})]
    with pytest.raises(ModelError, match="set OPENAI_API_KEY to a valid API key") as err:
        model.chat([Message.user("hi")])
    assert "sk-secret-456" not in str(err.value) and "\n" not in str(err.value)
    fake.script = [(404, {"error": {"message": "The model `text-only` does not exist."}})]
    with pytest.raises(ModelError, match="HTTP 404.*does not exist.*check the model name"):
        model.chat([Message.user("hi")])
    fake.script = [(200, "<html>not json</html>")]
    with pytest.raises(ModelError, match="not JSON"):
        model.chat([Message.user("hi")])
    fake.script = [(200, {"data": []})]
    with pytest.raises(ModelError, match="without choices"):
        model.chat([Message.user("hi")])


def test_openai_server_down_or_slow(fake, settings, fast_retries):
    from vidgraph.models.openai import OpenAIModel

    url = f"http://127.0.0.1:{_free_port()}/v1"
    with pytest.raises(ModelError) as err:
        OpenAIModel(f"m@{url}", settings).chat([Message.user("hi")])
    message = str(err.value)
    assert f"{url}/chat/completions unreachable after 4 tries" in message and "is the server running?" in message
    assert "\n" not in message

    def slow(request):
        time.sleep(1.0)
        return 200, _ok("late")

    fake.respond = slow
    with pytest.raises(ModelError, match="timed out after 4 tries.*llm_timeout"):
        OpenAIModel(f"m@{fake.url}", settings.with_(llm_timeout=0.2)).chat([Message.user("hi")])
    assert len(fake.requests) == 4


def test_openai_spec_and_settings(settings, monkeypatch):
    from vidgraph.models.openai import OpenAIModel

    with pytest.raises(ConfigError, match="llm_base_url.*VIDGRAPH_LLM_BASE_URL"):
        OpenAIModel("llama3", settings.with_(llm_base_url=None))
    model = OpenAIModel("llama3@https://gpu.example:8000/v1/", settings)
    assert (model.name, model.url) == ("llama3", "https://gpu.example:8000/v1/chat/completions")
    monkeypatch.setenv("VIDGRAPH_LLM_BASE_URL", "http://localhost:11434/v1")
    model = load_model("openai:qwen2.5:7b", make_settings())
    assert (model.name, model.base_url) == ("qwen2.5:7b", "http://localhost:11434/v1")
    with pytest.raises(ConfigError, match="not http"):
        OpenAIModel("m@ftp://host/v1", settings)


# --- transformers -----------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def tiny_vlm(tmp_path_factory) -> Path:
    """A random-weight Qwen2-VL (38k parameters) with a word-level tokenizer: real processor and generate paths."""
    import torch
    from tokenizers import AddedToken, Tokenizer, models, pre_tokenizers
    from transformers import (Qwen2TokenizerFast, Qwen2VLConfig, Qwen2VLForConditionalGeneration,
                              Qwen2VLImageProcessor, Qwen2VLProcessor, Qwen2VLVideoProcessor)

    out = tmp_path_factory.mktemp("tiny-vlm")
    special = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|vision_end|>",
               "<|image_pad|>", "<|video_pad|>"]
    words = ["[unk]", "user", "assistant", "system", "red", "bus", "what", "color", "is", "the", "frame", "at"]
    backend = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="[unk]"))
    backend.pre_tokenizer = pre_tokenizers.Whitespace()
    backend.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in special])
    tok = Qwen2TokenizerFast(tokenizer_object=backend, unk_token="[unk]", eos_token="<|im_end|>",
                             pad_token="<|endoftext|>")
    template = ("{% for m in messages %}<|im_start|>{{ m.role }}\n{% if m.content is string %}{{ m.content }}"
                "{% else %}{% for c in m.content %}{% if c.type == 'image' %}<|vision_start|><|image_pad|>"
                "<|vision_end|>{% else %}{{ c.text }}{% endif %}{% endfor %}{% endif %}<|im_end|>\n{% endfor %}"
                "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")
    processor = Qwen2VLProcessor(image_processor=Qwen2VLImageProcessor(min_pixels=56 * 56, max_pixels=112 * 112),
                                 video_processor=Qwen2VLVideoProcessor(), tokenizer=tok, chat_template=template)
    ids = {s: tok.convert_tokens_to_ids(s) for s in special}
    config = Qwen2VLConfig(
        text_config=dict(vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                         num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=512,
                         rope_scaling={"type": "mrope", "mrope_section": [2, 3, 3]}),
        vision_config=dict(depth=1, embed_dim=16, hidden_size=32, num_heads=2, mlp_ratio=2, patch_size=14,
                           spatial_merge_size=2, temporal_patch_size=2, in_channels=3),
        image_token_id=ids["<|image_pad|>"], video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"], vision_end_token_id=ids["<|vision_end|>"],
        bos_token_id=ids["<|endoftext|>"], eos_token_id=ids["<|im_end|>"], pad_token_id=ids["<|endoftext|>"])
    torch.manual_seed(0)
    Qwen2VLForConditionalGeneration(config).save_pretrained(out)
    processor.save_pretrained(out)
    return out


def test_transformers_vision_model_takes_timestamped_frames(tiny_vlm, settings, tmp_path):
    from PIL import Image

    from vidgraph.models.transformers import TransformersModel

    frame = tmp_path / "f.jpg"
    Image.new("RGB", (320, 180), (200, 30, 30)).save(frame)
    model = TransformersModel(str(tiny_vlm), settings.with_(device="auto"))
    assert model.supports_images and not model.native_schema and model.load_seconds is None
    text_only = model.chat([Message.user("what color is the bus")], max_tokens=3)
    assert model.device == "cpu" and model.load_seconds is not None
    with_frame = model.chat([Message.user("what color is the bus", ImagePart(str(frame), t=12.0))], max_tokens=5)
    assert isinstance(with_frame.text, str) and with_frame.usage.completion_tokens == 5
    # The frame became image tokens in the prompt: its label words plus the merged patch grid.
    grid = model._processor.image_processor(images=[Image.open(frame)], return_tensors="pt")["image_grid_thw"][0]
    patches = int(grid.prod()) // 4  # spatial_merge_size 2
    label = len(model._tokenizer("[frame at 0:12.0]")["input_ids"])
    assert with_frame.usage.prompt_tokens - text_only.usage.prompt_tokens == label + patches + 2
    with pytest.raises(ModelError, match="cannot read the frame"):
        model.chat([Message.user("what", ImagePart(str(tmp_path / "gone.jpg"), t=1.0))], max_tokens=2)


def test_transformers_spec_errors(settings, tmp_path):
    from vidgraph.models.transformers import TransformersModel

    with pytest.raises(ConfigError, match="not a model directory"):
        load_model(f"transformers:{tmp_path / 'nope'}", settings)
    (tmp_path / "config.json").write_text('{"model_type": "qwen2"}')
    model = TransformersModel(str(tmp_path), settings)
    assert not model.supports_images
    with pytest.raises(ConfigError, match="transformers cannot load"):
        model.chat([Message.user("hi")])


@pytest.mark.slow
@pytest.mark.numerics
def test_transformers_loads_the_packaged_gguf(settings):
    """Qwen2.5-Coder-0.5B de-quantized by transformers (about 45 s to load, 5 tok/s): text only, JSON by prompt."""
    gguf = PACKAGED["qwen2.5-coder-0.5b"].path(settings)
    model = load_model(f"transformers:{gguf}", settings)
    assert not model.supports_images and not model.native_schema
    reply = model.chat(BUS, schema=Color, max_tokens=16)
    assert "red" in reply.data.color.lower()
    assert reply.usage.prompt_tokens > 60 and 0 < reply.usage.completion_tokens <= 16


def test_models_are_not_imported_by_vidgraph():
    code = ("import sys, vidgraph, vidgraph.models, vidgraph.models.llamacpp, vidgraph.models.openai, "
            "vidgraph.models.transformers; print([m for m in ('torch', 'transformers', 'llama_cpp', 'httpx') "
            "if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONWARNINGS": "ignore"}).stdout.strip()
    assert out == "[]"


def test_doctor_says_whether_the_configured_model_server_answers(fake, monkeypatch):
    from typer.testing import CliRunner

    from vidgraph.cli import app

    monkeypatch.setenv("VIDGRAPH_LLM", f"openai:qwen-test@{fake.url}")
    up = CliRunner().invoke(app, ["doctor"], terminal_width=250)
    assert "answers: 1 model" in up.stdout, up.stdout
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]  # a port nobody listens on once the socket closes
    monkeypatch.setenv("VIDGRAPH_LLM", f"openai:qwen-test@http://127.0.0.1:{dead}/v1")
    down = CliRunner().invoke(app, ["doctor"], terminal_width=250)
    assert down.exit_code == 1 and "does not answer" in down.stdout, down.stdout


def test_a_failing_model_server_is_an_error_of_ask_not_an_abstention(fake, fast_retries, agents_library):
    """HTTP 500 on every try: `vidgraph ask` says so in one line and exits 1 (never "Not in the video.", exit 3)."""
    from typer.testing import CliRunner

    from vidgraph.cli import app

    fake.respond = lambda request: (500, {"error": "the GPU fell over"})
    result = CliRunner().invoke(app, ["ask", str(agents_library.folder), "What is the invoice number?", "--quiet",
                                      "--model", f"openai:qwen-test@{fake.url}"])
    assert result.exit_code == 1, result.output
    assert result.stdout == "" and "HTTP 500" in result.stderr and "Not in the video" not in result.output
    assert len(result.stderr.strip().splitlines()) == 1


def test_unload_models_closes_and_forgets_every_loaded_model(monkeypatch):
    import vidgraph.models as models

    class Held:
        closed = False

        def close(self):
            self.closed = True

    held = Held()
    monkeypatch.setattr(models, "_loaded", {("x:y", "{}"): held, ("z:w", "{}"): object()})
    models.unload_models()
    assert held.closed and models._loaded == {}
