"""Benchmark loaders: real annotation excerpts (tests/data/annotations), hand-made samples of the documented formats,
our haystack, format detection, one-line errors, and finding videos on disk."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vidgraph.errors import ConfigError
from vidgraph.eval.haystack import Haystack, Needle, Query
from vidgraph.eval.loaders import (detect_format, load_activitynet_qa, load_benchmark, load_charades_sta,
                                   load_egoschema, load_haystack, load_longvideobench, load_lvbench, load_mlvu,
                                   load_nextqa, load_qvhighlights, load_videomme)
from vidgraph.eval.questions import Question, duration_bucket, read_questions, resolve_videos, write_questions

DATA = Path(__file__).parent / "data" / "annotations"


def _by_id(questions: list[Question]) -> dict[str, Question]:
    return {q.id: q for q in questions}


def _one_line_error(excinfo, path) -> str:
    text = str(excinfo.value)
    assert "\n" not in text
    assert str(path) in text
    return text


# -- real excerpts ----------------------------------------------------------------------------------------------------


def test_mlvu_folder_multiple_choice_only():
    qs = load_mlvu(DATA / "mlvu")
    assert [q.id for q in qs] == ["1_plotQA-0", "1_plotQA-1", "1_plotQA-2", "2_needle-0", "2_needle-1",
                                  "4_count-0", "5_order-0"]
    q = _by_id(qs)["1_plotQA-1"]
    assert q.video == "xiaoliyu_6.mp4" and q.benchmark == "mlvu" and q.kind == "plotQA"
    assert q.options == ("Carried by the cartoon shrimp", "Carried by the cartoon turtle",
                         "Carried by the cartoon catfish", "Carried by the cartoon seahorse")
    assert q.answer == "B" and q.answer_text == "Carried by the cartoon turtle"
    assert q.duration == 400 and q.duration_bucket == "medium"
    assert _by_id(qs)["5_order-0"].answer == "D"
    assert _by_id(qs)["4_count-0"].options == ("2", "1", "5", "4") and _by_id(qs)["4_count-0"].answer == "B"


def test_mlvu_quirks_answer_not_an_option_and_repeated_options():
    qs = _by_id(load_mlvu(DATA / "mlvu"))
    drone = qs["2_needle-1"]  # answer "Catching a flying drone quadcopter" is not among the candidates
    assert drone.video == "needle_4.mp4" and drone.answer == "B"
    assert drone.extra == {"answer_text": "Catching a flying drone quadcopter", "answer_matched": "closest option"}
    three = qs["1_plotQA-2"]  # candidates Six, Three, Three, Eight; answer Three
    assert three.answer == "B" and three.extra["answers"] == ["B", "C"]


def test_mlvu_generation_tasks_on_request():
    qs = load_mlvu(DATA / "mlvu" / "8_sub_scene.json")
    assert qs == []
    (q,) = load_mlvu(DATA / "mlvu" / "8_sub_scene.json", generation=True)
    assert q.options == () and q.answer.startswith("The man in the green plaid shirt") and q.kind == "subPlot"
    assert q.extra["scoring_points"][0] == "The man leads the football players with a swagger"
    assert q.duration_bucket == "hour+"


def test_nextqa_csv():
    qs = load_nextqa(DATA / "nextqa" / "val.csv")
    assert len(qs) == 3
    q = qs[1]
    assert q.id == "4882821564_1" and q.video == "4882821564" and q.kind == "CW"
    assert q.question == "why did the boy pick up one present from the group of them and move to the sofa"
    assert q.options == ("share with the girl", "approach lady sitting there", "unwrap it", "playing with toy train",
                         "gesture something")
    assert q.answer == "C" and q.answer_text == "unwrap it"
    assert q.extra["group"] == "causal" and q.extra["frame_count"] == 2697
    assert q.extra["aliases"] == ["1104/4882821564"]
    assert q.duration is None and q.duration_bucket == ""


def test_activitynet_qa_pairs():
    qs = _by_id(load_activitynet_qa(DATA / "activitynet_qa" / "test_q.json"))
    assert len(qs) == 4
    q = qs["v_s6fEIuHPJ4Y_7"]
    assert q.video == "s6fEIuHPJ4Y" and q.question == "how many athletes are there"
    assert q.answer == "2" and q.kind == "number" and q.options == ()
    assert q.extra["aliases"] == ["v_s6fEIuHPJ4Y"] and q.extra["free"] is True
    assert qs["v_4LoAbHdHWqM_1"].kind == "motion" and qs["v_4LoAbHdHWqM_1"].answer == "tie rope"
    assert qs["v_1QIUV7WYKXg_3"].kind == "yes_no" and qs["v_1QIUV7WYKXg_3"].answer == "no"
    # the answers file or the folder lead to the same questions
    assert load_activitynet_qa(DATA / "activitynet_qa" / "test_a.json") == list(qs.values())
    assert load_activitynet_qa(DATA / "activitynet_qa") == list(qs.values())


def test_charades_sta_spans_and_lengths():
    qs = load_charades_sta(DATA / "charades_sta" / "charades_sta_test.txt")
    assert [q.id for q in qs] == ["3MSZA#1", "AMT7R#2", "AKO6M#3"]
    q = qs[2]
    assert q.kind == "grounding" and q.answer is None and q.options == ()
    assert q.question == "the person takes a bag from the bottom cabinet."
    assert q.evidence == ((12.7, 19.9),)  # ends after the video (18.58 s): kept, clipped when scoring
    assert q.duration == 18.58 and q.duration_bucket == "short"
    assert load_charades_sta(DATA / "charades_sta" / "charades_sta_test.txt", lengths=[])[0].duration is None


def test_qvhighlights_windows():
    qs = _by_id(load_qvhighlights(DATA / "qvhighlights" / "highlight_val_release.jsonl"))
    assert len(qs) == 3
    q = qs["2638"]
    assert q.video == "bP5KfdFJzC4_60.0_210.0" and q.question == "Woman in plaid shirt sits still by a red couch."
    assert q.evidence == ((0.0, 74.0), (76.0, 142.0), (144.0, 150.0))
    assert q.duration == 150 and q.duration_bucket == "medium" and q.kind == "grounding"


# -- documented formats: hand-written samples in the documented shape (invented content) ----------------------------


def _write(path: Path, data, jsonl: bool = False) -> Path:
    path.write_text("\n".join(json.dumps(r) for r in data) + "\n" if jsonl else json.dumps(data))
    return path


VIDEOMME_ROWS = [
    {"video_id": "001", "duration": "short", "domain": "Knowledge", "sub_category": "Humanity & History",
     "url": "https://www.youtube.com/watch?v=abcDEF12345", "videoID": "abcDEF12345", "question_id": "001-1",
     "task_type": "Counting Problem", "question": "How many red cups are on the table?",
     "options": ["A. One.", "B. Two.", "C. Three.", "D. Four."], "answer": "C"},
    {"video_id": "002", "duration": "long", "domain": "Sports", "sub_category": "Football",
     "url": "https://www.youtube.com/watch?v=xyz", "videoID": "xyz", "question_id": "002-3",
     "task_type": "Temporal Reasoning", "question": "What happens first?",
     "options": ["A. A goal.", "B. A foul.", "C. A corner.", "D. A penalty."], "answer": "B"}]


def test_videomme_rows(tmp_path):
    for path in (_write(tmp_path / "videomme.json", VIDEOMME_ROWS),
                 _write(tmp_path / "videomme.jsonl", VIDEOMME_ROWS, jsonl=True)):
        a, b = load_videomme(path)
        assert a.id == "001-1" and a.video == "abcDEF12345" and a.extra["aliases"] == ["001"]
        assert a.options == ("One.", "Two.", "Three.", "Four.") and a.answer == "C"
        assert a.kind == "Counting Problem" and a.duration_bucket == "short"
        assert a.extra["domain"] == "Knowledge" and a.extra["sub_category"] == "Humanity & History"
        assert b.duration_bucket == "long" and b.answer == "B"


def test_videomme_bad_answer_is_one_line(tmp_path):
    path = _write(tmp_path / "vm.json", [{**VIDEOMME_ROWS[0], "answer": "E"}])
    with pytest.raises(ConfigError) as e:
        load_videomme(path)
    assert "record 0 has answer 'E'" in _one_line_error(e, path)


LVBENCH_VIDEOS = [
    {"key": "Yt1d-abc", "type": "documentary", "video_info": {"duration_minutes": 72.5, "fps": 30,
                                                             "resolution": {"width": 1280, "height": 720}},
     "qa": [{"uid": "55", "question": "Which year appears first?\n(A) 1636\n(B) 1366\n(C) 1363\n(D) 1633",
             "answer": "D", "question_type": ["key information retrieval", "temporal grounding"],
             "time_reference": "00:15-00:19"},
            {"uid": "56", "question": "What is the video about?\n(A) Ships\n(B) Trains\n(C) Planes\n(D) Cars",
             "answer": "(A)", "question_type": ["summarization"], "time_reference": ""}]}]


def test_lvbench_meta_jsonl(tmp_path):
    path = _write(tmp_path / "video_info.meta.jsonl", LVBENCH_VIDEOS, jsonl=True)
    a, b = load_lvbench(path)
    assert a.id == "55" and a.video == "Yt1d-abc" and a.question == "Which year appears first?"
    assert a.options == ("1636", "1366", "1363", "1633") and a.answer == "D"
    assert a.kind == "key information retrieval"
    assert a.extra["kinds"] == ["key information retrieval", "temporal grounding"]
    assert a.evidence == ((15.0, 19.0),) and a.duration == 72.5 * 60 and a.duration_bucket == "hour+"
    assert b.answer == "A" and b.evidence == ()
    assert detect_format(path) == "lvbench"


def test_lvbench_without_option_lines_is_refused(tmp_path):
    bad = [{**LVBENCH_VIDEOS[0], "qa": [{"uid": "1", "question": "No options here?", "answer": "A"}]}]
    path = _write(tmp_path / "video_info.meta.jsonl", bad, jsonl=True)
    with pytest.raises(ConfigError) as e:
        load_lvbench(path)
    assert "'(A) ...' option lines" in _one_line_error(e, path)


LVB_ROWS = [
    {"video_id": "86CxyhFV9MI", "question": "In the kitchen, what does the woman pick up after the kettle?",
     "question_wo_referring_query": "What does the woman pick up?", "candidates": ["A cup", "A knife", "A spoon",
                                                                                 "A plate", "A towel"],
     "correct_choice": 2, "position": [120, 340], "topic_category": "NP-News-Programs", "question_category": "T3E",
     "level": "L2-Relation", "id": "86CxyhFV9MI_0", "video_path": "86CxyhFV9MI.mp4",
     "subtitle_path": "86CxyhFV9MI_en.json", "duration_group": 600, "starting_timestamp_for_subtitles": 0,
     "duration": 480.3, "view_count": 1000},
    {"video_id": "zz9", "question": "Which colour is the car?", "option0": "Red", "option1": "Blue",
     "option2": "Green", "option3": "White", "option4": "N/A", "correct_choice": 1, "question_category": "S2E",
     "duration": 12.0, "duration_group": 15, "id": "zz9_1"}]


def test_longvideobench_both_shapes(tmp_path):
    path = _write(tmp_path / "lvb_val.json", LVB_ROWS)
    a, b = load_longvideobench(path)
    assert a.id == "86CxyhFV9MI_0" and a.video == "86CxyhFV9MI" and a.answer == "C" and a.kind == "T3E"
    assert a.options[2] == "A spoon" and len(a.options) == 5
    assert a.extra["duration_group"] == 600 and a.extra["aliases"] == ["86CxyhFV9MI.mp4"]
    assert a.duration_bucket == "medium"
    assert b.options == ("Red", "Blue", "Green", "White") and b.answer == "B" and b.duration_bucket == "short"
    test_split = _write(tmp_path / "lvb_test.json", [{k: v for k, v in LVB_ROWS[0].items() if k != "correct_choice"}])
    assert load_longvideobench(test_split)[0].answer is None


EGO_ROWS = [
    {"q_uid": "0074f737-11cb-497d-8d07-77c3a8127391", "google_drive_id": "1gP9ZX", "question": "What is c doing?",
     "option 0": "cooking", "option 1": "cleaning", "option 2": "painting", "option 3": "reading",
     "option 4": "sewing"},
    {"q_uid": "00b9a0de-c59e-49cb-a127-6081e2fb8c8e", "google_drive_id": "1aB", "question": "Why does c stop?",
     "option 0": "tired", "option 1": "done", "option 2": "phone", "option 3": "door", "option 4": "dog"}]


def test_egoschema_with_subset_answers(tmp_path):
    path = _write(tmp_path / "questions.json", EGO_ROWS)
    _write(tmp_path / "subset_answers.json", {EGO_ROWS[0]["q_uid"]: 2})
    a, b = load_egoschema(path)
    assert a.video == a.id == EGO_ROWS[0]["q_uid"] and a.answer == "C" and a.options[2] == "painting"
    assert a.extra["aliases"] == ["1gP9ZX"] and a.duration == 180 and a.duration_bucket == "medium"
    assert b.answer is None  # withheld: unscored, not dropped
    assert detect_format(path) == "egoschema"


# -- haystack ---------------------------------------------------------------------------------------------------------


def _haystack(root: Path) -> Haystack:
    needles = (Needle("v1-speech_number-1", "speech_number", "haystack-01.mp4", ((7.2, 10.1),), "568",
                      ("The account number is 568.",), ("speech",), "the account number"),
               Needle("v2-speech_number-1", "speech_number", "haystack-02.mp4", ((30.0, 32.5),), "347",
                      ("The gate number is 347.",), ("speech",), "the gate number"))
    queries = (
        Query("q001-speech_number", "speech_number", "What is the account number?", "haystack-01.mp4",
              ((7.2, 10.1),), "568", needles=("v1-speech_number-1",)),
        Query("q002-text_code", "text_code", "UL-3527", "haystack-01.mp4", ((25.6, 33.0),), "UL-3527"),
        Query("q003-needle_picture", "needle_picture", "Which vehicle is shown in a photo?", "haystack-01.mp4",
              ((0.0, 6.0),), "bus", ("bus", "tram", "truck", "bicycle")),
        Query("q004-grounding", "grounding", "When is it said that the gate number is 347?", "haystack-02.mp4",
              ((30.0, 32.5),), None, needles=("v2-speech_number-1",)),
        Query("q005-multi_video", "multi_video", "Which video says that the gate number is 347?", None,
              ((30.0, 32.5),), "haystack-02.mp4", ("haystack-01.mp4", "haystack-02.mp4"),
              needles=("v2-speech_number-1",)),
        Query("q006-unanswerable", "unanswerable", "What is the wifi password?", None, (), None,
              answerable=False))
    return Haystack(str(root), (str(root / "haystack-01.mp4"), str(root / "haystack-02.mp4")), (90.0, 1000.0),
                    needles, queries, 7, 1.5, {"seed": 7})


def test_haystack_questions(tmp_path):
    hay = _haystack(tmp_path)
    (tmp_path / "haystack.json").write_text(hay.to_json())
    qs = load_haystack(hay)
    assert load_haystack(tmp_path) == qs == load_haystack(tmp_path / "haystack.json") == load_benchmark(tmp_path)
    by = _by_id(qs)
    assert "q002-text_code" not in by  # a code to look up is not a question
    assert by["q001-speech_number"].kind == "needle_speech" and by["q001-speech_number"].answer == "568"
    assert by["q001-speech_number"].duration_bucket == "short"
    pic = by["q003-needle_picture"]
    assert pic.options == ("bus", "tram", "truck", "bicycle") and pic.answer == "A"
    g = by["q004-grounding"]
    assert g.kind == "grounding" and g.answer is None and g.evidence == ((30.0, 32.5),) and g.video == "haystack-02.mp4"
    mv = by["q005-multi_video"]
    assert mv.video == "" and mv.videos == ("haystack-01.mp4", "haystack-02.mp4") and mv.answer == "B"
    assert mv.extra["evidence_video"] == "haystack-02.mp4" and mv.duration_bucket == "long"
    un = by["q006-unanswerable"]
    assert un.answerable is False and un.answer is None
    assert [q.id for q in load_haystack(hay, kinds=["text_code"])] == ["q002-text_code"]


# -- load_benchmark, detection and errors -------------------------------------------------------------------------


@pytest.mark.parametrize("path, name, count", [
    ("mlvu", "mlvu", 7), ("mlvu/1_plotQA.json", "mlvu", 3), ("nextqa/val.csv", "nextqa", 3),
    ("activitynet_qa/test_q.json", "activitynet_qa", 4), ("activitynet_qa", "activitynet_qa", 4),
    ("charades_sta/charades_sta_test.txt", "charades_sta", 3),
    ("qvhighlights/highlight_val_release.jsonl", "qvhighlights", 3)])
def test_load_benchmark_detects_the_format(path, name, count):
    assert detect_format(DATA / path) == name
    qs = load_benchmark(DATA / path)
    assert len(qs) == count and {q.benchmark for q in qs} == {name}
    assert load_benchmark(name, DATA / path) == qs
    assert load_benchmark(name.upper().replace("_", "-"), str(DATA / path)) == qs


def test_load_benchmark_passes_options():
    assert len(load_benchmark("mlvu", DATA / "mlvu", generation=True)) == 8
    with pytest.raises(ConfigError, match="does not take these options"):
        load_benchmark("nextqa", DATA / "nextqa" / "val.csv", generation=True)


def test_unknown_names_and_paths(tmp_path):
    with pytest.raises(ConfigError, match="unknown benchmark 'perceptiontest'") as e:
        load_benchmark("perceptiontest", tmp_path / "x.json")
    assert "mlvu" in str(e.value) and "\n" not in str(e.value)
    with pytest.raises(ConfigError, match="needs the path"):
        load_benchmark("nextqa")
    with pytest.raises(ConfigError) as e:
        load_benchmark(tmp_path / "nowhere.json")
    assert "neither a benchmark name nor an existing file" in _one_line_error(e, tmp_path / "nowhere.json")


@pytest.mark.parametrize("name, content, expect", [
    ("broken.json", '[{"video": "a.mp4", "question": "q",', "is not valid JSON"),
    ("trailing.json", '[{"video_id": "001", "videoID": "x", "task_type": "t", "options": [],}]', "is not valid JSON"),
    ("list.json", '{"a": 1}', "is not an annotation file of a known benchmark"),
    ("notes.txt", "hello world\n", "is not an annotation file of a known benchmark"),
    ("table.csv", "a,b,c\n1,2,3\n", "is not an annotation file of a known benchmark"),
    ("lines.jsonl", '{"qid": 1, "query": "q", "vid": "v"}\n{not json}\n', "line 2 is not valid JSON"),
    ("blob.json", "\udcff", "not a UTF-8 text file")])
def test_bad_files_give_one_line_errors(tmp_path, name, content, expect):
    path = tmp_path / name
    if content == "\udcff":
        path.write_bytes(b"\xff\xfe\x00bad")
    else:
        path.write_text(content)
    with pytest.raises(ConfigError) as e:
        load_benchmark(path)
    assert expect in _one_line_error(e, path)


def test_bad_files_for_a_named_loader(tmp_path):
    csv_path = tmp_path / "val.csv"
    csv_path.write_text("video,question,answer\n1,q,0\n")
    with pytest.raises(ConfigError) as e:
        load_benchmark("nextqa", csv_path)
    assert "not a NExT-QA CSV (no column frame_count" in _one_line_error(e, csv_path)
    index = tmp_path / "bad_index.csv"
    index.write_text((DATA / "nextqa" / "val.csv").read_text().replace(",0,6,CH,", ",7,6,CH,"))
    with pytest.raises(ConfigError, match="line 2 has answer index 7"):
        load_nextqa(index)
    txt = tmp_path / "charades.txt"
    txt.write_text("3MSZA 24.3 30.4##person turn a light on.\n3MSZA 24.3 person sits\n")
    with pytest.raises(ConfigError) as e:
        load_charades_sta(txt)
    assert "line 2 is not 'VID start end##sentence'" in _one_line_error(e, txt)
    mlvu = tmp_path / "mlvu.json"
    mlvu.write_text(json.dumps([{"video": "a.mp4", "question": "q", "candidates": ["x", "y"]}]))
    with pytest.raises(ConfigError) as e:
        load_mlvu(mlvu)
    assert "record 0 has no 'answer', 'question_type'" in _one_line_error(e, mlvu)
    with pytest.raises(ConfigError) as e:
        load_qvhighlights(tmp_path / "missing.jsonl")
    assert "no such file" in _one_line_error(e, tmp_path / "missing.jsonl")
    with pytest.raises(ConfigError) as e:
        load_benchmark(tmp_path)  # a folder with nothing known in it
    assert "no benchmark files" in _one_line_error(e, tmp_path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError) as e:
        load_mlvu(tmp_path / "empty")
    assert "holds no .json files" in _one_line_error(e, tmp_path / "empty")


# -- records, buckets, videos ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("seconds, bucket", [(None, ""), (0, "short"), (119.9, "short"), (120, "medium"),
                                             (899.9, "medium"), (900, "long"), (3600, "long"), (3600.5, "hour+")])
def test_duration_bucket(seconds, bucket):
    assert duration_bucket(seconds) == bucket


def test_questions_round_trip_as_jsonl(tmp_path):
    qs = load_benchmark(DATA / "qvhighlights" / "highlight_val_release.jsonl") + load_mlvu(DATA / "mlvu")
    assert [Question.from_dict(json.loads(json.dumps(q.to_dict()))) for q in qs] == qs
    write_questions(tmp_path / "qs.jsonl", qs)
    assert read_questions(tmp_path / "qs.jsonl") == qs
    assert detect_format(tmp_path / "qs.jsonl") == "questions" and load_benchmark(tmp_path / "qs.jsonl") == qs


def test_resolve_videos_reports_missing(tmp_path):
    root = tmp_path / "videos"
    for rel in ("movie101_66.mp4", "sub/dir/XIAOLIYU_6.MKV", "1106/4010069381.mp4", "v_1QIUV7WYKXg.mp4",
                "bP5KfdFJzC4_60.0_210.0.mp4", "clips/3msza.MP4", "notes/3MSZA.txt"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(b"")
    qs = (load_mlvu(DATA / "mlvu" / "1_plotQA.json") + load_nextqa(DATA / "nextqa" / "val.csv")
          + load_activitynet_qa(DATA / "activitynet_qa") + load_qvhighlights(DATA / "qvhighlights" /
                                                                             "highlight_val_release.jsonl")
          + load_charades_sta(DATA / "charades_sta" / "charades_sta_test.txt"))
    found, missing = resolve_videos(qs, root)
    assert found == {"movie101_66.mp4": root / "movie101_66.mp4", "xiaoliyu_6.mp4": root / "sub/dir/XIAOLIYU_6.MKV",
                     "4010069381": root / "1106/4010069381.mp4", "1QIUV7WYKXg": root / "v_1QIUV7WYKXg.mp4",
                     "bP5KfdFJzC4_60.0_210.0": root / "bP5KfdFJzC4_60.0_210.0.mp4", "3MSZA": root / "clips/3msza.MP4"}
    assert missing == sorted(["movie101_21.mp4", "4882821564", "2435100235", "s6fEIuHPJ4Y", "4LoAbHdHWqM",
                              "T62XjoKbN8M", "NUsG9BgSes0_210.0_360.0", "NUsG9BgSes0_60.0_210.0", "AMT7R", "AKO6M"])
    assert len(found) + len(missing) == len({v for q in qs for v in q.videos})
    with pytest.raises(ConfigError) as e:
        resolve_videos(qs, tmp_path / "nope")
    assert "no such directory" in _one_line_error(e, tmp_path / "nope")


def test_resolve_videos_multi_video_questions(tmp_path):
    (tmp_path / "haystack-01.mp4").write_bytes(b"")
    found, missing = resolve_videos(load_haystack(_haystack(tmp_path)), tmp_path)
    assert found == {"haystack-01.mp4": tmp_path / "haystack-01.mp4"} and missing == ["haystack-02.mp4"]
