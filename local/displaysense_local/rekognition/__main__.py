"""`python -m displaysense_local.rekognition --port P --data-dir D`: serve the stand-in until stopped."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import threading
from collections.abc import Sequence

from .server import RekognitionStandIn


def _parser() -> argparse.ArgumentParser:
    env = os.environ
    shared = env.get("AWS_ENDPOINT_URL")
    parser = argparse.ArgumentParser(
        prog="python -m displaysense_local.rekognition",
        description="Local stand-in for Amazon Rekognition Video (label and face detection).",
    )
    parser.add_argument("--port", type=int, default=int(env.get("DS_STANDIN_PORT", "0") or 0))
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--data-dir", required=True, help="where jobs, results and analyses are kept")
    parser.add_argument("--s3-endpoint-url", default=env.get("AWS_ENDPOINT_URL_S3", shared))
    parser.add_argument("--sns-endpoint-url", default=env.get("AWS_ENDPOINT_URL_SNS", shared))
    parser.add_argument("--region", default=env.get("AWS_DEFAULT_REGION", "us-east-1"))
    parser.add_argument("--workers", type=int, default=2, help="videos analysed at once (default 2)")
    parser.add_argument("--max-concurrent-jobs", type=int, default=20)
    parser.add_argument("--sample-fps", type=float, default=5.0, help="frames analysed per video second")
    parser.add_argument("--log-level", default="INFO")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    standin = RekognitionStandIn(
        data_dir=args.data_dir,
        s3_endpoint_url=args.s3_endpoint_url,
        sns_endpoint_url=args.sns_endpoint_url,
        port=args.port,
        host=args.host,
        workers=args.workers,
        max_concurrent_jobs=args.max_concurrent_jobs,
        sample_fps=args.sample_fps,
        region=args.region,
    )
    url = standin.start()
    # Local mode reads this line to learn the port when it asked for any free one (--port 0).
    print(f"Rekognition stand-in listening on {url}", flush=True)
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    signal.signal(signal.SIGINT, lambda *_: stopped.set())
    stopped.wait()
    standin.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
