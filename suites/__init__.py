"""flowprobe's contract suites; installed as ``flowprobe.suites`` (``pytest --pyargs
flowprobe.suites``), run by ``flowprobe test``, ``record`` and ``check``."""
