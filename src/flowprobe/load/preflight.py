"""``python -m flowprobe.load.preflight``: check a load run's settings before it starts.

Exit 0 and print the settings as JSON (the key redacted), or exit 2 with one sentence. The
``flowprobe load`` command runs it in a subprocess, so flowprobe's CLI never imports locust.
"""

from __future__ import annotations

import json
import sys

from flowprobe.errors import FlowprobeError
from flowprobe.load.config import load_run_setup


def main() -> int:
    try:
        setup = load_run_setup()
    except FlowprobeError as exc:
        print(f"flowprobe load: bad settings: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(setup.redacted(), default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
