"""Verdicts on what a target answered, computed once: each ``*_violations`` function returns the
broken promises as data (:class:`Violation`), each ``check_*`` raises the first for a suite, and
the load users count them by kind. Findings the suites accept are in :mod:`.findings`."""

from __future__ import annotations

from flowprobe.checks.answer import (
    answer_at_sample_paths,
    answer_path_violations,
    answer_violations,
    check_answer_paths,
    check_run_answer,
    check_status,
    fail,
)
from flowprobe.checks.stream import (
    check_stream,
    check_stream_order,
    check_tokens_match_end,
    stream_order_violations,
    stream_violations,
    token_violations,
)
from flowprobe.checks.upload import (
    check_refused,
    check_uploaded,
    refused_violations,
    uploaded_violations,
)
from flowprobe.checks.verdict import Violation, raise_first, status_violations

__all__ = [
    "Violation",
    "answer_at_sample_paths",
    "answer_path_violations",
    "answer_violations",
    "check_answer_paths",
    "check_refused",
    "check_run_answer",
    "check_status",
    "check_stream",
    "check_stream_order",
    "check_tokens_match_end",
    "check_uploaded",
    "fail",
    "raise_first",
    "refused_violations",
    "status_violations",
    "stream_order_violations",
    "stream_violations",
    "token_violations",
    "uploaded_violations",
]
