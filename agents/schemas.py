"""The structured replies the agents ask the models for (pydantic; constrained decoding where supported)."""

from __future__ import annotations

from functools import cache
from typing import Literal

from pydantic import BaseModel, Field


class Draft(BaseModel):
    """An answer drawn from numbered evidence."""

    found: bool = Field(description="true only if the evidence states or shows the answer")
    answer: str = Field(description="a short answer, or an empty string when not found")
    option: str | None = Field(None, description="the chosen option's letter for multiple-choice questions")
    evidence: list[int] = Field(default_factory=list, max_length=6,
                                description="numbers of the lines that support the answer (at most 6)")
    confidence: float = Field(0.5, ge=0, le=1)


class Decision(Draft):
    """A draft, and when the evidence is not enough, what to do next in the chain of shots."""

    action: Literal["answer", "look", "split", "previous", "next", "entity", "stop"] = "answer"
    target: int = Field(1, description="the number of the candidate moment to act on")


class Finding(BaseModel):
    fact: str = Field(max_length=300)
    evidence: list[int] = Field(default_factory=list, max_length=6)


class MapReply(BaseModel):
    """What one clip group says about the question (nothing when irrelevant)."""

    findings: list[Finding] = Field(default_factory=list, max_length=8)


class Verdict(BaseModel):
    """The verifier's judgement; the reason comes first so the model reads the evidence before it decides."""

    reason: str = Field(max_length=300)
    supported: bool


class Next(BaseModel):
    """The tool loop's turn: an answer taken from the observations, or the number of a suggested call."""

    answer: str = Field("", max_length=200, description="a short answer taken from the observations, or empty")
    option: str | None = Field(None, description="the chosen option's letter for multiple-choice questions")
    call: int = Field(0, ge=0, le=9, description="the number of a suggested call to run next; 0 to answer now")


class Description(BaseModel):
    description: str = Field(max_length=800)


@cache
def with_options(base: type[Draft], n: int) -> type[Draft]:
    """``base`` whose ``option`` is required and one of the first ``n`` letters in the JSON schema (a
    multiple-choice question always gets a choice where the backend constrains decoding)."""
    from pydantic import create_model

    letters = tuple("ABCDEFGHIJ"[:n])
    return create_model(f"{base.__name__}Of{n}", __base__=base,  # the enum guides decoding; the verifier checks it
                        option=(str, Field(description="the letter of the best option",
                                           json_schema_extra={"enum": list(letters)})))
