"""The ``flowprobe`` subcommands, one module per area; ``flowprobe.cli`` puts them in one group.

A command raises ``FlowprobeError`` for a usage or setup error (the group prints it as one line
and exits 2) and exits 1 through ``ctx.exit`` when a check fails.
"""
