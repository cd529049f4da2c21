"""flowprobe's pytest plugin as pytest sees it: small test files run through ``pytester``."""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest

# pytester forgets the modules a run imports; vcr (and yaml's C loader under it) must outlive
# the runs, or the cassette a run records cannot be read back by the next one.
import vcr  # noqa: F401

from loopback import RunAnswerServer, serving

pytest_plugins = ["pytester"]

KEY = "lf-plugin-key-never-reported-7"
LIVE_ENV = {"FLOWPROBE_MODE": "live", "FLOWPROBE_BASE_URL": "http://127.0.0.1:9"}


@pytest.fixture(autouse=True)
def no_flowprobe_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The runs below see only the settings each test gives them."""
    for name in [n for n in os.environ if n.startswith("FLOWPROBE_")]:
        monkeypatch.delenv(name)


def project(pytester: pytest.Pytester, table: str = "", *, replay_target: bool = False) -> None:
    """A project root: pyproject.toml with ``[tool.flowprobe]``, and a recorded target."""
    pytester.makepyprojecttoml(f"[tool.flowprobe]\n{table}")
    if replay_target:
        folder = pytester.mkdir("cassettes")
        target = {"base_url": "http://127.0.0.1:9", "flow": "f"}
        (folder / "target.json").write_text(json.dumps(target), encoding="utf-8")


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest("-p", "no:cacheprovider", "-rs", *args)


def set_env(monkeypatch: pytest.MonkeyPatch, **env: str) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)


class TestLiveOnlyTests:
    SOURCE = """
        import pytest

        @pytest.mark.flowprobe_live(reason="it measures concurrency")
        def test_live_only(flowprobe_target):
            pass

        def test_suite_test(flowprobe_target):
            pass
    """

    def test_replay_skips_them_with_their_reason(self, pytester: pytest.Pytester) -> None:
        project(pytester, replay_target=True)
        pytester.makepyfile(self.SOURCE)
        result = run(pytester)
        result.assert_outcomes(passed=1, skipped=1)
        result.stdout.fnmatch_lines(
            ["SKIPPED *needs a live target (it measures concurrency); replay mode"]
        )

    def test_live_mode_runs_them(
        self, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        project(pytester, 'flow = "f"')
        set_env(monkeypatch, **LIVE_ENV)
        pytester.makepyfile(self.SOURCE)
        run(pytester).assert_outcomes(passed=2)


class TestFindingsBaseline:
    SOURCE = """
        def test_an_accepted_finding(flowprobe_finding):
            flowprobe_finding("empty-upload-accepted", "201 for an empty file")

        def test_a_new_finding(flowprobe_finding):
            flowprobe_finding("traceback-in-error-event", "seen in an error event")
    """

    def test_an_accepted_finding_passes_and_a_new_one_fails(
        self, pytester: pytest.Pytester
    ) -> None:
        project(pytester, 'findings_baseline = "accepted.json"')
        accepted = {"empty-upload-accepted": "Langflow 1.13 does this"}
        (pytester.path / "accepted.json").write_text(json.dumps(accepted), encoding="utf-8")
        pytester.makepyfile(self.SOURCE)
        result = run(pytester)
        result.assert_outcomes(passed=1, failed=1)
        assert result.ret == pytest.ExitCode.TESTS_FAILED
        result.stdout.fnmatch_lines(
            [
                "*new finding traceback-in-error-event [[]NEW[]]*add*to the findings baseline",
                "*= flowprobe findings =*",
                "empty-upload-accepted [[]accepted (in baseline)[]]*",
                "traceback-in-error-event [[]NEW[]]*",
            ]
        )

    def test_without_a_baseline_the_shipped_one_accepts_langflow_s_known_findings(
        self, pytester: pytest.Pytester
    ) -> None:
        project(pytester)
        pytester.makepyfile(self.SOURCE)
        result = run(pytester)
        result.assert_outcomes(passed=2)
        result.stdout.fnmatch_lines(["traceback-in-error-event [[]accepted (in baseline)[]]*"])

    def test_an_empty_baseline_accepts_no_finding(self, pytester: pytest.Pytester) -> None:
        project(pytester, 'findings_baseline = "none.json"')
        (pytester.path / "none.json").write_text("{}", encoding="utf-8")
        pytester.makepyfile(self.SOURCE)
        run(pytester).assert_outcomes(failed=2)


class TestExitCodes:
    def test_a_broken_contract_is_a_test_failure(self, pytester: pytest.Pytester) -> None:
        project(pytester)
        pytester.makepyfile(
            """
            from flowprobe import checks

            def test_session_id(flowprobe_contracts):
                checks.fail("the answer carries the caller's session_id", path="$.session_id")
            """
        )
        result = run(pytester)
        result.assert_outcomes(failed=1)
        assert result.ret == 1
        result.stdout.fnmatch_lines(["E * the answer carries the caller's session_id"])

    @pytest.mark.parametrize(
        ("env", "message"),
        [
            (
                {**LIVE_ENV, "FLOWPROBE_BASE_URL": "not-a-url", "FLOWPROBE_FLOW": "f"},
                "flowprobe: base URL 'not-a-url' is not an http(s) URL with a host; *",
            ),
            (LIVE_ENV, "flowprobe: no target: set FLOWPROBE_FLOW *"),
            (
                {"FLOWPROBE_MODE": "replay"},
                "flowprobe: replay mode needs recorded cassettes, and */target.json is missing*",
            ),
        ],
        ids=["malformed-url", "no-flow", "no-recorded-target"],
    )
    def test_unusable_target_settings_end_the_session_with_2(
        self,
        pytester: pytest.Pytester,
        monkeypatch: pytest.MonkeyPatch,
        env: dict[str, str],
        message: str,
    ) -> None:
        project(pytester)
        set_env(monkeypatch, **env)
        pytester.makepyfile(
            """
            def test_a(flowprobe_client):
                pass

            def test_b(flowprobe_target):
                pass
            """
        )
        result = run(pytester)
        assert result.ret == 2
        result.assert_outcomes()  # the session stops before any test runs
        output = result.stdout.lines + result.stderr.lines
        # One sentence, once (the header names the problem too): no error per test.
        said = [line for line in output if line.startswith("!") and "flowprobe: " in line]
        assert len(said) == 1
        result.stdout.fnmatch_lines([f"! *Exit: {message} !"])
        assert not [line for line in output if "Traceback" in line or line.startswith("E ")]

    def test_an_unusable_setting_is_a_usage_error(
        self, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # Read before collection: pytest's own usage error (exit 4), one line.
        project(pytester)
        monkeypatch.setenv("FLOWPROBE_MODE", "sideways")
        pytester.makepyfile("def test_a(): pass")
        result = run(pytester)
        assert result.ret == pytest.ExitCode.USAGE_ERROR
        assert result.stderr.lines[0] == (
            "ERROR: flowprobe: FLOWPROBE_MODE='sideways' is not one of: live, replay, record"
        )
        assert "Traceback" not in result.stderr.str()


class TestSettingsPrecedence:
    SOURCE = """
        def test_timeout(flowprobe_settings):
            found = (flowprobe_settings.get("timeout"), flowprobe_settings.describe("timeout"))
            assert found == ({value}, {source!r})
    """

    @pytest.mark.parametrize(
        ("layers", "value", "source"),
        [
            ({"option", "env", "pyproject"}, 4.0, "command line"),
            ({"env", "pyproject"}, 3.0, "environment"),
            ({"pyproject"}, 2.0, "pyproject.toml [tool.flowprobe]"),
            (set(), 60.0, "default"),
        ],
        ids=["option", "env", "pyproject", "default"],
    )
    def test_option_over_env_over_pyproject_over_default(
        self,
        pytester: pytest.Pytester,
        monkeypatch: pytest.MonkeyPatch,
        layers: set[str],
        value: float,
        source: str,
    ) -> None:
        project(pytester, "timeout = 2" if "pyproject" in layers else "")
        if "env" in layers:
            monkeypatch.setenv("FLOWPROBE_TIMEOUT", "3")
        pytester.makepyfile(self.SOURCE.format(value=value, source=source))
        args = ["--flowprobe-timeout=4"] if "option" in layers else []
        run(pytester, *args).assert_outcomes(passed=1)

    def test_a_fresh_interpreter_loads_the_plugin_from_its_entry_point(
        self, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # A subprocess: only what is installed and in its environment reaches the settings.
        project(pytester, "timeout = 2")
        monkeypatch.setenv("FLOWPROBE_TIMEOUT", "3")
        pytester.makepyfile(self.SOURCE.format(value=3.0, source="environment"))
        result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
        result.assert_outcomes(passed=1)
        result.stdout.fnmatch_lines(["flowprobe: mode replay, target no target (*)"])


def junit_properties(path: Path) -> dict[str, dict[str, str]]:
    """``{test name: {property: value}}`` of a JUnit XML report."""
    cases = ET.parse(path).getroot().iter("testcase")  # noqa: S314 (a report this test wrote)
    return {
        case.attrib["name"]: {p.attrib["name"]: p.attrib["value"] for p in case.iter("property")}
        for case in cases
    }


class TestViolationProperties:
    SOURCE = """
        from flowprobe.errors import ContractViolation

        def test_broken(flowprobe_client):
            raise ContractViolation(
                "the answer carries the caller's session_id",
                path="$.session_id",
                expected="s-1",
                received=f"{flowprobe_client.target.api_key} and sk-abcdefghijklmnop",
            )

        def test_broken_before_any_target(flowprobe_settings):
            raise ContractViolation("no key", expected=flowprobe_settings.get("api_key"))

        def test_plain_failure(flowprobe_target):
            assert False

        def test_passes(flowprobe_target):
            pass
    """

    def test_a_broken_contract_becomes_junit_properties_without_the_key(
        self, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        project(pytester, 'flow = "f"')
        set_env(monkeypatch, **LIVE_ENV, FLOWPROBE_API_KEY=KEY)
        pytester.makepyfile(self.SOURCE)
        result = run(pytester, "--junitxml=report.xml")
        result.assert_outcomes(passed=1, failed=3)
        assert result.ret == 1
        properties = junit_properties(pytester.path / "report.xml")
        assert properties["test_broken"] == {
            "flowprobe_violation_title": "the answer carries the caller's session_id",
            "flowprobe_violation_path": "$.session_id",
            "flowprobe_violation_expected": "s-1",
            "flowprobe_violation_received": "*** and ***",
        }
        assert properties["test_broken_before_any_target"]["flowprobe_violation_expected"] == "***"
        assert properties["test_plain_failure"] == {}
        assert properties["test_passes"] == {}
        assert all(KEY not in v for props in properties.values() for v in props.values())

    def test_the_replayed_target_and_the_configured_key_are_both_redacted(
        self, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        project(pytester, replay_target=True)
        monkeypatch.setenv("FLOWPROBE_API_KEY", KEY)
        pytester.makepyfile(
            """
            from flowprobe.errors import ContractViolation

            def test_broken(flowprobe_target, flowprobe_settings):
                key = flowprobe_settings.get("api_key")
                raise ContractViolation("t", received=f"{flowprobe_target.api_key} {key}")
            """
        )
        run(pytester, "--junitxml=report.xml").assert_outcomes(failed=1)
        received = junit_properties(pytester.path / "report.xml")["test_broken"]
        assert received["flowprobe_violation_received"] == "*** ***"


# -- cassettes: what gets recorded, matched and scrubbed, and a user's own settings ----------


@pytest.fixture
def server() -> Iterator[RunAnswerServer]:
    with serving(RunAnswerServer()) as httpd:
        yield httpd


CALL = """
    from flowprobe.wire.client import run_body

    def test_call(flowprobe_client):
        tweaks = {{"OpenAI-1": {{"api_key": "sk-recorded-never-0123456789"}}}}
        body = run_body(input_value={text!r}, tweaks=tweaks)
        assert flowprobe_client.run(body, params={{"x-api-key": "{key}"}}).status == 200
"""


def call_file(pytester: pytest.Pytester, text: str) -> None:
    pytester.makepyfile(test_calls=CALL.format(text=text, key=KEY))


@pytest.fixture
def recorded(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, server: RunAnswerServer
) -> RunAnswerServer:
    """One call recorded through the plugin into cassettes/test_calls/test_call.yaml."""
    project(pytester, 'flow = "f"')
    set_env(
        monkeypatch,
        FLOWPROBE_MODE="record",
        FLOWPROBE_BASE_URL=server.url,
        FLOWPROBE_API_KEY=KEY,
    )
    call_file(pytester, "hello")
    run(pytester).assert_outcomes(passed=1)
    assert len(server.received) == 1
    monkeypatch.setenv("FLOWPROBE_MODE", "replay")
    return server


class TestCassettes:
    def test_a_recorded_call_keeps_no_secret_and_replays(
        self, pytester: pytest.Pytester, recorded: RunAnswerServer
    ) -> None:
        text = (pytester.path / "cassettes/test_calls/test_call.yaml").read_text("utf-8")
        assert KEY not in text
        assert "sk-recorded-never" not in text
        run(pytester).assert_outcomes(passed=1)
        assert len(recorded.received) == 1  # the replay never reached the server

    def test_a_different_body_does_not_replay(
        self, pytester: pytest.Pytester, recorded: RunAnswerServer
    ) -> None:
        call_file(pytester, "something else")
        result = run(pytester)
        result.assert_outcomes(failed=1)
        result.stdout.fnmatch_lines(["*CannotOverwriteExistingCassetteException*"])
        assert len(recorded.received) == 1

    def test_a_users_vcr_config_overrides_flowprobes(
        self, pytester: pytest.Pytester, recorded: RunAnswerServer
    ) -> None:
        pytester.makeconftest(
            """
            import pytest

            @pytest.fixture
            def vcr_config(vcr_config):
                return {**vcr_config, "match_on": ["method", "path"]}
            """
        )
        call_file(pytester, "something else")
        run(pytester).assert_outcomes(passed=1)  # bodies are no longer matched
        assert len(recorded.received) == 1

    def test_a_users_vcr_cassette_dir_overrides_flowprobes(
        self, pytester: pytest.Pytester, recorded: RunAnswerServer
    ) -> None:
        pytester.makeconftest(
            """
            import pytest

            @pytest.fixture(scope="module")
            def vcr_cassette_dir():
                return "elsewhere"
            """
        )
        result = run(pytester)
        result.assert_outcomes(failed=1)
        result.stdout.fnmatch_lines(["*elsewhere/test_call.yaml*"])


class TestCassetteSettings:
    SOURCE = """
        import pytest

        def test_suite_test(vcr, vcr_config, flowprobe_target, flowprobe_session_cassette):
            with flowprobe_session_cassette("facts") as session:
                found = [(c.record_mode, c.allow_playback_repeats) for c in (vcr, session)]
            assert found == [({mode!r}, {repeats}), ({mode!r}, {repeats})]
            assert vcr._path.endswith("cassettes/test_suite/test_suite_test.yaml")
            assert session._path.endswith("cassettes/_session/facts.yaml")
            assert "flowprobe_body" in vcr_config["match_on"]

        @pytest.mark.vcr
        def test_not_a_suite_test(vcr_config, vcr_cassette_dir):
            assert vcr_config == {{}}
            assert vcr_cassette_dir.endswith("cassettes/test_suite")
    """

    @pytest.mark.parametrize(
        ("env", "mode"),
        [({"FLOWPROBE_MODE": "replay"}, "none"), ({"FLOWPROBE_MODE": "record"}, "new_episodes")],
        ids=["replay-only-by-default", "record"],
    )
    def test_tests_and_session_share_flowprobe_vcr_config(
        self,
        pytester: pytest.Pytester,
        monkeypatch: pytest.MonkeyPatch,
        env: dict[str, str],
        mode: str,
    ) -> None:
        project(pytester, replay_target=True)
        set_env(monkeypatch, **env, FLOWPROBE_BASE_URL="http://127.0.0.1:9", FLOWPROBE_FLOW="f")
        pytester.makepyfile(test_suite=self.SOURCE.format(mode=mode, repeats=False))
        run(pytester).assert_outcomes(passed=2)

    def test_a_users_flowprobe_vcr_config_reaches_both(
        self, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        project(pytester, replay_target=True)
        pytester.makeconftest(
            """
            import pytest

            @pytest.fixture(scope="session")
            def flowprobe_vcr_config(flowprobe_vcr_config):
                return {**flowprobe_vcr_config, "allow_playback_repeats": True}
            """
        )
        pytester.makepyfile(test_suite=self.SOURCE.format(mode="none", repeats=True))
        run(pytester).assert_outcomes(passed=2)


class TestReplayTarget:
    """A user's own recordings replay with nothing but the cassette folder."""

    def test_a_recording_of_any_tests_writes_target_json_that_replays_them(
        self,
        pytester: pytest.Pytester,
        monkeypatch: pytest.MonkeyPatch,
        recorded: RunAnswerServer,
    ) -> None:
        stored = json.loads((pytester.path / "cassettes/target.json").read_text("utf-8"))
        assert stored == {"base_url": recorded.url, "flow": "f"}
        project(pytester)  # no flow in [tool.flowprobe] any more
        monkeypatch.delenv("FLOWPROBE_BASE_URL")
        monkeypatch.delenv("FLOWPROBE_API_KEY")
        result = run(pytester)
        result.assert_outcomes(passed=1)
        result.stdout.fnmatch_lines([f"flowprobe: mode replay, target {recorded.url}/*"])
        assert len(recorded.received) == 1  # replayed, not sent

    @pytest.mark.parametrize(
        ("text", "said"),
        [
            (None, "target.json is missing"),
            ("{not json", "target.json is not readable JSON"),
            ('{"flow": "f"}', "must be a JSON object with the recorded base_url and flow"),
            ("[]", "must be a JSON object with the recorded base_url and flow"),
        ],
        ids=["missing", "not-json", "no-base-url", "not-an-object"],
    )
    def test_a_missing_or_broken_target_json_is_one_line_and_exit_2(
        self, pytester: pytest.Pytester, text: str | None, said: str
    ) -> None:
        project(pytester)
        if text is not None:
            pytester.mkdir("cassettes")
            (pytester.path / "cassettes/target.json").write_text(text, encoding="utf-8")
        call_file(pytester, "hello")
        result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
        assert result.ret == 2
        output = result.stdout.str() + result.stderr.str()
        assert said in output
        for crash in ("INTERNALERROR", "KeyError", "Traceback", "JSONDecodeError"):
            assert crash not in output


class TestRootdirSettings:
    def test_tests_run_from_another_folder_read_the_rootdir_s_pyproject(
        self, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
    ) -> None:
        project(pytester, "timeout = 2")
        test_file = pytester.makepyfile(
            TestSettingsPrecedence.SOURCE.format(
                value=2.0, source="pyproject.toml [tool.flowprobe]"
            )
        )
        elsewhere = tmp_path / "elsewhere"
        elsewhere.mkdir()
        (elsewhere / "pyproject.toml").write_text("[tool.flowprobe]\ntimeout = 9\n", "utf-8")
        monkeypatch.chdir(elsewhere)
        run(pytester, "--rootdir", str(pytester.path), str(test_file)).assert_outcomes(passed=1)
