"""Every corpus upload gets its documented outcome: REJECTED or FAILED with a reason that names what
was found and what is accepted, listed where the docs say, the object kept; or IGNORED."""

from __future__ import annotations

import urllib.parse

import pytest

from tests.integration.bad_input.conftest import CorpusRun, value
from tests.support.bad_inputs import UPLOADS, Outcome, UploadCase

pytestmark = [pytest.mark.slow]


@pytest.mark.parametrize("case", UPLOADS, ids=lambda c: c.name)
def test_each_upload_gets_its_documented_outcome(corpus: CorpusRun, case: UploadCase) -> None:
    videos = [{k: value(v) for k, v in item.items()} for item in corpus.videos[case.name]]
    # Rejected, never dropped: the object stays where it was uploaded, whatever the outcome.
    assert any(key == case.key for key, _ in corpus.after.versions), case.key
    if case.outcome is Outcome.IGNORED:
        assert videos == []
        return
    assert len(videos) == 1, videos
    [video] = videos
    assert video["status"] == case.outcome.value, video
    assert (video["store"], video["camera"]) == (case.store, case.camera)
    # The reason's first letter is capitalised, wherever a fragment comes from: compare without case.
    reason = (video.get("reason") or "").casefold()
    for fragment in case.reason:
        assert fragment.casefold() in reason, (fragment, video.get("reason"))
    jobs = video.get("jobs", {})
    if case.outcome is Outcome.REJECTED:
        assert jobs == {}  # rejected at ingest: no Rekognition job was started (no cost)
    else:
        assert jobs and all(j["status"] == "FAILED" and j.get("ended_at") for j in jobs.values()), jobs


@pytest.mark.parametrize(
    "case", [c for c in UPLOADS if c.outcome is not Outcome.IGNORED], ids=lambda c: c.name
)
def test_the_api_shows_the_outcome_and_lists_the_video(corpus: CorpusRun, case: UploadCase) -> None:
    [item] = corpus.videos[case.name]
    video_id = item["video_id"]["S"]
    shown = corpus.api("GET", f"/videos/{video_id}")
    assert shown.status == 200, shown.body
    document = shown.json()
    assert (document["status"], document["key"]) == (case.outcome.value, case.key)
    assert all(fragment.casefold() in document["reason"].casefold() for fragment in case.reason)
    query = urllib.parse.urlencode({"store": case.store, "camera": case.camera, "status": case.outcome.value})
    listed = corpus.api("GET", f"/videos?{query}&limit=200")
    assert listed.status == 200, listed.body
    assert video_id in [v["video_id"] for v in listed.json()["videos"]]
