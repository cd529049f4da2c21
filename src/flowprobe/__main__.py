"""`python -m flowprobe`: the same as the `flowprobe` command."""

from flowprobe.cli import main

main()
