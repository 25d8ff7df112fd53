"""Local mode's own parts: start-up checks, the drop folder, the emulator's saved state."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from displaysense_local.local_mode import deployment
from displaysense_local.local_mode.drop_folder import DropFolderWatcher
from displaysense_local.local_mode.emulator import AwsEmulator
from displaysense_local.rekognition.vision import models
from moto.core.base_backend import BackendDict


def test_a_missing_model_file_stops_start_up_with_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing(package: str, relative: str) -> Path:
        raise models.ModelNotFoundError(f"{relative} is missing from the installed {package!r} package")

    monkeypatch.setattr(models, "package_file", missing)
    with pytest.raises(deployment.StartupError) as failure:
        deployment._models_present()
    message = str(failure.value)
    assert "model file is missing" in message and "make setup" in message and "\n" not in message


@pytest.fixture
def emulator(tmp_path: Path):  # type: ignore[no-untyped-def]
    running = AwsEmulator(tmp_path / "aws")
    running.data_dir.mkdir()
    running.start()
    yield running
    running.stop()
    BackendDict.reset()


def test_the_drop_folder_uploads_complete_files_once(emulator: AwsEmulator, tmp_path: Path) -> None:
    resources = emulator.provision()
    s3 = emulator.client("s3")
    drop = tmp_path / "drop"
    (drop / "store-1" / "cam-1").mkdir(parents=True)
    persisted: list[int] = []
    watcher = DropFolderWatcher(
        drop, s3, resources.bucket, manifest=tmp_path / "manifest.json", persist=lambda: persisted.append(1)
    )
    video = drop / "store-1" / "cam-1" / "20261124T140000Z.mp4"
    video.write_bytes(b"first")
    (drop / "store-1" / "cam-1" / "20261124T150000Z.mp4.part").write_bytes(b"still copying")
    (drop / ".hidden").write_bytes(b"x")
    assert watcher.scan() == []  # a file is uploaded only once it kept its size for a scan
    assert watcher.scan() == ["uploads/store-1/cam-1/20261124T140000Z.mp4"]
    assert watcher.scan() == []
    assert persisted == [1]  # the emulator's state was saved before the manifest recorded it
    # A new watcher (a restart) does not upload the same content again, but does upload changes.
    again = DropFolderWatcher(drop, s3, resources.bucket, manifest=tmp_path / "manifest.json", persist=list)
    again.scan()
    assert again.scan() == []
    video.write_bytes(b"second take")
    again.scan()
    assert again.scan() == ["uploads/store-1/cam-1/20261124T140000Z.mp4"]
    assert json.loads((tmp_path / "manifest.json").read_text()).keys() == {
        "store-1/cam-1/20261124T140000Z.mp4"
    }


def test_the_emulator_state_survives_a_restart(tmp_path: Path) -> None:
    first = AwsEmulator(tmp_path / "aws")
    first.data_dir.mkdir()
    first.start()
    resources = first.provision()
    first.client("s3").put_object(Bucket=resources.bucket, Key="results/x/page.json.gz", Body=b"page")
    first.client("sqs").send_message(QueueUrl=resources.completion_queue_url, MessageBody="hello")
    received = first.client("sqs").receive_message(QueueUrl=resources.completion_queue_url)["Messages"]
    assert received  # in flight: invisible for the queue's visibility timeout
    assert first.snapshot() is True
    assert first.snapshot() is False  # nothing changed since
    first.stop()
    BackendDict.reset()

    second = AwsEmulator(tmp_path / "aws")
    second.start()
    try:
        again = second.provision()
        assert again.bucket == resources.bucket
        body = (
            second.client("s3").get_object(Bucket=again.bucket, Key="results/x/page.json.gz")["Body"].read()
        )
        assert body == b"page"
        # the consumer that received it died with the first run: the message is visible at once
        messages = second.client("sqs").receive_message(QueueUrl=again.completion_queue_url)["Messages"]
        assert [m["Body"] for m in messages] == ["hello"]
    finally:
        second.stop()
        BackendDict.reset()


def test_the_api_key_file_is_created_for_its_owner_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    # Even with a umask that lets anything through and no chmod after the fact, the file is
    # created with mode 0600: there is no moment in which others could read it.
    monkeypatch.setattr(Path, "chmod", lambda self, mode: None)
    previous = os.umask(0)
    try:
        key = deployment._stored_key(tmp_path / "api-key")
    finally:
        os.umask(previous)
    assert (tmp_path / "api-key").stat().st_mode & 0o777 == 0o600
    assert deployment._stored_key(tmp_path / "api-key") == key  # the same key at the next start
    assert len(key) >= 32


def test_generated_api_keys_can_be_given_on_a_command_line(tmp_path: Path) -> None:
    # A key beginning with '-' is read by argparse as an option (`--api-key -x...` fails).
    keys = [deployment._stored_key(tmp_path / f"key-{n}") for n in range(300)]
    assert all(key.isalnum() and key.isascii() for key in keys)
    assert len(set(keys)) == len(keys)


def test_an_api_key_file_readable_by_others_is_made_private(tmp_path: Path) -> None:
    path = tmp_path / "api-key"
    path.write_text("an-older-key\n")
    path.chmod(0o644)
    assert deployment._stored_key(path) == "an-older-key"
    assert path.stat().st_mode & 0o777 == 0o600


def test_a_new_data_directory_is_its_owners_only(tmp_path: Path) -> None:
    deployment._writable(tmp_path / "new" / "data", "data directory", mode=0o700)
    assert (tmp_path / "new" / "data").stat().st_mode & 0o777 == 0o700
