"""Named checks of a non-streaming run answer.

Each ``*_violations`` function judges an answer already read, without raising and without I/O,
and returns every broken promise (see :mod:`.verdict`); each ``check_*`` function raises the
first one as :class:`~flowprobe.errors.ContractViolation`. The suites call the checks; a user's
own tests can too; the load users count the violations by kind.

The newline rule: Langflow rewrites an AI answer's newlines for markdown in
``messages[0].message`` (``\\n\\n`` becomes ``\\n``, then every ``\\n`` becomes ``\\n\\n``;
``lfx.utils.schemas.ChatOutputResponse``). A difference between the client paths that is exactly
that rewrite is the finding :data:`NEWLINES_REWRITTEN`, which a caller may report instead of
failing; any other difference is a broken promise.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flowprobe.checks.verdict import (
    CONTRACT,
    NOT_JSON,
    Violation,
    contract_violations,
    raise_first,
    status_violations,
    violation,
)
from flowprobe.jsonpath import path_of, shorten, value_at
from flowprobe.wire.answer_paths import FIRST_RESULT, MESSAGES_TEXT, RESULTS_TEXT, SAMPLE_PATHS
from flowprobe.wire.client import RunResult, StreamedRun

RUN_ANSWERS_200 = "a run call answers 200"
_WHERE_CLIENTS_READ = "the answer is where clients read it"
NEWLINES_REWRITTEN = "messages-newlines-rewritten"
# The one path Langflow rewrites for markdown, by its name in SAMPLE_PATHS.
_REWRITTEN_PATH = next(n for n, p in SAMPLE_PATHS.items() if (*FIRST_RESULT, *p) == MESSAGES_TEXT)
Report = Callable[[str, str], None]


def markdown_newlines(text: str) -> str:
    """``text`` as Langflow stores an AI message for markdown: every line break doubled, once."""
    return text.replace("\n\n", "\n").replace("\n", "\n\n")


def is_newline_rewrite(text: str, received: Any) -> bool:
    """Whether ``received`` differs from ``text`` by exactly the markdown newline rewrite."""
    return isinstance(received, str) and received != text and received == markdown_newlines(text)


def fail(title: str, *, path: str = "$", expected: str = "", received: Any = "") -> None:
    """Raise a :class:`ContractViolation`."""
    __tracebackhide__ = True  # pytest shows the suite line, not flowprobe's
    raise_first([violation(title, CONTRACT, path=path, expected=expected, received=received)])


def answered_body(result: RunResult | StreamedRun) -> Any:
    """What a status violation shows of an answer: its text, else a refused stream's body."""
    return getattr(result, "text", None) or getattr(result, "error_body", None)


def check_status(result: RunResult | StreamedRun, expected: int, promise: str) -> None:
    """The answer's HTTP status is ``expected``."""
    __tracebackhide__ = True  # pytest shows the suite line, not flowprobe's
    raise_first(status_violations(result.status, expected, promise, answered_body(result)))


def answer_violations(status: int, body: Any, text: str, validate: bool = True) -> list[Violation]:
    """How a run answer breaks its promises: not a 200, not JSON (``body`` None), or (when
    ``validate``) the run-response contract. ``text`` is the answer as received."""
    refused = status_violations(status, 200, RUN_ANSWERS_200, text or None)
    if refused:
        return refused
    if body is None:
        return [
            violation("a run call answers JSON", NOT_JSON, expected="a JSON body", received=text)
        ]
    return contract_violations("run-response", body) if validate else []


def check_run_answer(result: RunResult) -> dict[str, Any]:
    """A 200 with a JSON body that obeys the run-response contract; returns the body."""
    __tracebackhide__ = True  # pytest shows the suite line, not flowprobe's
    raise_first(answer_violations(result.status, result.body, result.text))
    body: dict[str, Any] = result.body
    return body


def _at_sample_paths(body: Any) -> tuple[dict[str, Any], list[Violation]]:
    """The answer at each sample's path, and a violation for each path that holds nothing."""
    try:
        first = value_at(body, FIRST_RESULT)
    except LookupError:
        missing = violation(
            _WHERE_CLIENTS_READ,
            CONTRACT,
            path=path_of(FIRST_RESULT),
            expected="a component result",
            received=body,
        )
        return {}, [missing]
    found: dict[str, Any] = {}
    broken = []
    for name, path in SAMPLE_PATHS.items():
        try:
            found[name] = value_at(first, path)
        except LookupError:
            where = f"{path_of(FIRST_RESULT)}.{name}"
            broken.append(
                violation(
                    _WHERE_CLIENTS_READ,
                    CONTRACT,
                    path=where,
                    expected="the answer text",
                    received=first,
                )
            )
    return found, broken


def answer_at_sample_paths(body: dict[str, Any]) -> dict[str, Any]:
    """The answer as each of the API pane's samples reads it, from ``outputs[0].outputs[0]``."""
    __tracebackhide__ = True  # pytest shows the suite line, not flowprobe's
    found, broken = _at_sample_paths(body)
    raise_first(broken)
    return found


def newline_rewrites(body: Any) -> dict[str, str]:
    """The sample paths whose answer is the markdown newline rewrite of the answer text, with a
    line saying what became what (an empty dict when there is none)."""
    found, broken = _at_sample_paths(body)
    if broken:
        return {}
    text = value_at(body, RESULTS_TEXT)
    value = found.get(_REWRITTEN_PATH)
    if not (isinstance(text, str) and isinstance(value, str) and is_newline_rewrite(text, value)):
        return {}
    # repr keeps the detail on one line, and shows the newlines that differ.
    return {_REWRITTEN_PATH: f"{text[:60]!r} became {value[:70]!r} at {_REWRITTEN_PATH}"}


def answer_path_violations(body: Any, *, rewrites_allowed: bool = False) -> list[Violation]:
    """How the sample paths disagree: one holds nothing, or not the same non-empty answer.

    With ``rewrites_allowed``, a path that holds exactly the markdown newline rewrite of the
    answer (see :func:`newline_rewrites`) counts as holding the answer.
    """
    found, broken = _at_sample_paths(body)
    if broken:
        return broken
    text = value_at(body, RESULTS_TEXT)
    allowed = newline_rewrites(body) if rewrites_allowed else {}
    return [
        violation(
            "every client path holds the same answer",
            CONTRACT,
            path=f"{path_of(FIRST_RESULT)}.{name}",
            expected=shorten(text),
            received=value,
        )
        for name, value in found.items()
        if (not isinstance(value, str) or not value or value != text) and name not in allowed
    ]


def check_answer_paths(body: dict[str, Any], report: Report | None = None) -> str:
    """Every sample's path holds the same non-empty answer; returns it.

    Given ``report`` (a suite's ``flowprobe_finding``), a path that differs by exactly the
    markdown newline rewrite is reported as :data:`NEWLINES_REWRITTEN` instead of failing.
    """
    __tracebackhide__ = True  # pytest shows the suite line, not flowprobe's
    raise_first(answer_path_violations(body, rewrites_allowed=report is not None))
    if report is not None:
        for detail in newline_rewrites(body).values():
            report(NEWLINES_REWRITTEN, detail)
    return str(value_at(body, RESULTS_TEXT))
