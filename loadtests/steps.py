"""Step shape, added to a scenario: ``-f loadtests/streaming.py,loadtests/steps.py``.

Steps come from FLOWPROBE_LOAD_STEPS, e.g. ``1:10,2:10,4:10`` (users:seconds).
"""

from flowprobe.load import StepShape


class Steps(StepShape):
    abstract = False
