"""The local-mode commands' own logic: option checks, Ctrl+C, the demo's progress display."""

from __future__ import annotations

import io
from typing import Any

import pytest
from displaysense_local import cli
from displaysense_local.local_command import follow_video, stage_of


@pytest.mark.parametrize("port", ["99999", "-1", "eighty"])
def test_a_port_outside_0_to_65535_is_refused_in_one_line(
    port: str, capsys: pytest.CaptureFixture[str]
) -> None:
    for command in (["demo"], ["local", "up"]):
        with pytest.raises(SystemExit) as exited:
            cli.main([*command, "--port", port])
        assert exited.value.code == 2
        error = capsys.readouterr().err
        assert f"{port!r} is not a port: give 0 to 65535" in error and "Traceback" not in error


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["demo", "--data-dir", "/tmp/d"], "the analysis resumes at the next start with --data-dir /tmp/d"),
        (
            ["local", "up", "--data-dir", "/tmp/l"],
            "the analysis resumes at the next start with --data-dir /tmp/l",
        ),
        (
            ["upload", "x.mp4", "--store", "s", "--camera", "c", "--endpoint", "http://e/", "--api-key", "k"],
            "the upload did not finish: run the same command again",
        ),
    ],
)
def test_ctrl_c_is_one_line_and_status_130(
    argv: list[str], says: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def interrupted(args: Any) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "_run", interrupted)
    assert cli.main(argv) == 130
    error = capsys.readouterr().err
    assert error.startswith("displaysense: interrupted; ") and says in error
    assert len(error.splitlines()) == 1


def _video(status: str, *ended: bool) -> dict[str, Any]:
    jobs = {
        kind: {"ended_at": "2026-11-24T14:00:20.000Z" if done else None}
        for kind, done in zip(("labels", "faces"), ended, strict=False)
    }
    return {"video_id": "v", "status": status, "jobs": jobs}


def test_the_stages_of_a_video() -> None:
    assert stage_of(None) == "uploading"
    assert stage_of(_video("QUEUED")) == "queued"
    assert stage_of(_video("ANALYZING", True, False)) == "analysing"
    assert stage_of(_video("ANALYZING", True, True)) == "computing metrics"
    assert stage_of(_video("SUCCEEDED", True, True)) == "succeeded"
    assert stage_of(_video("REJECTED")) == "rejected"


def test_the_demo_shows_each_stage_with_its_time() -> None:
    # What the API shows at each poll, one poll a second.
    polls = iter(
        [None, None, _video("QUEUED"), *[_video("ANALYZING", False, False)] * 15]
        + [_video("ANALYZING", True, True)] * 2
        + [_video("SUCCEEDED", True, True)]
    )
    now = iter(range(100))
    out = io.StringIO()
    video = follow_video(lambda: next(polls), 600, out, interval_s=0, clock=lambda: float(next(now)))
    assert video["status"] == "SUCCEEDED"
    # The clock reads 0 at the start, then 1, 2, ... at each poll.
    assert out.getvalue().splitlines() == [
        "uploading … (0 s)",
        "queued … (3 s)",
        "analysing … (4 s)",
        "computing metrics … (19 s)",
        "succeeded after 21 s (uploading 3.0 s, queued 1.0 s, analysing 15.0 s, computing metrics 2.0 s)",
    ]


def test_the_demo_gives_up_after_its_timeout() -> None:
    now = iter(range(100))
    with pytest.raises(cli.CommandError, match=r"did not finish within 5 s \(still analysing\)"):
        follow_video(
            lambda: _video("ANALYZING"), 5, io.StringIO(), interval_s=0, clock=lambda: float(next(now))
        )
