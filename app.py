#!/usr/bin/env python3
"""CDK app entry point (`cdk synth`, `cdk deploy`, or plain `python app.py`): synthesizes DisplaySense.

Settings are CDK context (see cdk.json and docs/deploy.md). Synthesis is offline: no AWS credentials,
no lookups.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from infra.application import build_app
from infra.settings import ContextError


def main() -> int:
    # The CDK CLI tells the app where to write (CDK_OUTDIR); plain `python app.py` writes to cdk.out
    # next to this file, where `cfn-lint cdk.out/*.template.json` finds it.
    outdir = None if os.environ.get("CDK_OUTDIR") else str(Path(__file__).resolve().parent / "cdk.out")
    try:
        built = build_app(outdir=outdir)
    except ContextError as exc:
        print(exc, file=sys.stderr)
        return 2
    built.app.synth()
    return 0


if __name__ == "__main__":
    sys.exit(main())
