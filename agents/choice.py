"""Multiple choice, and questions about what the videos do not hold: the option committed to (supported when the
evidence holds its words and is about what is asked), the "not shown" option when nothing is behind any other,
and the rules that find a question's subject missing before any model reads ("round 5" where rounds 1-4 are
shown; a "sampling rate" where only a bit rate is said; "the train to York" for an amount said of Bristol's).
"""

from __future__ import annotations


from ..records import LETTERS
from .compose import Draft, attribute, mentions, not_shown_option, relevant, unheard_names
from .intent import Intent
from .kit import Kit
from .state import Item, State
from .subject import bound, never_shown, unknown_measure, unseen_holder, unseen_numbered
from .typed import asked
from .words import content, number_in, phrase_tokens, similar


def as_state(d: Draft) -> dict:
    return {"text": d.text, "found": d.found, "choice": d.choice, "cited": list(d.cited),
            "confidence": d.confidence}


def missing_subject(intent: Intent, question: str, kit: Kit) -> str:
    """What the question is about that the videos never say or show ("zebra", "Glasgow", "round 5", "sampling
    rate"), or "": then no answer can be about it."""
    vocabulary = kit.query.vocabulary()
    unheard = unheard_names(question, vocabulary, kit.query.titles())
    return never_shown(intent, vocabulary) or next(iter(unheard), "") \
        or unseen_numbered(question, lambda p: int(kit.query.find(p, "any", None, "literal").value or 0)) \
        or unknown_measure(question, vocabulary) or (unseen_holder(question, vocabulary) if asked(question) else "")


def not_shown(state: State, kit: Kit, missing: str) -> dict | None:
    """For a multiple-choice question whose subject is missing: its "not shown" option, no model call."""
    options = state.get("options", [])
    none = not_shown_option(options)
    if none is None:
        return None
    draft = Draft(f"{LETTERS[none]}. {options[none]}", LETTERS[none], [], 0.7, found=False)
    return {"draft": as_state(draft), "stop": True, "trace": [kit.step(
        "reflected", f"{missing!r} is never said or shown in the videos: {LETTERS[none]}")]}


def commit(state: State, kit: Kit, option: str | None, answer: str, items: list[Item]) -> dict:
    """Multiple choice: the chosen option, supported when an observation holds its words; with nothing behind
    any option, the one saying the video does not show it (when offered), else the model's choice, unsupported."""
    options = state.get("options", [])
    question = state["question"]
    vocabulary = kit.query.vocabulary()

    def behind(text: str) -> list[int]:  # the evidence holding an option's words, if it is about the question
        if any(same_file(text, i.video) for i in items):  # the option is a video: its evidence about the question
            return [i.id for i in items if same_file(text, i.video) and mentions(question, i.text)
                    and relevant(question, i, items, vocabulary, kit.query.titles())][:4]
        cited = attribute(text, items)
        amount = number_in(text) is not None
        if amount and not bound(question, [kit.items[i] for i in cited], items, vocabulary):
            return []  # an amount said of another train, another round
        share = 1.0 if amount else 0.5  # room 214 is the hiring's, not the holidays'
        return cited if any(relevant(question, kit.items[i], items, vocabulary, kit.query.titles(), share)
                            for i in cited) else []

    k = LETTERS.index(option) if option and option in LETTERS[: len(options)] else None
    cited = behind(options[k]) if k is not None else []
    none = not_shown_option(options)
    if k is not None and cited and k != none:
        draft = Draft(f"{LETTERS[k]}. {options[k]}", LETTERS[k], cited, 0.7)
        return {"draft": as_state(draft), "trace": [kit.step("reflected", f"option {LETTERS[k]} supported by "
                                                                        f"{', '.join(f'[{i}]' for i in cited)}")]}
    supported = [j for j, o in enumerate(options) if j != none and behind(o)]
    held = _most_held(question, options, none, items, kit) if not supported else None
    if held is not None:  # no option's words are all there: the one whose words relevant evidence holds most
        j, ids = held
        draft = Draft(f"{LETTERS[j]}. {options[j]}", LETTERS[j], ids, 0.4)
        return {"draft": as_state(draft), "trace": [kit.step("reflected", f"option {LETTERS[j]}: most of its words "
                                                                        f"are in {', '.join(f'[{i}]' for i in ids)}")]}
    if none is not None and not supported:
        draft = Draft(f"{LETTERS[none]}. {options[none]}", LETTERS[none], [], 0.6, found=False)
        return {"draft": as_state(draft), "trace": [kit.step("reflected", "no option is shown by the evidence: "
                                                                        f"{LETTERS[none]}")]}
    if len(supported) == 1 and (k is None or k == none or not cited):  # the one option the evidence holds
        k = supported[0]
    k = k if k is not None else 0
    cited = behind(options[k]) if k != none else []
    draft = Draft(f"{LETTERS[k]}. {options[k]}", LETTERS[k], cited, 0.5 if cited else 0.3, found=bool(cited))
    return {"draft": as_state(draft), "trace": [kit.step("reflected", f"option {LETTERS[k]}"
                                                                    + ("" if draft.found else ", unsupported"))]}


def _most_held(question: str, options: list[str], none: int | None, items: list[Item],
               kit: Kit) -> tuple[int, list[int]] | None:
    """The option (without numbers) whose content words an item about the question holds most, and that item,
    when one holds at least a third of them ("nothing, it is free" for "it's totally free") and no other option
    as many."""
    vocabulary, titles = kit.query.vocabulary(), kit.query.titles()
    about = [i for i in items if relevant(question, i, items, vocabulary, titles)]
    scores: list[tuple[float, int]] = []
    for j, o in enumerate(options):
        want = [w for w in content(phrase_tokens(o)) if len(w) > 2]
        if j == none or not want or number_in(o) is not None:
            scores.append((0.0, -1))
            continue
        held = [(sum(any(similar(w, h) for h in phrase_tokens(i.text)) for w in want) / len(want), i.id)
                for i in about]
        scores.append(max(held, default=(0.0, -1)))
    best = max(s for s, _ in scores) if scores else 0.0
    if best < 1 / 3 or [s for s, _ in scores].count(best) != 1:
        return None
    j = [s for s, _ in scores].index(best)
    return j, [scores[j][1]]


def same_file(option: str, video: str) -> bool:
    """Does a multiple-choice option name this video (its file name, with or without the folder or extension)?"""
    a, b = option.strip().casefold(), video.casefold()
    return bool(a) and (a == b or a == b.rsplit("/", 1)[-1] or a == b.rsplit("/", 1)[-1].rsplit(".", 1)[0])

