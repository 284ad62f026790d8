"""A question that names a video is asked about that video only (``agents.named``)."""

from __future__ import annotations

from vidgraph.agents.named import named_videos

NAMES = {"a": "janus_ChID-BLITS-EBU.mp4", "b": "moviepy_big_buck_bunny_0_30.webm", "c": "opencv_vtest.avi",
         "d": "cc_wanna_work_together.mp4", "e": "talks/interview_1.mp4", "f": "talks/interview_2.mp4"}
ALL = list(NAMES)


def test_words_of_a_name_next_to_video_name_it():
    assert named_videos("How many shots are in the janus video?", NAMES, ALL) == ["a"]
    assert named_videos("What does the big buck bunny clip show first?", NAMES, ALL) == ["b"]
    assert named_videos("Is the janus video longer than the vtest clip?", NAMES, ALL) == ["a", "c"]
    assert named_videos("What is on screen in the video called vtest?", NAMES, ALL) == ["c"]


def test_a_file_name_or_stem_names_it():
    assert named_videos("How many people walk in opencv_vtest.avi?", NAMES, ALL) == ["c"]
    assert named_videos("what is said in interview_2", NAMES, ALL) == ["f"]


def test_plain_words_and_shared_words_name_nothing():
    assert named_videos("Do they work together on the project?", NAMES, ALL) == []  # no "video" beside them
    assert named_videos("What is said in the interview video?", NAMES, ALL) == []  # two videos are interviews
    assert named_videos("How many shots are there?", NAMES, ALL) == []
    assert named_videos("How many shots are in the janus video?", NAMES, ["a"]) == []  # one video: nothing to narrow


def test_a_question_naming_a_video_counts_its_shots_only(agents_library):
    """End to end over the real index of two videos: the count is of the named one's shots, cited there."""
    from helpers_serve import scripted

    from vidgraph.records import Shot

    fixture = agents_library.get("fixture.mp4")
    shots = [r for r in agents_library.records(fixture, "scan") if isinstance(r, Shot)]
    both = agents_library.ask("How many shots are there?", model=scripted(), index=False, progress=False)
    named = agents_library.ask("How many shots are in the fixture video?", model=scripted(), index=False,
                               progress=False)
    assert str(len(shots)) in named.text and str(len(shots)) not in both.text, (named.text, both.text)
    assert named.citations and {c.video_id for c in named.citations} == {fixture.video_id}
