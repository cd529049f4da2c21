"""``python -m flowprobe.local.stub``: the same command as ``flowprobe stub-llm``.

Launchers start the stub by module, so it runs in their own interpreter; one command keeps one
set of options and one default port.
"""

import sys

from flowprobe.cli import main

main(["stub-llm", *sys.argv[1:]])
