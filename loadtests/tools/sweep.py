"""The knee sweep is the command ``flowprobe sweep`` now; this wrapper passes its arguments on.

    python loadtests/tools/sweep.py --mode rate --levels 0.5,1,2,3,4 -t 15s

is ``flowprobe sweep --mode rate --levels 0.5,1,2,3,4 -t 15s``; see ``flowprobe sweep --help``.
"""

from __future__ import annotations

import sys

from flowprobe.cli import main

if __name__ == "__main__":
    main(["sweep", *sys.argv[1:]])
