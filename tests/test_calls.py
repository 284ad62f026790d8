"""Calls the model writes (``agent_calls = free``): the tool loop offers the tools with typed arguments; a call is
checked before it runs (a bad argument is a note the model reads once, then it is asked no more), a repeated call
is not run again, a suggested call is taken by its number, an answer ends the turn. Driven by the shipped scripted
model (tools as one JSON schema) over the indexed agents library, and by a fake OpenAI-compatible server (native
``tool_calls``; a server that rejects ``tools`` gets the schema; a failing server is an error, never an
abstention). The last test runs the bundled llama.cpp model (slow)."""

from __future__ import annotations

import json
import re
import socket
import sys
from pathlib import Path

import pytest

from vidgraph.agents import Budget
from vidgraph.agents import ask as agents_ask
from vidgraph.errors import ModelError
from vidgraph.models.base import Message, Tool, ToolCall, Usage
from vidgraph.models.testing import ScriptedModel
from vidgraph.records import Span

sys.path.insert(0, str(Path(__file__).parent))
from helpers_server import _ok  # noqa: E402

FIXTURE = "fixture.mp4"
NOT_FOUND = "Not in the video."
INVOICE = "What is the invoice number?"


@pytest.fixture(scope="module")
def lib(agents_library):
    return agents_library


def ask(lib, model, question, options=None, budget=None, calls="free"):
    """The tool loop with the model writing its calls (``agent_calls``), over the fixture video."""
    settings = lib.settings.with_(agent_calls=calls)
    return agents_ask(lib.source(), question, options, "auto", model, [lib.get(FIXTURE).video_id], budget,
                      None, settings)


def tools(*replies) -> ScriptedModel:
    return ScriptedModel({"tools": list(replies)}, by="prompt", name="free", usage=Usage(50, 10, 0.0, 1))


def call(tool: str, **args) -> dict:
    """A reply calling ``tool`` as the JSON schema of the tools asks: {"tool": name, ...arguments}."""
    return {"tool": tool, **args}


def offered(c) -> list[str]:
    """The names of the tools a scripted call was offered (the alternatives of its JSON schema)."""
    schema = c.json_schema or {}
    return [alt["properties"]["tool"]["const"] for alt in schema.get("anyOf", [schema])]


def steps(a, kind: str) -> list[str]:
    return [s.detail for s in a.trace if s.kind == kind]


# -- the scripted model: tools as one JSON schema ------------------------------------------------------------------
def test_a_written_call_is_run_and_its_result_answers(lib):
    def write(c):
        assert "count" in offered(c) and "locate" in offered(c) and "suggested" in offered(c), offered(c)
        assert "Each turn, call one tool" in c.messages[0].text()
        return call("find", query=" 4821-B ", modality="TEXT", video="fixture")

    def read(c):
        assert re.search(r"O\d+ find\(query='4821-B', modality='text', video='fixture.mp4'\)", c.last), c.last
        return call("answer", answer="4821-B")

    model = tools(call("answer", answer=""), write, read)
    a = ask(lib, model, INVOICE)
    assert (a.text, a.found, a.cost.model_calls) == ("4821-B", True, 3), [s.detail for s in a.trace]
    assert offered(model.calls[0]) == ["answer"]  # a lookup first only reads what the search found
    assert any("find(query='4821-B', modality='text', video='fixture.mp4') (written by the model)" in d
               for d in steps(a, "decided"))
    assert any(d.startswith("find(query='4821-B'") for d in steps(a, "called"))
    assert a.citations and all("4821" in c.evidence for c in a.citations)
    from vidgraph.agents.calls import system_prompt
    from vidgraph.prompts import load

    text, version = system_prompt("free")
    assert model.calls[0].messages[0].text() == text and version == f"{load('tools').version}+{load('calls').version}"
    assert {s.prompt for s in a.trace if s.kind in ("decided", "drafted")} == {version}


def test_where_the_rules_misread_a_count_the_model_writes_it_and_the_tool_computes(lib):
    """The rules take 'total number of pump' for the thing counted (found nowhere as such); the model writes
    count(query='pump') and the answer is composed from the tool's result, not typed by the model."""
    def write(c):
        assert "'total number of pump' is not found as such" in c.user, c.user
        return call("count", query="pump")

    model = tools(write)
    a = ask(lib, model, "What is the total number of pump mentions?")
    assert (a.text, a.found, a.cost.model_calls) == ("2 times", True, 1), [s.detail for s in a.trace]
    assert any("computed by count: 'pump' occurs 2 times" in d for d in steps(a, "answered"))
    assert sorted(c.modality for c in a.citations) == ["speech", "text"]


def test_an_answer_read_from_a_computed_result_cites_what_it_rests_on(lib):
    """A question the rules take for a look-up; the model counts, then answers with the count: the number is in
    no evidence line but in the tool's result, so the answer stands, citing the moments counted."""
    def answer(c):
        assert "count(query='pump')" in c.last and "2 times" in c.last, c.last
        return call("answer", answer="2")

    a = ask(lib, tools(call("count", query="pump"), answer), "Give me the pump figure from the meeting.")
    assert (a.text, a.found) == ("2", True), [s.detail for s in a.trace]
    assert sorted(c.modality for c in a.citations) == ["speech", "text"]
    wrong = ask(lib, tools(call("count", query="pump"), call("answer", answer="93"), call("answer", answer="93")),
                "Give me the pump figure from the meeting.")
    assert not wrong.found, "\n".join(s.detail for s in wrong.trace)  # a number neither said, shown nor computed


@pytest.mark.parametrize("bad, reason", [
    (call("locate", query="pump", occurrence=0), "0 is no occurrence"),
    (call("count", query="pump", modality="audio"), "'audio' is not one of speech, text, objects, any"),
    (call("read", video="nope.mp4", start=0, end=5), "no video 'nope.mp4' is in scope"),
    (call("read", start=500, end=510), "fixture.mp4 is only"),
    (call("read", start=20, end=10), "ends before it starts"),
    (call("order", targets=["pump"]), "two or more"),
    (call("count", modality="speech"), "count needs query"),
    (call("delete_everything"), "there is no tool 'delete_everything'"),
])
def test_a_bad_argument_is_not_run_and_the_model_corrects_it_once(lib, bad, reason):
    def corrected(c):
        assert "was not run" in c.last and reason in c.last, c.last
        return call("locate", query="pump", occurrence=1, modality="speech")

    def read(c):
        assert "locate(query='pump', occurrence=1, modality='speech')" in c.last, c.last
        return call("answer", answer="the broken pump")

    model = tools(call("answer", answer=""), bad, corrected, read)
    a = ask(lib, model, "What did the engineers replace?")
    assert a.found and "pump" in a.text and a.cost.model_calls == 4, [s.detail for s in a.trace]
    assert any("not run" in d and reason in d for d in steps(a, "decided"))
    assert [d for d in steps(a, "called") if d.startswith(bad["tool"] + "(")] == [] or bad["tool"] == "locate"
    assert len([d for d in steps(a, "called") if d.startswith("locate(")]) == 1


def test_two_bad_calls_in_a_row_end_the_loop_without_a_crash(lib):
    model = tools(call("answer", answer=""), call("locate", query="pump", occurrence=0),
                  call("read", video="nope.mp4", start=0, end=5))  # a fourth call would exhaust the script
    a = ask(lib, model, "What did the engineers replace?")
    assert (a.text, a.found, a.cost.model_calls) == (NOT_FOUND, False, 3)
    assert any("2 calls in a row not run" in d and "nope.mp4" in d for d in steps(a, "reflected")), a.trace


def test_a_repeated_call_is_not_run_twice(lib):
    def again(c):
        return call("find", query="pump", modality="speech")

    def after(c):
        assert "was made already" in c.last and re.search(r"its result is O\d+ above", c.last), c.last
        return call("answer", answer="the broken pump")

    model = tools(call("answer", answer=""), call("find", query="pump", modality="speech"), again, after)
    a = ask(lib, model, "What did the engineers replace?")
    assert a.found and "pump" in a.text, [s.detail for s in a.trace]
    assert len([d for d in steps(a, "called") if d.startswith("find(query='pump'")]) == 1
    assert any("not run: made already (O" in d for d in steps(a, "decided"))
    texts = [c.text for c in model.calls]
    assert len(set(texts)) == len(texts)  # the note changes the prompt: nothing is sent twice


def test_the_probes_call_written_again_is_not_run(lib):
    def repeat(c):
        assert f"O1 search(query={INVOICE!r})" in c.user, c.user  # what the rules ran before the model was asked
        return call("search", query=INVOICE)

    model = tools(call("answer", answer=""), repeat, call("answer", answer="4821-B"))
    a = ask(lib, model, INVOICE)
    assert a.found and a.text == "4821-B"
    assert len([d for d in steps(a, "called") if d.startswith("search(")]) == 1
    assert any("made already (O1)" in d for d in steps(a, "decided")), steps(a, "decided")


def test_a_suggested_call_is_taken_by_its_number(lib):
    def pick(c):
        menu = re.findall(r"^(\d+)\. (\w+)\(", c.last, re.M)
        n = next(int(k) for k, tool in menu if tool == "read")
        pick.call = next(line.split(". ", 1)[1] for line in c.last.splitlines() if line.startswith(f"{n}. "))
        return call("suggested", number=n)

    def read(c):
        assert f"{pick.call}" in c.last, (pick.call, c.last)
        return call("answer", answer="4821-B")

    model = tools(call("answer", answer=""), call("suggested", number=9), pick, read)
    a = ask(lib, model, INVOICE, budget=Budget(looks=0))
    assert a.found and a.text == "4821-B", [s.detail for s in a.trace]
    assert any("there is no suggested call 9" in d for d in steps(a, "decided"))
    assert any(d.startswith(pick.call) for d in steps(a, "called"))
    assert "look" not in offered(model.calls[1])  # no looks left: look is not offered


def test_a_final_answer_with_an_option(lib):
    options = ["Monday", "Thursday", "Friday"]

    def choose(c):
        alt = c.json_schema
        assert alt["properties"]["option"] == {"enum": ["A", "B", "C"]}, alt
        return call("answer", answer="Thursday", option="b")

    a = ask(lib, tools(choose), "To which day is the meeting moved?", options=options)
    assert (a.choice, a.found, a.text) == ("B", True, "B. Thursday")
    assert any("Thursday" in c.evidence for c in a.citations)


def test_auto_is_menu_for_the_scripted_model_and_free_for_a_server(lib):
    model = tools({"answer": "4821-B", "option": None, "call": 0})
    a = ask(lib, model, INVOICE, calls="auto")
    assert a.text == "4821-B" and "Each turn, reply with one JSON object" in model.calls[0].messages[0].text()


# -- a fake OpenAI-compatible server: native tool calls -------------------------------------------------------------
def _calls(*calls: tuple[str, dict | str], content: str | None = None) -> dict:
    """A reply with ``tool_calls`` (arguments as a JSON string, as OpenAI sends them, or as given)."""
    made = [{"id": f"call_{n}", "type": "function",
             "function": {"name": name, "arguments": args if isinstance(args, str) else json.dumps(args)}}
            for n, (name, args) in enumerate(calls, 1)]
    return {"id": "x", "object": "chat.completion", "usage": {"prompt_tokens": 100, "completion_tokens": 9},
            "choices": [{"index": 0, "finish_reason": "tool_calls",
                         "message": {"role": "assistant", "content": content, "tool_calls": made}}]}


COUNT = Tool("count", "how many times", {"type": "object", "properties": {"query": {"type": "string"}},
                                         "required": ["query"]})
ANSWER = Tool("answer", "the answer", {"type": "object", "properties": {"answer": {"type": "string"}},
                                       "required": ["answer"]})


def test_native_tool_calls_are_sent_as_functions_and_read_back(fake, settings):
    from vidgraph.models.openai import OpenAIModel

    fake.script = [(200, _calls(("count", {"query": "pump"}))), (200, _calls(("count", "{not json")))]
    model = OpenAIModel(f"m@{fake.url}", settings)
    reply = model.chat([Message.user("How many pumps?")], tools=[ANSWER, COUNT], max_tokens=50)
    assert reply.calls == (ToolCall("count", {"query": "pump"}, "call_1"),) and reply.data == reply.calls[0]
    assert reply.usage.prompt_tokens == 100 and model.native_tools
    body = fake.requests[0]["json"]
    assert body["tool_choice"] == "required" and "response_format" not in body
    assert body["tools"] == [{"type": "function", "function": {"name": t.name, "description": t.description,
                                                               "parameters": t.parameters}} for t in (ANSWER, COUNT)]
    broken = model.chat([Message.user("again")], tools=[ANSWER, COUNT]).calls[0]
    assert broken.name == "count" and "not JSON" in broken.problem


def test_a_conversation_carries_the_calls_and_the_tool_replies(fake, settings):
    from vidgraph.models.openai import OpenAIModel

    fake.script = [(200, _calls(("answer", {"answer": "2 times"})))]
    made = ToolCall("count", {"query": "pump"}, "call_7")
    messages = [Message.system("tools"), Message.user("How many pumps?"), Message.assistant(calls=(made,)),
                Message.tool("call_7", "O1 count(query='pump') → 2"), Message.user("Answer now.")]
    OpenAIModel(f"m@{fake.url}", settings).chat(messages, tools=[ANSWER, COUNT])
    sent = fake.requests[0]["json"]["messages"]
    assert sent[2] == {"role": "assistant", "content": None, "tool_calls": [
        {"id": "call_7", "type": "function", "function": {"name": "count", "arguments": '{"query": "pump"}'}}]}
    assert sent[3] == {"role": "tool", "tool_call_id": "call_7", "content": "O1 count(query='pump') → 2"}


def test_tool_choice_required_refused_then_auto(fake, settings):
    from vidgraph.models.openai import OpenAIModel

    fake.script = [(400, {"error": {"message": "tool_choice 'required' is not supported"}}),
                   (200, _calls(("count", {"query": "pump"})))]
    model = OpenAIModel(f"m@{fake.url}", settings)
    assert model.chat([Message.user("How many?")], tools=[COUNT]).calls[0].name == "count"
    assert [r["json"]["tool_choice"] for r in fake.requests] == ["required", "auto"] and model.native_tools


def test_a_call_written_as_text_is_read(fake, settings):
    """A server without a tool-call parser sends the call in ``content``."""
    from vidgraph.models.openai import OpenAIModel

    fake.script = [(200, _ok('<tool_call>{"name": "count", "arguments": {"query": "pump"}}</tool_call>'))]
    reply = OpenAIModel(f"m@{fake.url}", settings).chat([Message.user("How many?")], tools=[ANSWER, COUNT])
    assert reply.calls[0].name == "count" and reply.calls[0].arguments == {"query": "pump"}


@pytest.mark.parametrize("status, error", [(400, "tools are not supported by this model"),
                                           (500, "tools param requires --jinja flag")])  # Ollama / llama.cpp
def test_a_server_rejecting_tools_gets_one_json_schema_from_then_on(fake, settings, status, error):
    from vidgraph.models.openai import OpenAIModel

    def respond(request):
        if "tools" in request["json"]:
            return status, {"error": {"code": status, "message": error}}
        return 200, _ok('{"tool": "count", "query": "pump"}')

    fake.respond = respond
    model = OpenAIModel(f"m@{fake.url}", settings)
    messages = [Message.user("How many?"), Message.assistant(calls=(ToolCall("answer", {"answer": ""}, "c1"),)),
                Message.tool("c1", "rejected"), Message.user("again")]
    reply = model.chat(messages, tools=[ANSWER, COUNT])
    assert reply.calls == (ToolCall("count", {"query": "pump"}),) and not model.native_tools
    first, second = (r["json"] for r in fake.requests)
    assert "tools" in first and "tools" not in second
    schema = second["response_format"]["json_schema"]["schema"]
    assert [a["properties"]["tool"] for a in schema["anyOf"]] == [{"const": "answer"}, {"const": "count"}]
    assert [m["role"] for m in second["messages"]] == ["user", "assistant", "user", "user"]
    assert second["messages"][1]["content"] == '{"tool": "answer", "answer": ""}'
    fake.requests.clear()
    model.chat([Message.user("How many?")], tools=[COUNT])
    assert len(fake.requests) == 1 and "tools" not in fake.requests[0]["json"]  # remembered


def test_the_loop_on_a_server_with_native_tool_calls(fake, lib, settings):
    from vidgraph.models.openai import OpenAIModel

    fake.script = [(200, _calls(("answer", {"answer": ""}))),
                   (200, _calls(("find", {"query": "4821-B", "modality": "text"}))),
                   (200, _calls(("answer", {"answer": "4821-B"})))]
    a = ask(lib, OpenAIModel(f"m@{fake.url}", settings), INVOICE, calls="auto")  # auto: free on a server
    assert (a.text, a.found, a.cost.model_calls) == ("4821-B", True, 3), [s.detail for s in a.trace]
    second, third = (r["json"] for r in fake.requests[1:])
    assert [t["function"]["name"] for t in fake.requests[0]["json"]["tools"]] == ["answer"]
    assert {"count", "locate", "suggested", "speakers"} <= {t["function"]["name"] for t in second["tools"]}
    roles = [m["role"] for m in third["messages"]]
    assert roles[-3:] == ["assistant", "tool", "user"], roles
    assert third["messages"][-3]["tool_calls"][0]["function"]["name"] == "find"
    assert third["messages"][-2]["tool_call_id"] == "call_1" and "find(query='4821-B'" in \
        third["messages"][-2]["content"]


def test_the_loop_falls_back_to_the_schema_when_the_server_rejects_tools(fake, lib, settings):
    from vidgraph.models.openai import OpenAIModel

    replies = [call("answer", answer=""), call("find", query="4821-B", modality="text"),
               call("answer", answer="4821-B")]

    def respond(request):
        if "tools" in request["json"]:
            return 400, {"error": {"message": "this model does not support tools"}}
        return 200, _ok(json.dumps(replies.pop(0)))

    fake.respond = respond
    model = OpenAIModel(f"m@{fake.url}", settings)
    a = ask(lib, model, INVOICE)
    assert (a.text, a.found) == ("4821-B", True) and not model.native_tools, [s.detail for s in a.trace]
    assert ["tools" in r["json"] for r in fake.requests] == [True, False, False, False]
    assert all(m["role"] != "tool" for r in fake.requests[1:] for m in r["json"]["messages"])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_failing_or_absent_server_is_an_error_never_an_abstention(fake, lib, settings, fast_retries):
    from vidgraph.models.openai import OpenAIModel

    fake.respond = lambda request: (500, {"error": {"message": "CUDA out of memory"}})
    with pytest.raises(ModelError, match=r"HTTP 500 4 times.*out of memory"):
        ask(lib, OpenAIModel(f"m@{fake.url}", settings), INVOICE)
    down = f"http://127.0.0.1:{_free_port()}/v1"
    with pytest.raises(ModelError, match="unreachable after 4 tries"):
        ask(lib, OpenAIModel(f"m@{down}", settings), INVOICE)


# -- the bundled model ------------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_the_bundled_model_calls_tools_through_the_json_schema(lib):
    """llama.cpp, tools as one JSON schema (grammar-constrained: the reply is always one of the tools): a lookup
    first reads what the search tool found, the answer is cited by the tool's evidence. (The 1.5B model copies the
    rules' suggested arguments when it writes a call; a misread count is not corrected by it, see the README.)"""
    from vidgraph.agents.calls import system_prompt
    from vidgraph.models import load_model

    model = load_model("llamacpp:qwen2.5-coder-1.5b", lib.settings)
    a = ask(lib, model, "How much copper wire does the red container hold?", budget=Budget(looks=0, calls=4))
    detail = [s.detail for s in a.trace]
    assert a.found and re.search(r"420|four hundred", a.text, re.I), (a.text, detail)
    assert any(c.span.overlap(Span(10, 20)) > 0 and "copper" in c.evidence for c in a.citations), a.citations
    turns = [s for s in a.trace if s.kind in ("drafted", "decided")]
    assert turns and {s.prompt for s in turns} == {system_prompt("free")[1]}, detail
    assert not any(s.kind == "error" for s in a.trace), detail  # every reply parsed as a call of a tool
