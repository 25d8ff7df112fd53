"""`displaysense analyze-results`: output, inputs and the errors a user sees."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from displaysense_local.cli import main

from tests.support import scenario as sc

FIXTURES = Path(__file__).parents[2] / "fixtures" / "rekognition"
DEMO = FIXTURES / "demo"


def run(capsys, *args):
    code = main(["analyze-results", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_saved_result_set_gives_summary_series_and_passes(capsys):
    code, out, _ = run(
        capsys, "--labels", str(DEMO / "labels"), "--faces", str(DEMO / "faces"),
        "--recorded-at", "20261124T140000Z", "--series", "--passes",
    )  # fmt: skip
    assert code == 0
    result = json.loads(out)
    summary = result["summary"]
    assert summary["foot_traffic"] == len(result["passes"]) > 0
    assert [m["minute"] for m in result["series"]] == ["2026-11-24T14:00:00Z", "2026-11-24T14:01:00Z"]
    assert sum(m["foot_traffic"] for m in result["series"]) == summary["foot_traffic"]
    assert result["passes"][0]["start"].startswith("2026-11-24T14:0")
    assert result["video"]["duration_s"] == 120.0


def test_files_and_arrays_of_pages_read_like_directories(capsys, tmp_path):
    pages = [json.loads(p.read_text()) for p in sorted((DEMO / "faces").glob("*.json"))]
    (tmp_path / "faces.json").write_text(json.dumps(pages))
    _, from_dir, _ = run(capsys, "--faces", str(DEMO / "faces"))
    _, from_array, _ = run(capsys, "--faces", str(tmp_path / "faces.json"))
    assert json.loads(from_dir)["summary"] == json.loads(from_array)["summary"]


def test_faces_only_and_persons_only_runs(capsys):
    code, out, _ = run(capsys, "--faces", str(DEMO / "faces"))
    assert code == 0 and json.loads(out)["summary"]["foot_traffic"] > 0
    code, out, _ = run(capsys, "--labels", str(DEMO / "labels"))
    summary = json.loads(out)["summary"]
    assert code == 0 and summary["faces"] == 0 and summary["impressions"] == 0


def test_thresholds_come_from_the_environment(capsys, monkeypatch):
    _, out, _ = run(capsys, "--labels", str(DEMO / "labels"))
    monkeypatch.setenv("DS_DWELL_S", "1")
    _, relaxed, _ = run(capsys, "--labels", str(DEMO / "labels"))
    assert json.loads(relaxed)["summary"]["dwellers"] > json.loads(out)["summary"]["dwellers"]


@pytest.mark.parametrize(
    ("content", "flag", "expected"),
    [
        ("not json", "--labels", "not valid JSON"),
        ('{"JobId": "abc"}', "--labels", "no 'Labels' or 'Faces'"),
        (
            json.dumps({"Faces": []}),
            "--labels",
            "a faces page (GetFaceDetection) where labels pages were expected",
        ),
        (
            json.dumps({"Labels": [], "JobStatus": "FAILED", "StatusMessage": "bad codec"}),
            "--labels",
            "bad codec",
        ),
        (json.dumps({"Faces": [{"Face": {}}]}), "--faces", "Timestamp"),
        # found by the audit: a TypeError from the parser instead of this message
        (
            json.dumps({"Labels": [{"Timestamp": 0, "Label": {"Name": "Person", "Instances": 5}}]}),
            "--labels",
            "Labels[0].Label.Instances must be an array",
        ),
        (
            (FIXTURES / "docs-get-label-detection-segments.json").read_text(),
            "--labels",
            "AggregateBy=TIMESTAMPS",
        ),
        (
            json.dumps({"Labels": [], "GetRequestMetadata": {"AggregateBy": "SEGMENTS"}}),
            "--labels",
            "aggregated by SEGMENTS",
        ),
        (json.dumps({"Faces": [], "VideoMetadata": {"DurationMillis": 10**15}}), "--faces", "DurationMillis"),
    ],
)
def test_bad_input_exits_non_zero_naming_the_file_and_the_problem(capsys, tmp_path, content, flag, expected):
    bad = tmp_path / "page-007.json"
    bad.write_text(content)
    code, out, err = run(capsys, flag, str(bad))
    assert code == 2 and out == ""
    assert str(bad) in err and expected in err


def test_missing_paths_and_options(capsys, tmp_path):
    code, _, err = run(capsys, "--labels", str(tmp_path / "nowhere"))
    assert code == 2 and "no such file or directory" in err
    code, _, err = run(capsys)
    assert code == 2 and "--labels, --faces or both" in err
    code, _, err = run(capsys, "--labels", str(DEMO / "labels"), "--recorded-at", "yesterday")
    assert code == 2 and "--recorded-at" in err


def test_the_installed_command_runs(tmp_path):
    scene = sc.make_scene(5, duration_s=60, per_minute=6)
    rendered = sc.render(scene, sc.Noise(), 5)
    (tmp_path / "labels.json").write_text(json.dumps(sc.label_pages(scene, rendered)))
    done = subprocess.run(
        [
            str(Path(sys.executable).parent / "displaysense"),
            "analyze-results",
            "--labels",
            str(tmp_path / "labels.json"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "foot_traffic" in json.loads(done.stdout)["summary"]
