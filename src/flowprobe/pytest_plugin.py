"""flowprobe's pytest plugin: options, markers and fixtures for testing a Langflow run endpoint.

Registered through the ``pytest11`` entry point. Any test that uses the ``flowprobe_target``
fixture (directly or through ``flowprobe_client``) is a *suite* test: in ``replay`` mode it
replays cassettes with the network blocked, in ``record`` mode it writes them, in ``live`` mode
it talks to the target. Override any fixture by defining one of the same name in a conftest:
pytest-recording's ``vcr_config`` and ``vcr_cassette_dir`` for the tests' cassettes,
``flowprobe_vcr_config`` for those and the session's alike.
"""

from __future__ import annotations

import collections
import contextlib
import hashlib
import itertools
import json
import uuid
from collections.abc import Callable, Generator, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from flowprobe import contracts, resources
from flowprobe.cassettes import cassette_config, register, write_replay_target
from flowprobe.checks.findings import FINDINGS, Finding, load_baseline
from flowprobe.errors import (
    VIOLATION_FIELDS,
    VIOLATION_PROPERTY,
    ContractViolation,
    FlowprobeError,
    SettingsError,
)
from flowprobe.redaction import is_secret_name, redact, scrub_value
from flowprobe.settings import SETTINGS, Settings, load_settings, read_pyproject
from flowprobe.target import Target
from flowprobe.wire.client import (
    WEDGED,
    AsyncRunClient,
    CallDefaults,
    Deadlines,
    RunClient,
    TargetWedged,
)
from flowprobe.wire.flowfacts import FlowFacts, find_flow, learn_flow
from flowprobe.wire.version import langflow_version

SETTINGS_KEY = pytest.StashKey[Settings]()
FINDINGS_KEY = pytest.StashKey[list[Finding]]()
BASELINE_KEY = pytest.StashKey[dict[str, str]]()
# Which findings baseline the target's Langflow version picked, and why (for the summary).
BASELINE_NOTE_KEY = pytest.StashKey[str]()
VERSION_KEY = pytest.StashKey[tuple[str | None, str]]()
# Set on each test flowprobe gives a cassette, and on its module.
CASSETTE_KEY = pytest.StashKey[bool]()
REPLAY_TARGET_FILE = "target.json"
SUITE_FIXTURES = frozenset(
    {
        *("flowprobe_target", "flowprobe_client", "flowprobe_async_client"),
        *("flowprobe_flow", "flowprobe_file_flow"),
    }
)
MARKERS = {
    "flowprobe_live(reason=...)": "needs a live target (concurrency, timing, or a program that "
    "calls it): skipped when replaying cassettes",
    "flowprobe_model": "needs a flow with a language model (it streams tokens)",
    "fuzz": "schemathesis fuzzing of the run endpoint (deselect with -m 'not fuzz')",
}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("flowprobe", "flowprobe: the Langflow run endpoint under test")
    for setting in SETTINGS:
        choices = f" ({'|'.join(setting.choices)})" if setting.choices else ""
        names = [setting.option, *([setting.alias] if setting.alias else [])]
        group.addoption(
            *names,
            dest=f"flowprobe_{setting.name}",
            default=None,
            help=f"{setting.help}{choices}. Environment: {setting.env}",
        )


def pytest_configure(config: pytest.Config) -> None:
    for name, text in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {text}")
    options = {s.name: config.getoption(f"flowprobe_{s.name}", None) for s in SETTINGS}
    try:
        # The project's [tool.flowprobe] is the one beside pytest's rootdir, wherever pytest
        # was started from.
        settings = load_settings(options, pyproject=read_pyproject(Path(config.rootpath)))
    except SettingsError as exc:
        raise pytest.UsageError(f"flowprobe: {exc}") from None
    config.stash[SETTINGS_KEY] = settings
    baseline = settings.get("findings_baseline")
    if baseline:  # else picked by the target's Langflow version, once a finding needs it
        try:
            config.stash[BASELINE_KEY] = load_baseline(_rooted(config, Path(str(baseline))))
        except SettingsError as exc:
            raise pytest.UsageError(f"flowprobe: {exc}") from None
    config.stash[FINDINGS_KEY] = []
    if settings.get("mode") == "record" and config.getoption("record_mode", None) is None:
        config.option.record_mode = "new_episodes"
    # Registered now, after every entry-point plugin, so that its fixtures override
    # pytest-recording's, and before any conftest, so that a user's override them in turn.
    config.pluginmanager.register(CassetteFixtures(), "flowprobe-cassettes")


def settings_of(config: pytest.Config) -> Settings:
    """The resolved flowprobe settings of this pytest run."""
    return config.stash[SETTINGS_KEY]


def _rooted(config: pytest.Config, path: Path) -> Path:
    return path if path.is_absolute() else Path(config.rootpath) / path


def cassette_dir(config: pytest.Config) -> Path:
    """Where cassettes are read and written, relative to pytest's root directory."""
    return _rooted(config, Path(str(settings_of(config).get("cassette_dir"))))


def pytest_report_header(config: pytest.Config) -> str:
    settings = settings_of(config)
    mode = settings.get("mode")
    try:
        target = _resolve_target(config)
        where = target.describe()
    except FlowprobeError as exc:
        where = f"no target ({exc})"
    return f"flowprobe: mode {mode}, target {where}"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    mode = settings_of(config).get("mode")
    for item in items:
        if not SUITE_FIXTURES & set(getattr(item, "fixturenames", ())):
            continue
        live = item.get_closest_marker("flowprobe_live")
        if mode != "live" and live is not None:
            why = live.kwargs.get("reason", "timing or concurrency")
            item.add_marker(pytest.mark.skip(reason=f"needs a live target ({why}); {mode} mode"))
        if mode in ("replay", "record"):
            # The settings come from the vcr_config and vcr_cassette_dir fixtures.
            item.add_marker(pytest.mark.vcr)
            for node in (item, item.getparent(pytest.Module)):
                if node is not None:
                    node.stash[CASSETTE_KEY] = True
        if mode == "replay":
            item.add_marker(pytest.mark.block_network)


def _careful_persister() -> Any:
    """vcrpy's file persister, with a cassette that cannot be read failing its test in one
    sentence instead of a page of YAML parser traceback. Built on first use: importing vcr
    before pytest-recording registers its assertion rewriting would warn in every run."""
    import yaml
    from vcr.persisters.filesystem import CassetteDecodeError, FilesystemPersister

    class CarefulPersister(FilesystemPersister):  # type: ignore[misc]
        @classmethod
        def load_cassette(cls, cassette_path: Any, serializer: Any) -> Any:
            try:
                return super().load_cassette(cassette_path, serializer)
            except (yaml.YAMLError, CassetteDecodeError, ValueError, TypeError, KeyError) as exc:
                where = getattr(exc, "problem_mark", None)
                at = f" (line {where.line + 1}, column {where.column + 1})" if where else ""
                pytest.fail(
                    f"cassette {cassette_path} cannot be read{at}: {type(exc).__name__}; "
                    "record it again with `flowprobe record`",
                    pytrace=False,
                )

    return CarefulPersister


def pytest_recording_configure(config: pytest.Config, vcr: Any) -> None:
    register(vcr)
    vcr.register_persister(_careful_persister())


class CassetteFixtures:
    """pytest-recording's ``vcr_config`` and ``vcr_cassette_dir``, set for the suites' tests.

    Tests flowprobe gives no cassette keep pytest-recording's own values, which these fixtures
    take as their argument of the same name.
    """

    @pytest.fixture
    @classmethod
    def vcr_config(
        cls,
        request: pytest.FixtureRequest,
        vcr_config: dict[str, Any],
        flowprobe_vcr_config: dict[str, Any],
    ) -> dict[str, Any]:
        """vcrpy settings of a suite test's cassette: a copy of ``flowprobe_vcr_config``."""
        if request.node.stash.get(CASSETTE_KEY, False):
            return dict(flowprobe_vcr_config)
        return vcr_config

    @pytest.fixture(scope="module")
    @classmethod
    def vcr_cassette_dir(cls, request: pytest.FixtureRequest, vcr_cassette_dir: str) -> str:
        """A suite module's cassettes: ``<cassette_dir>/<module name>/<test name>.yaml``."""
        if request.node.stash.get(CASSETTE_KEY, False):
            return str(cassette_dir(request.config) / request.path.stem)
        return vcr_cassette_dir


def _resolve_target(config: pytest.Config) -> Target:
    settings = settings_of(config)
    if settings.get("mode") != "replay" or (settings.get("base_url") and settings.get("flow")):
        return Target.from_settings(settings)
    recorded = cassette_dir(config) / REPLAY_TARGET_FILE
    if not recorded.is_file():
        raise SettingsError(
            f"replay mode needs recorded cassettes, and {recorded} is missing; record them with "
            "`flowprobe record` (or pytest with FLOWPROBE_MODE=record), or set "
            "FLOWPROBE_BASE_URL to test a live target"
        )
    data = _replay_target(recorded)
    return Target(base_url=data["base_url"], flow=data["flow"], api_key="replayed-key")


def _replay_target(recorded: Path) -> dict[str, str]:
    """The recorded target's URL and flows, from ``target.json``; a broken file is one error."""
    try:
        data = json.loads(recorded.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise SettingsError(f"{recorded} is not readable JSON ({exc}); record again") from None
    fields = ("base_url", "flow")
    if not isinstance(data, dict) or not all(isinstance(data.get(f), str) for f in fields):
        raise SettingsError(
            f"{recorded} must be a JSON object with the recorded base_url and flow; record again"
        )
    return {k: v for k, v in data.items() if isinstance(v, str)}


def _file_flow_name(config: pytest.Config) -> str | None:
    settings = settings_of(config)
    if settings.get("file_flow") or settings.get("mode") != "replay":
        return str(settings.get("file_flow") or "") or None
    recorded = cassette_dir(config) / REPLAY_TARGET_FILE
    if not recorded.is_file():
        return None
    return _replay_target(recorded).get("file_flow") or None


def target_version(config: pytest.Config) -> tuple[str | None, str]:
    """The target's Langflow version, or None and why not: recorded in ``target.json`` when
    replaying, else asked of the target (``GET /api/v1/version``) once per session."""
    if VERSION_KEY not in config.stash:
        config.stash[VERSION_KEY] = _learn_version(config)
    return config.stash[VERSION_KEY]


def _learn_version(config: pytest.Config) -> tuple[str | None, str]:
    settings = settings_of(config)
    if settings.get("mode") == "replay":
        recorded = cassette_dir(config) / REPLAY_TARGET_FILE
        if not recorded.is_file():
            return None, "no recorded target.json to say which Langflow the cassettes came from"
        version = _replay_target(recorded).get("langflow_version")
        return (version, "") if version else (None, f"{recorded} records no Langflow version")
    try:
        target = Target.from_settings(settings)
        total = min(10.0, float(settings.get("timeout")))
        return langflow_version(target, deadlines=Deadlines(connect=total, total=total)), ""
    except FlowprobeError as exc:
        return None, f"the target's Langflow version could not be learned: {exc}"


def accepted_findings(config: pytest.Config) -> dict[str, str]:
    """The findings this run accepts: the ``findings_baseline`` setting's, else the shipped
    baseline for the target's Langflow version (see :func:`resources.findings_baseline_for`)."""
    if BASELINE_KEY not in config.stash:
        version, why = target_version(config)
        choice = resources.findings_baseline_for(version, unknown_because=why)
        config.stash[BASELINE_NOTE_KEY] = choice.note
        config.stash[BASELINE_KEY] = load_baseline(choice.path)
    return config.stash[BASELINE_KEY]


def pytest_sessionfinish(session: pytest.Session) -> None:
    """In record mode, store the recorded target beside the cassettes, so that they replay."""
    settings = settings_of(session.config)
    if settings.get("mode") != "record":
        return
    try:
        target = Target.from_settings(settings)
    except FlowprobeError:
        return  # no target, so nothing was recorded
    folder = cassette_dir(session.config)
    folder.mkdir(parents=True, exist_ok=True)
    recorded = {"FLOWPROBE_BASE_URL": target.base_url, "FLOWPROBE_FLOW": target.flow}
    file_flow = settings.get("file_flow")
    version = target_version(session.config)[0] or ""
    write_replay_target(
        folder,
        {
            **recorded,
            "FLOWPROBE_FILE_FLOW": str(file_flow or ""),
            "FLOWPROBE_LANGFLOW_VERSION": version,
        },
    )


@pytest.fixture(scope="session")
def flowprobe_settings(pytestconfig: pytest.Config) -> Settings:
    """The resolved settings (option > environment > pyproject.toml > default)."""
    return settings_of(pytestconfig)


@pytest.fixture(scope="session")
def flowprobe_mode(flowprobe_settings: Settings) -> str:
    """``live``, ``replay`` or ``record``."""
    return str(flowprobe_settings.get("mode"))


@pytest.fixture(scope="session")
def flowprobe_target(pytestconfig: pytest.Config) -> Target:
    """The run endpoint under test; a missing or malformed setting stops the session (exit 2)."""
    try:
        return _resolve_target(pytestconfig)
    except FlowprobeError as exc:
        problem = str(exc)
    # Nothing can be checked without a target: one sentence, not one error per test.
    pytest.exit(f"flowprobe: {problem}", returncode=2)


@pytest.fixture(scope="session")
def flowprobe_deadlines(flowprobe_settings: Settings) -> Deadlines:
    """Deadlines of each call; ``timeout`` bounds the whole call."""
    total = float(flowprobe_settings.get("timeout"))
    return Deadlines(connect=min(10.0, total), idle=total, total=total)


@pytest.fixture(scope="session")
def flowprobe_max_body_bytes(flowprobe_settings: Settings) -> int:
    """The largest answer a suite's client reads (``max_body_mb``), decompressed."""
    return int(float(flowprobe_settings.get("max_body_mb")) * 1024 * 1024)


def _call_defaults(settings: Settings, seed: str) -> CallDefaults:
    """The ``tweaks`` and ``session`` settings as per-call defaults; fresh session ids are
    derived from ``seed`` and a count, so that a recorded call matches when replayed."""
    counter = itertools.count()

    def new_session() -> str:
        digest = hashlib.sha256(f"{seed}:session:{next(counter)}".encode()).hexdigest()
        return f"fp-session-{digest[:12]}"

    return CallDefaults(
        tweaks=settings.get("tweaks") or {},
        session=str(settings.get("session")),
        new_session=new_session,
    )


@pytest.fixture(scope="session")
def flowprobe_session_salt(flowprobe_mode: str) -> str:
    """What makes this run's fresh session ids its own: random when live, so that a memory flow
    never finds an earlier run's history under a test's session; empty when replaying or
    recording, so that the ids a cassette holds are the ids a replay sends."""
    return uuid.uuid4().hex[:8] if flowprobe_mode == "live" else ""


@pytest.fixture
def flowprobe_call_defaults(
    request: pytest.FixtureRequest, flowprobe_settings: Settings, flowprobe_session_salt: str
) -> CallDefaults:
    """What every call of this test carries unless its body says otherwise: the ``tweaks``
    setting under the test's own, and a session id by the ``session`` setting (a fresh one per
    call by default, from ``new_session()``, which a test can also call for a session of its
    own: derived from the test's id so that replay matches, and salted per live run)."""
    return _call_defaults(flowprobe_settings, f"{flowprobe_session_salt}{request.node.nodeid}")


@pytest.fixture
def flowprobe_client(
    flowprobe_target: Target,
    flowprobe_deadlines: Deadlines,
    flowprobe_call_defaults: CallDefaults,
    flowprobe_max_body_bytes: int,
) -> Iterator[RunClient]:
    """A synchronous run client for the target, sending ``flowprobe_call_defaults``."""
    with RunClient(
        flowprobe_target,
        deadlines=flowprobe_deadlines,
        defaults=flowprobe_call_defaults,
        max_body_bytes=flowprobe_max_body_bytes,
    ) as client:
        yield client


@pytest.fixture
def flowprobe_async_client(
    flowprobe_target: Target,
    flowprobe_deadlines: Deadlines,
    flowprobe_call_defaults: CallDefaults,
    flowprobe_max_body_bytes: int,
) -> AsyncRunClient:
    """An asynchronous run client for the target, sending ``flowprobe_call_defaults`` (close
    it with ``await client.aclose()``)."""
    return AsyncRunClient(
        flowprobe_target,
        deadlines=flowprobe_deadlines,
        defaults=flowprobe_call_defaults,
        max_body_bytes=flowprobe_max_body_bytes,
    )


@pytest.fixture
def flowprobe_nonce(request: pytest.FixtureRequest) -> Callable[[str], str]:
    """Nonces derived from the test's id, so that a recorded call matches when replayed."""

    def nonce(label: str = "") -> str:
        digest = hashlib.sha256(f"{request.node.nodeid}:{label}".encode()).hexdigest()
        return f"fp{digest[:12]}"

    return nonce


@pytest.fixture(scope="session")
def flowprobe_contracts() -> Any:
    """The contracts module: ``check(name, instance)``, ``violations(name, instance)``."""
    return contracts


@pytest.fixture(scope="session")
def flowprobe_vcr_config(flowprobe_mode: str) -> dict[str, Any]:
    """vcrpy settings of every flowprobe cassette, the session's and each test's.

    What is matched and scrubbed, and the record mode: replay-only unless the mode is
    ``record``. Override ``vcr_config`` instead to change only the tests' cassettes.
    """
    return cassette_config("new_episodes" if flowprobe_mode == "record" else "none")


@pytest.fixture(scope="session")
def flowprobe_session_cassette(
    pytestconfig: pytest.Config, flowprobe_mode: str, flowprobe_vcr_config: dict[str, Any]
) -> Callable[[str], contextlib.AbstractContextManager[Any]]:
    """``use(name)``: a cassette for calls made outside any one test (session fixtures)."""

    def use(name: str) -> contextlib.AbstractContextManager[Any]:
        if flowprobe_mode not in ("replay", "record"):
            return contextlib.nullcontext()
        import vcr  # only replay and record need it

        folder = cassette_dir(pytestconfig) / "_session"
        recorder = vcr.VCR(cassette_library_dir=str(folder))
        # The matchers the tests' cassettes get (flowprobe's, and any a conftest adds).
        pytestconfig.hook.pytest_recording_configure(config=pytestconfig, vcr=recorder)
        cassette: contextlib.AbstractContextManager[Any] = recorder.use_cassette(
            f"{name}.yaml", **flowprobe_vcr_config
        )
        return cassette

    return use


@pytest.fixture(scope="session")
def flowprobe_flow(
    flowprobe_target: Target,
    flowprobe_deadlines: Deadlines,
    flowprobe_settings: Settings,
    flowprobe_session_salt: str,
    flowprobe_session_cassette: Callable[[str], contextlib.AbstractContextManager[Any]],
) -> FlowFacts:
    """What the suites know about the flow: id, endpoint name, components."""
    defaults = _call_defaults(flowprobe_settings, f"{flowprobe_session_salt}flowprobe_flow")
    try:
        with (
            flowprobe_session_cassette("flow_facts"),
            RunClient(flowprobe_target, deadlines=flowprobe_deadlines, defaults=defaults) as client,
        ):
            return learn_flow(client)
    except FlowprobeError as exc:
        problem = str(exc)
    # Nothing can be checked without the flow: stop the session with one sentence.
    pytest.exit(f"flowprobe: {problem}", returncode=2)


@pytest.fixture(scope="session")
def flowprobe_file_flow(
    pytestconfig: pytest.Config,
    flowprobe_target: Target,
    flowprobe_deadlines: Deadlines,
    flowprobe_session_cassette: Callable[[str], contextlib.AbstractContextManager[Any]],
) -> FlowFacts:
    """The flow that reads an uploaded file (``file_flow``); skips when none is set."""
    name = _file_flow_name(pytestconfig)
    if not name:
        pytest.skip("no flow that reads a file: set FLOWPROBE_FILE_FLOW (`flowprobe up` does)")
    try:
        with (
            flowprobe_session_cassette("file_flow_facts"),
            RunClient(flowprobe_target, deadlines=flowprobe_deadlines) as client,
        ):
            facts = find_flow(client, name)
    except FlowprobeError as exc:
        pytest.fail(f"flowprobe: {exc}", pytrace=False)
    if facts.file_reader is None:
        pytest.fail(f"flowprobe: the file flow {name!r} has no Read File component", pytrace=False)
    return facts


@pytest.fixture(scope="session")
def flowprobe_findings_baseline(pytestconfig: pytest.Config) -> dict[str, str]:
    """The accepted findings, ``{id: reason}``: learned once, before any test's cassette."""
    return accepted_findings(pytestconfig)


@pytest.fixture
def flowprobe_finding(
    request: pytest.FixtureRequest, flowprobe_findings_baseline: dict[str, str]
) -> Callable[[str, str], None]:
    """Report a finding: it fails the test unless the findings baseline accepts it."""

    def report(finding_id: str, detail: str) -> None:
        assert finding_id in FINDINGS, f"unknown finding id {finding_id!r}"
        accepted = finding_id in flowprobe_findings_baseline
        finding = Finding(finding_id, detail, accepted)
        request.config.stash[FINDINGS_KEY].append(finding)
        request.node.user_properties.append(("flowprobe_finding", finding.describe()))
        if not accepted:
            pytest.fail(
                f"new finding {finding.describe()}; if you accept it, add "
                f'"{finding_id}" to the findings baseline',
                pytrace=False,
            )

    return report


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    failure = call.excinfo.value if call.excinfo else None
    if isinstance(failure, TargetWedged):
        # Every later call would wait and fail the same way: stop here, with the reason
        # (pytest says "Interrupted: ..." and exits 2).
        item.session.shouldstop = WEDGED
    if isinstance(failure, ContractViolation):
        # Before the report is made: it copies the properties, and JUnit XML reads them there.
        item.user_properties.extend(violation_properties(failure, _secrets_of(item)))
    report = yield
    _redact_report(report, _secrets_of(item))
    return report


def _redact_report(report: pytest.TestReport, secrets: Sequence[str]) -> None:
    """Keep the key out of what pytest prints and writes to JUnit: a failure's traceback shows
    the arguments of every frame (``params = {'x-api-key': ...}``), and captured output may
    echo it, in any encoding ``redact`` knows."""
    if not secrets:
        return
    if report.longrepr is not None:
        shown = str(report.longrepr)
        redacted = redact(shown, secrets)
        if redacted != shown:
            report.longrepr = redacted
    report.sections = [(title, redact(text, secrets)) for title, text in report.sections]


def violation_properties(
    violation: ContractViolation, secrets: Sequence[str]
) -> list[tuple[str, str]]:
    """A broken contract as ``flowprobe_violation_*`` properties, with secrets as ``***``."""
    return [
        (VIOLATION_PROPERTY + name, _scrubbed(str(getattr(violation, name)), secrets))
        for name in VIOLATION_FIELDS
    ]


def _scrubbed(text: str, secrets: Sequence[str]) -> str:
    return str(scrub_value(redact(text, secrets)))


def _secrets_of(item: pytest.Item) -> tuple[str, ...]:
    # The target the test used, which a conftest may have built, and the configured key.
    target = (getattr(item, "funcargs", None) or {}).get("flowprobe_target")
    used = target.secrets() if isinstance(target, Target) else ()
    settings = settings_of(item.config)
    key = settings.get("api_key")
    return (*used, *([str(key)] if key else []), *_tweak_secrets(settings.get("tweaks") or {}))


def _tweak_secrets(tweaks: Any) -> tuple[str, ...]:
    """The values under secret-named fields of the user's tweaks (a provider key in a model
    choice): a server that echoes a request body must not carry them into a report."""
    if isinstance(tweaks, dict):
        found: list[str] = []
        for name, value in tweaks.items():
            if is_secret_name(str(name)) and isinstance(value, str) and value:
                found.append(value)
            else:
                found.extend(_tweak_secrets(value))
        return tuple(found)
    if isinstance(tweaks, list):
        return tuple(secret for item in tweaks for secret in _tweak_secrets(item))
    return ()


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    findings = config.stash.get(FINDINGS_KEY, [])
    note = config.stash.get(BASELINE_NOTE_KEY, None)
    if findings or note:
        terminalreporter.section("flowprobe findings")
    if note:
        terminalreporter.line(f"findings baseline: {note}")
    if findings:
        # The same finding seen by many tests is one line, with how many saw it.
        seen = collections.Counter(finding.describe() for finding in findings)
        for line, tests in seen.items():
            terminalreporter.line(line if tests == 1 else f"{line} (seen by {tests} tests)")
