"""The `displaysense` command."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from displaysense_local import analyze_command
from displaysense_local.errors import CommandError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="displaysense",
        description="Storefront metrics from Amazon Rekognition Video results, on AWS or on this machine.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    analyze = commands.add_parser(
        "analyze-results",
        help="metrics of one video from saved GetLabelDetection / GetFaceDetection pages",
        description=(
            "Reads result pages (a JSON file with one page or an array of pages, or a directory of "
            "*.json files read in name order) and prints the video's metrics as JSON. Thresholds "
            "come from DS_* environment variables (e.g. DS_TRACK_GAP_S=1.5)."
        ),
    )
    analyze.add_argument("--labels", nargs="+", metavar="PATH", help="GetLabelDetection pages")
    analyze.add_argument("--faces", nargs="+", metavar="PATH", help="GetFaceDetection pages")
    analyze.add_argument(
        "--recorded-at", metavar="ISO8601", help="UTC start of the recording (default: 1970-01-01T00:00:00Z)"
    )
    analyze.add_argument("--series", action="store_true", help="include the per-minute series")
    analyze.add_argument("--passes", action="store_true", help="include the anonymous per-pass records")

    demo = commands.add_parser(
        "demo",
        help="local mode on the sample footage: analyse it, print the summary, serve the dashboard",
    )
    _local_options(demo, default_data=Path(".displaysense/demo"), drop=False)
    demo.add_argument("--exit-when-done", action="store_true", help="stop once the sample is analysed")

    local = commands.add_parser("local", help="the whole pipeline on this machine")
    local_commands = local.add_subparsers(dest="local_command", required=True, metavar="COMMAND")
    up = local_commands.add_parser(
        "up", help="start local mode: drop folder, Rekognition stand-in, API and dashboard on localhost"
    )
    _local_options(up, default_data=Path(".displaysense/local"), drop=True)

    upload = commands.add_parser(
        "upload", help="upload a recording through the API (POST /uploads and a presigned PUT)"
    )
    upload.add_argument("file", type=Path, metavar="FILE")
    upload.add_argument("--store", required=True)
    upload.add_argument("--camera", required=True)
    upload.add_argument("--recorded-at", metavar="ISO8601", help="UTC start (default: the file's time)")
    upload.add_argument("--endpoint", required=True, metavar="URL", help="the API's base URL (…/v1/)")
    upload.add_argument("--api-key", required=True)
    return parser


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port: give 0 to 65535 (0: any free port)")
    return port


def _local_options(parser: argparse.ArgumentParser, default_data: Path, drop: bool) -> None:
    parser.add_argument(
        "--port", type=_port, default=8080, help="port of the API and dashboard (default 8080, 0: any free)"
    )
    parser.add_argument("--data-dir", type=Path, default=default_data, help=f"state (default {default_data})")
    if drop:
        parser.add_argument(
            "--drop-dir", type=Path, default=Path("drop"), help="the drop folder (default ./drop)"
        )
    parser.add_argument(
        "--api-key", help="API key to require (default: one generated and kept in the data dir)"
    )


INTERRUPTED = 130  # 128 + SIGINT, what a shell reports for a command stopped by Ctrl+C


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return _run(args)
    except KeyboardInterrupt:
        # Ctrl+C before the command's work was done (start-up, the demo's wait, an upload).
        # Serving, the way to stop is Ctrl+C: that is not an interruption (status 0).
        print(f"displaysense: interrupted; {_after_interrupt(args)}", file=sys.stderr)
        return INTERRUPTED
    except CommandError as exc:
        print(f"displaysense: error: {exc}", file=sys.stderr)
        return 2


def _after_interrupt(args: argparse.Namespace) -> str:
    if args.command == "upload":
        return "the upload did not finish: run the same command again"
    if args.command in ("demo", "local"):
        return f"nothing is lost: the analysis resumes at the next start with --data-dir {args.data_dir}"
    return "nothing was written"


def _run(args: argparse.Namespace) -> int:
    if args.command == "analyze-results":
        result = analyze_command.run(args.labels, args.faces, args.recorded_at, args.series, args.passes)
        json.dump(result, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    if args.command == "upload":
        from displaysense_local.upload_command import upload

        ticket = upload(
            args.file,
            store=args.store,
            camera=args.camera,
            recorded_at=args.recorded_at,
            endpoint=args.endpoint,
            api_key=args.api_key,
        )
        print(f"uploaded to {ticket['key']}")
        return 0
    from displaysense_local import local_command

    if args.command == "demo":
        options = local_command.default_options(args.data_dir, None, args.port, args.api_key)
        return local_command.demo(options, exit_when_done=args.exit_when_done)
    if args.command == "local" and args.local_command == "up":
        options = local_command.default_options(args.data_dir, args.drop_dir, args.port, args.api_key)
        return local_command.up(options)
    raise AssertionError(f"unhandled command {args.command}")


if __name__ == "__main__":
    sys.exit(main())
