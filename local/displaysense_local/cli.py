"""The `displaysense` command."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from displaysense_local import analyze_command


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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "analyze-results":
            result = analyze_command.run(args.labels, args.faces, args.recorded_at, args.series, args.passes)
            json.dump(result, sys.stdout, indent=2)
            sys.stdout.write("\n")
            return 0
    except analyze_command.CommandError as exc:
        print(f"displaysense: error: {exc}", file=sys.stderr)
        return 2
    raise AssertionError(f"unhandled command {args.command}")


if __name__ == "__main__":
    sys.exit(main())
