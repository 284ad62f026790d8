"""Deterministic scoring: the answer extractor on the cases other harnesses get wrong, open-ended matching, IoU
with clipping, grading, and the report's numbers on a hand-made set with known values."""

from __future__ import annotations

import json
import math
import random

import pytest

from vidgraph.eval.questions import Question
from vidgraph.eval.extract import (best_iou, extract_choice, extract_span, is_abstention, match_open, normalize_answer,
                                   temporal_iou)
from vidgraph.eval.scoring import Result, grade, render_markdown, score, score_by_strategy

FRUIT = ("Apples", "Bananas", "Berries", "Dates")


# -- extract_choice -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("reply, expected", [
    # the research notes' table (official Video-MME/VLMEvalKit regex and lmms-eval disagree on these)
    ("Best answer: D", "D"),                    # official regex: B (from "Best")
    ("Best option: C", "C"),                    # official regex: B
    ("Dogs are shown; the answer is C", "C"),   # official regex: D (from "Dogs")
    ("A dog runs. Answer: B", "B"),             # lmms-eval: A (leading letter outranks the phrase)
    ("(C) Berries", "C"), ("The answer is A.", "A"), ("A", "A"),
    # usual shapes
    ("Answer: B", "B"), ("(C)", "C"), ("C.", "C"), ("b", "B"), ("(d)", "D"), ("The answer is option B", "B"),
    ("Best Option: (C) Berries", "C"), ("C) Berries", "C"), ("D - Dates", "D"), ("**B**", "B"),
    ("<answer>B</answer>", "B"), ("answer: b", "B"), ("Answer:\n\nC", "C"), ("Final answer: A", "A"),
    ("I choose C", "C"), ("I'd go with option B", "B"), ("The correct answer is B because the dog runs", "B"),
    ("Answer: The dog (B)", "B"), ("So, overall: D", "D"), ("Probably B", "B"), ("I think the answer is B", "B"),
    ("Let me think. A cat appears first, then a dog. Therefore, the answer is D.", "D"),
    ("Answer: A. Wait, no: the answer is C.", "C"),
    # negation
    ("Not A.", None), ("It is not A, it's C", "C"), ("The answer is not A. It is B.", "B"), ("B, not A", "B"),
    ("The answer is C, not A", "C"), ("A is not correct. B is.", "B"), ("Option A is wrong; option C is right.", "C"),
    # the article "A", the pronoun "I", letters inside words
    ("A man is running in the park.", None), ("Dogs bark loudly", None), ("CAT", None), ("U.S.A.", None),
    ("the answer is a dog", None), ("I", None),
    # several letters
    ("It could be A or C", None), ("A, B and C are all plausible", None), ("Answer: A or B", None),
    ("(A) or (B)", None), ("Between (A) and (B), I pick B", "B"),
    # letters that are not options, and nothing at all
    ("The answer is (E)", None), ("E", None), ("The answer: Z", None), ("", None), ("I don't know.", None),
    # option text
    ("Dates", "D"), ("dates!", "D"), ("I think they eat berries.", "C"), ("apples and bananas", None),
    ("not apples", None),
])
def test_extract_choice(reply, expected):
    assert extract_choice(reply, FRUIT) == expected


def test_extract_choice_by_option_text():
    turtles = ("Carried by the cartoon shrimp", "Carried by the cartoon turtle", "Carried by the cartoon catfish",
               "Carried by the cartoon seahorse")
    assert extract_choice("carried by the CARTOON turtle!!", turtles) == "B"
    assert extract_choice("It was carried by the cartoon turtle.", turtles) == "B"
    drones = ("Fishing", "Catching the drone", "Launching the drone", "Sunbathing")
    assert extract_choice("He is catching the drone", drones) == "B"
    assert extract_choice("He is launching the drone, then catching the drone", drones) is None
    dogs = ("dog", "hot dog", "cat", "bird")
    assert extract_choice("a hot dog", dogs) == "B"  # longest match; "dog" is inside it
    assert extract_choice("dog", dogs) == "A"
    assert extract_choice("a hot dog and a cat", dogs) is None
    counts = ("2", "1", "5", "4")
    assert extract_choice("It appears 4 times", counts) == "D"
    assert extract_choice("2 or 4", counts) is None
    assert extract_choice("1->2->3->4", ("2->1->3->4", "3->2->1->4", "4->3->2->1", "1->2->3->4")) == "D"


def test_extract_choice_letters_follow_the_options():
    assert extract_choice("C", ("before", "after")) is None  # two options: A and B only
    assert extract_choice("B", ("before", "after")) == "B"
    assert extract_choice("E", ("a", "b", "c", "d", "e")) == "E"
    assert extract_choice("E") == "E" and extract_choice("F") is None  # no options: A-E


# -- open-ended, abstention, spans, IoU ---------------------------------------------------------------------------

def test_normalize_answer_folds_numbers():
    assert normalize_answer("Twenty-one people!") == ["21", "people"]
    assert normalize_answer("The Two cats") == ["2", "cats"]
    assert normalize_answer("one hundred") == ["1", "hundred"]


@pytest.mark.parametrize("reply, answer, expected", [
    ("tie rope", "tie rope", True), ("Tie rope.", "tie rope", True), ("They tie a rope.", "tie rope", True),
    ("They tie a knot.", "tie rope", False), ("rope tie", "tie rope", False),
    ("There are two athletes.", "2", True), ("2", "two", True), ("2 or 3", "2", False), ("12", "2", False),
    ("Yes, he is.", "yes", True), ("No.", "yes", False), ("no, not yes", "no", True), ("maybe", "no", False),
    ("The pants are black", "black", True), ("not black", "black", False), ("blackish", "black", False),
    ("", "red", False), ("male", "female", False), ("female", "male", False),
    ("A.", "a", True), ("the", "a", False),  # a real ActivityNet-QA answer is just "a"
])
def test_match_open(reply, answer, expected):
    assert match_open(reply, answer) is expected


@pytest.mark.parametrize("reply, expected", [
    ("This is not in the video.", True), ("The answer is not shown in the video", True),
    ("The video does not mention a password.", True), ("It cannot be determined.", True),
    ("found: false", True), ("I don't know", True), ("The answer is B", False), ("The man is not happy", False),
])
def test_is_abstention(reply, expected):
    assert is_abstention(reply) is expected


def test_extract_span():
    assert extract_span("from 24.3 to 30.4 seconds") == (24.3, 30.4)
    assert extract_span("00:15-00:19") == (15.0, 19.0)
    assert extract_span("between 1:02:03 and 1:02:10") == (3723.0, 3730.0)
    assert extract_span("[18.5, 12.0]") == (12.0, 18.5)
    assert extract_span("somewhere in the middle") is None


def test_temporal_iou_clips_to_the_duration():
    # Charades-STA AKO6M: the window 12.7-19.9 ends after the video's 18.58 s
    assert temporal_iou((12.7, 18.58), (12.7, 19.9)) == pytest.approx(5.88 / 7.2)
    assert temporal_iou((12.7, 18.58), (12.7, 19.9), duration=18.58) == pytest.approx(1.0)
    assert temporal_iou((10, 40), (20, 35), duration=30) == pytest.approx(0.5)
    assert temporal_iou((0, 10), (5, 15)) == pytest.approx(5 / 15)
    assert temporal_iou((20, 10), (10, 20)) == pytest.approx(1.0)  # reversed prediction
    assert temporal_iou((0, 5), (6, 9)) == 0.0 and temporal_iou((3, 3), (3, 3)) == 0.0
    assert best_iou((76, 140), [(0, 74), (76, 142), (144, 150)], 150) == pytest.approx(64 / 66)
    assert best_iou(None, [(0, 1)]) == 0.0


# -- grading ------------------------------------------------------------------------------------------------------

def _q(qid, video, kind, answer=None, options=FRUIT, bucket="short", evidence=(), duration=None, answerable=True,
       extra=None) -> Question:
    return Question(qid, "test", video, f"question {qid}", options, answer, kind, bucket, evidence, duration,
                    answerable, extra or {})


def test_grade_cases():
    mcq = _q("m", "v.mp4", "count", "C", evidence=((4.0, 6.0),))
    r = grade(mcq, "The answer is C.", citations=[("/data/V.MP4", 5.0, 9.0)], model_calls=3, strategy="s")
    assert (r.choice, r.correct, r.parsed, r.abstained) == ("C", True, True, False)
    assert r.evidence == (("v.mp4", 4.0, 6.0),) and r.citations == (("/data/V.MP4", 5.0, 9.0),)
    assert grade(mcq, "I cannot tell").correct is False and grade(mcq, "I cannot tell").abstained
    bad = grade(mcq, "Hmm.")
    assert (bad.choice, bad.correct, bad.parsed) == (None, False, False)
    assert grade(mcq, "The answer is A", choice="c").correct is True  # structured output wins
    err = grade(mcq, "", error="model timed out")
    assert (err.correct, err.parsed, err.error) == (False, False, "model timed out")
    both = _q("e", "v.mp4", "plotQA", "B", options=("Six", "Three", "Three", "Eight"), extra={"answers": ["B", "C"]})
    assert grade(both, "C").correct is True and grade(both, "A").correct is False
    assert grade(_q("o", "v", "number", "2", options=()), "two of them").correct is True
    un = _q("u", "", "unanswerable", answerable=False, options=())
    assert grade(un, "It is 1234").correct is False and grade(un, "", abstained=True).correct is True
    shown = _q("n", "v", "unanswerable", "C", options=("Red", "Blue", "The video does not show it"),
               answerable=False)
    picked = grade(shown, "C. The video does not show it", choice="C", abstained=False)
    assert picked.correct is True and picked.abstained  # choosing "not shown" is the abstention
    assert grade(shown, "A. Red", choice="A", abstained=False).correct is False
    g = _q("g", "v", "grounding", options=(), evidence=((10.0, 20.0),), duration=30.0)
    assert grade(g, "from 12 to 20 s").predicted_span == (12.0, 20.0) and grade(g, "12-20").correct is None
    assert grade(_q("w", "v", "egoschema", None), "A").correct is None  # withheld answer: unscored
    assert grade(_q("w", "v", "egoschema", None), "", error="boom").correct is None
    assert grade(g, "", error="boom").correct is None and grade(un, "", error="boom").correct is False


def test_result_round_trip():
    r = grade(_q("g", "v", "grounding", options=(), evidence=((10.0, 20.0),), duration=30.0,
                 extra={"kinds": ["grounding", "other"]}), "10 - 12", citations=[("v", 1.0, 2.0)], tokens=12)
    assert Result.from_dict(json.loads(json.dumps(r.to_dict()))) == r
    assert r.kinds == ("grounding", "other")


# -- the report on a hand-made set --------------------------------------------------------------------------------

def _hand_made() -> list[Result]:
    q1 = _q("q1", "v1", "count", "A", evidence=((4.0, 6.0),))
    q2 = _q("q2", "v1", "count", "B", evidence=((1.0, 2.0),))
    q3 = _q("q3", "v1", "color", "red", options=(), evidence=((50.0, 60.0),))
    q4 = _q("q4", "v2", "order", "C", bucket="medium", evidence=((1.0, 2.0),))
    q5 = _q("q5", "v2", "order", "A", bucket="medium")
    q6 = _q("q6", "v2", "order", "B", bucket="medium")
    u = [_q(f"u{i}", "", "unanswerable", options=(), bucket="", answerable=False) for i in (1, 2, 3)]
    g1 = _q("g1", "v3", "grounding", options=(), evidence=((10.0, 20.0),), duration=30.0)
    g2 = _q("g2", "v4", "grounding", options=(), evidence=((25.0, 35.0),), duration=30.0)
    g3 = _q("g3", "v4", "grounding", options=(), evidence=((0.0, 5.0),), duration=30.0)
    return [
        grade(q1, "The answer is A", citations=[("v1.mp4", 5.0, 8.0)], model_calls=2, tokens=100, frames=8,
              seconds=1.5),
        grade(q2, "Not sure, maybe one of them"),                                  # unparsed: wrong
        grade(q3, "It is red.", citations=[("v1", 10.0, 12.0)], model_calls=4, tokens=300, frames=16, seconds=2.5),
        grade(q4, "C", citations=[("other.mp4", 1.0, 2.0)]),                     # right, cites another video
        grade(q5, "", error="timeout"),                                          # error: wrong
        grade(q6, "The answer is not shown in the video"),                       # abstained on an answerable one
        grade(u[0], "", abstained=True), grade(u[1], "The wifi password is 1234"), grade(u[2], "Not in the video."),
        grade(g1, "14 - 20"), grade(g2, "from 25 to 30 seconds"), grade(g3, "somewhere in the middle"),
    ]


def test_score_known_values():
    rep = score(_hand_made())
    assert rep.n == 12 and rep.videos == 4 and rep.benchmarks == ("test",)
    assert rep.scored == 9 and rep.accuracy.value == pytest.approx(5 / 9) and rep.accuracy.n == 9
    assert {k: e.value for k, e in rep.by_kind.items()} == pytest.approx(
        {"color": 1.0, "count": 0.5, "order": 1 / 3, "unanswerable": 2 / 3})
    assert rep.macro_accuracy.value == pytest.approx((1 + 0.5 + 1 / 3 + 2 / 3) / 4)
    assert list(rep.by_bucket) == ["short", "medium", "unknown"]
    assert {k: e.value for k, e in rep.by_bucket.items()} == pytest.approx(
        {"short": 2 / 3, "medium": 1 / 3, "unknown": 2 / 3})
    assert (rep.unparsed, rep.errors, rep.unscored, rep.grounding_unparsed) == (1, 1, 0, 1)
    # IoU: g1 6/10, g2 1.0 only because the truth is clipped to 30 s, g3 no span -> 0
    assert {k: e.value for k, e in rep.grounding.items()} == pytest.approx(
        {"R1@0.3": 2 / 3, "R1@0.5": 2 / 3, "R1@0.7": 1 / 3, "mIoU": 1.6 / 3})
    a = rep.abstention
    assert (a["abstained"], a["unanswerable"], a["abstained_on_unanswerable"]) == (3, 3, 2)
    assert a["precision"] == pytest.approx(2 / 3) and a["recall"] == pytest.approx(2 / 3)
    assert a["f1"] == pytest.approx(2 / 3)
    c = rep.citations  # answerable, with evidence, no error: q1-q4, g1-g3
    assert (c["with_evidence"], c["cited"], c["overlapping"]) == (7, 3, 1)
    assert c["accuracy"] == pytest.approx(1 / 3) and c["rate"] == pytest.approx(3 / 7)
    assert rep.cost["model_calls"] == {"mean": 0.5, "total": 6.0}
    assert rep.cost["tokens"]["total"] == 400 and rep.cost["seconds"]["mean"] == pytest.approx(4 / 12)


def test_abstention_precision_recall_asymmetric():
    un = [_q(f"u{i}", f"v{i}", "unanswerable", options=(), answerable=False) for i in range(4)]
    ok = [_q(f"a{i}", f"w{i}", "count", "A") for i in range(6)]
    results = ([grade(q, "", abstained=True) for q in un[:3]] + [grade(un[3], "It is 42")]
               + [grade(q, "", abstained=True) for q in ok[:2]] + [grade(q, "A") for q in ok[2:]])
    a = score(results, n_boot=200).abstention
    assert a["precision"] == pytest.approx(3 / 5) and a["recall"] == pytest.approx(3 / 4)
    assert a["f1"] == pytest.approx(2 * 0.6 * 0.75 / 1.35)
    assert score([grade(q, "A") for q in ok], n_boot=10).abstention["precision"] is None


def test_bootstrap_is_deterministic_and_order_free():
    results = _hand_made()
    a, b = score(results), score(results)
    assert a == b
    shuffled = results[:]
    random.Random(3).shuffle(shuffled)
    assert score(shuffled).accuracy == a.accuracy and score(shuffled).macro_accuracy == a.macro_accuracy
    assert a.accuracy.low <= a.accuracy.value <= a.accuracy.high
    assert a.accuracy.clusters == 5  # v1, v2 and the three video-less questions
    rng = random.Random(0)
    many = [grade(_q(f"{v}-{i}", f"v{v}", "k", "A"), rng.choice("AB")) for v in range(30) for i in range(v % 4 + 1)]
    seeds = {(r.accuracy.low, r.accuracy.high) for r in (score(many, seed=s, n_boot=300) for s in range(3))}
    assert len(seeds) > 1  # the seed is what makes it repeatable
    random.Random(1).shuffle(many)
    assert score(many, seed=2, n_boot=300).accuracy == score(many[::-1], seed=2, n_boot=300).accuracy
    assert score(many).accuracy.clustered and not a.accuracy.clustered  # 30 videos vs 2 (+ 3 video-less)


def test_clustered_questions_give_wider_intervals():
    def results(videos: int, per_video: int) -> list[Result]:
        return [grade(_q(f"{v}-{i}", f"v{v}", "k", "A"), "A" if v % 2 else "B")
                for v in range(videos) for i in range(per_video)]

    clustered = score(results(10, 20)).accuracy  # 200 questions, but only 10 independent videos
    independent = score(results(200, 1)).accuracy
    assert clustered.value == independent.value == 0.5
    assert clustered.high - clustered.low > 0.4
    assert independent.high - independent.low < 0.2


def test_normal_interval_matches_the_cluster_robust_formula():
    values = {"v1": [1, 1, 0], "v2": [0], "v3": [1, 1], "v4": [0, 0, 1, 1], "v5": [1, 0]}
    results = [grade(_q(f"{v}-{i}", v, "k", "A"), "A" if y else "B") for v, ys in values.items()
               for i, y in enumerate(ys)]
    rep = score(results, ci="normal")
    n, mean, k = 12, 7 / 12, 5
    resid = [sum(ys) - mean * len(ys) for ys in values.values()]
    se = math.sqrt(k / (k - 1) * sum(x * x for x in resid)) / n
    assert rep.accuracy.value == pytest.approx(mean)
    assert rep.accuracy.low == pytest.approx(mean - 1.959964 * se, abs=1e-5)
    assert rep.accuracy.high == pytest.approx(mean + 1.959964 * se, abs=1e-5)
    assert "normal" in rep.ci
    with pytest.raises(ValueError, match="ci must be"):
        score(results, ci="wald")


def test_too_few_videos_give_a_wilson_interval_over_questions():
    results = [grade(_q(f"q{i}", "only", "k", "A"), "A" if i else "B") for i in range(5)]
    acc = score(results).accuracy
    assert (acc.value, acc.clusters, acc.clustered) == (0.8, 1, False)
    assert acc.low == pytest.approx(0.3755, abs=1e-3) and acc.high == pytest.approx(0.9638, abs=1e-3)  # Wilson 4/5
    text = render_markdown(score(results))
    assert "37.6–96.4*" in text and "Wilson interval over questions" in text


def test_multi_category_questions_count_in_each_kind():
    results = [grade(_q("a", "v1", "kir", "A", extra={"kinds": ["kir", "tg"]}), "A"),
               grade(_q("b", "v2", "tg", "A"), "B")]
    rep = score(results, n_boot=100)
    assert rep.by_kind["kir"].value == 1.0 and rep.by_kind["tg"].value == 0.5 and rep.by_kind["tg"].n == 2
    assert rep.accuracy.value == 0.5 and rep.macro_accuracy.value == pytest.approx(0.75)


def test_render_markdown_and_strategies():
    results = _hand_made()
    text = render_markdown(score(results))
    assert "| accuracy (micro) | 55.6 |" in text and "| accuracy (macro) | 62.5 |" in text
    assert "| order | 33.3 |" in text and "| R1@0.7 | 33.3 |" in text and "| mIoU | 53.3 |" in text
    assert "Unparsed replies (counted wrong): 1. Errors (counted wrong): 1." in text
    assert "| 66.7 | 66.7 | 66.7 | 3 | 3 |" in text
    assert "| model calls | 0.5 | 6 |" in text
    twice = results + [Result(**{**r.to_dict(), "citations": r.citations, "evidence": r.evidence,
                                 "kinds": r.kinds, "predicted_span": r.predicted_span, "strategy": "other",
                                 "correct": True if r.correct is not None else None}) for r in results]
    reports = score_by_strategy(twice, n_boot=100)
    assert list(reports) == ["", "other"] and reports["other"].accuracy.value == 1.0
