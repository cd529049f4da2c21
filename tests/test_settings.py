"""Tests for flowprobe.settings: precedence, defaults, choices, pyproject, secrets."""

from __future__ import annotations

from pathlib import Path

import pytest

from flowprobe.errors import SettingsError
from flowprobe.settings import DEFAULTS, SETTINGS, load_settings, read_pyproject

SECRET = "sk-settings-secret-0123456789"


def test_every_setting_has_a_flowprobe_env_var_and_option() -> None:
    for setting in SETTINGS:
        assert setting.env == "FLOWPROBE_" + setting.name.upper()
        assert setting.option == "--flowprobe-" + setting.name.replace("_", "-")


@pytest.mark.parametrize(
    ("name", "option", "env", "pyproject"),
    [
        ("base_url", "http://opt:1", "http://env:2", "http://toml:3"),
        ("flow", "flow-opt", "flow-env", "flow-toml"),
        ("auth", "bearer", "x-api-key", "bearer"),
        ("mode", "record", "replay", "live"),
        ("timeout", "1.5", "2.5", 3.5),
        ("cassette_dir", "opt-dir", "env-dir", "toml-dir"),
    ],
)
class TestPrecedence:
    """option > FLOWPROBE_* environment > [tool.flowprobe] > default, for several settings."""

    def test_option_beats_environment_and_pyproject(
        self, name: str, option: str, env: str, pyproject: object
    ) -> None:
        settings = load_settings(
            {name: option}, env={"FLOWPROBE_" + name.upper(): env}, pyproject={name: pyproject}
        )
        assert str(settings.get(name)) == str(_parsed(name, option))
        assert settings.describe(name) == "command line"

    def test_environment_beats_pyproject(
        self, name: str, option: str, env: str, pyproject: object
    ) -> None:
        settings = load_settings(
            {name: None}, env={"FLOWPROBE_" + name.upper(): env}, pyproject={name: pyproject}
        )
        assert str(settings.get(name)) == str(_parsed(name, env))
        assert settings.describe(name) == "environment"

    def test_pyproject_beats_default(
        self, name: str, option: str, env: str, pyproject: object
    ) -> None:
        settings = load_settings({}, env={}, pyproject={name: pyproject})
        assert str(settings.get(name)) == str(_parsed(name, pyproject))
        assert settings.describe(name) == "pyproject.toml [tool.flowprobe]"


def _parsed(name: str, raw: object) -> object:
    return float(str(raw)) if name == "timeout" else raw


def test_defaults_apply_when_no_layer_sets_a_value() -> None:
    settings = load_settings({}, env={}, pyproject={})
    for name, value in DEFAULTS.items():
        assert settings.get(name) == value
        assert settings.describe(name) == "default"
    assert settings.get("base_url") is None
    assert settings.get("api_key") is None


def test_an_empty_environment_variable_counts_as_unset() -> None:
    settings = load_settings({}, env={"FLOWPROBE_AUTH": ""}, pyproject={"auth": "bearer"})
    assert settings.get("auth") == "bearer"


def test_the_real_process_environment_is_read_by_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FLOWPROBE_FLOW", "from-os-environ")
    assert load_settings({}, pyproject={}).get("flow") == "from-os-environ"


def test_timeout_text_becomes_seconds() -> None:
    assert load_settings({}, env={"FLOWPROBE_TIMEOUT": "2.5"}, pyproject={}).get("timeout") == 2.5


@pytest.mark.parametrize("raw", ["0", "-1", "soon"])
def test_a_bad_timeout_in_the_environment_is_refused(raw: str) -> None:
    with pytest.raises(SettingsError, match="FLOWPROBE_TIMEOUT"):
        load_settings({}, env={"FLOWPROBE_TIMEOUT": raw}, pyproject={})


@pytest.mark.parametrize("raw", [0, -5, 0.0, True])
def test_a_bad_numeric_timeout_in_pyproject_is_refused(raw: float) -> None:
    # TOML gives numbers, not text: they must be checked all the same.
    with pytest.raises(SettingsError, match=r"timeout in \[tool\.flowprobe\]"):
        load_settings({}, env={}, pyproject={"timeout": raw})


def test_a_numeric_timeout_in_pyproject_is_accepted() -> None:
    assert load_settings({}, env={}, pyproject={"timeout": 7}).get("timeout") == 7


class TestModeDefault:
    def test_live_when_a_base_url_is_set(self) -> None:
        settings = load_settings(
            {}, env={"FLOWPROBE_BASE_URL": "http://127.0.0.1:7860"}, pyproject={}
        )
        assert settings.get("mode") == "live"

    def test_replay_without_a_base_url(self) -> None:
        assert load_settings({}, env={}, pyproject={}).get("mode") == "replay"

    def test_an_explicit_mode_wins_over_the_guess(self) -> None:
        settings = load_settings(
            {},
            env={"FLOWPROBE_BASE_URL": "http://127.0.0.1:7860", "FLOWPROBE_MODE": "replay"},
            pyproject={},
        )
        assert settings.get("mode") == "replay"


@pytest.mark.parametrize(
    ("variable", "value", "choices"),
    [
        ("FLOWPROBE_AUTH", "basic", ("x-api-key", "bearer")),
        ("FLOWPROBE_MODE", "x", ("live", "replay", "record")),
    ],
)
def test_an_unknown_choice_names_the_variable_and_the_choices(
    variable: str, value: str, choices: tuple[str, ...]
) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings({}, env={variable: value}, pyproject={})
    message = str(caught.value)
    assert variable in message
    assert repr(value) in message
    for choice in choices:
        assert choice in message


def test_an_unknown_choice_from_an_option_names_the_option() -> None:
    with pytest.raises(SettingsError, match=r"--flowprobe-mode='x' is not one of: live"):
        load_settings({"mode": "x"}, env={}, pyproject={})


def test_an_unknown_choice_in_pyproject_names_the_key() -> None:
    with pytest.raises(SettingsError, match=r"auth in \[tool\.flowprobe\]='basic'"):
        load_settings({}, env={}, pyproject={"auth": "basic"})


def test_unknown_pyproject_keys_are_named_with_the_known_ones() -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings({}, env={}, pyproject={"base_ulr": "http://x", "flow": "f"})
    message = str(caught.value)
    assert "base_ulr" in message
    assert "base_url" in message  # the known keys are listed, so the typo is easy to spot


class TestReadPyproject:
    def test_reads_the_table_and_turns_dashes_into_underscores(self, tmp_path: Path) -> None:
        (tmp_path / "pyproject.toml").write_text(
            '[tool.flowprobe]\nbase-url = "http://127.0.0.1:7860"\ntimeout = 5\n',
            encoding="utf-8",
        )
        assert read_pyproject(tmp_path) == {"base_url": "http://127.0.0.1:7860", "timeout": 5}

    def test_finds_the_nearest_file_above_the_start(self, tmp_path: Path) -> None:
        (tmp_path / "pyproject.toml").write_text(
            '[tool.flowprobe]\nflow = "above"\n', encoding="utf-8"
        )
        nested = tmp_path / "a" / "b"
        nested.mkdir(parents=True)
        assert read_pyproject(nested) == {"flow": "above"}

    def test_no_table_gives_nothing(self, tmp_path: Path) -> None:
        (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n', encoding="utf-8")
        assert read_pyproject(tmp_path) == {}

    def test_broken_toml_is_a_settings_error_naming_the_file(self, tmp_path: Path) -> None:
        broken = tmp_path / "pyproject.toml"
        broken.write_text("[tool.flowprobe\nbase_url = ", encoding="utf-8")
        with pytest.raises(SettingsError) as caught:
            read_pyproject(tmp_path)
        assert str(broken) in str(caught.value)
        assert "TOML" in str(caught.value)

    def test_a_table_that_is_not_a_table_is_refused(self, tmp_path: Path) -> None:
        (tmp_path / "pyproject.toml").write_text('[tool]\nflowprobe = "on"\n', encoding="utf-8")
        with pytest.raises(SettingsError, match=r"must be a table"):
            read_pyproject(tmp_path)

    def test_load_settings_reads_the_pyproject_of_the_working_directory(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        (tmp_path / "pyproject.toml").write_text(
            '[tool.flowprobe]\nflow = "from-toml"\n', encoding="utf-8"
        )
        monkeypatch.chdir(tmp_path)
        settings = load_settings({}, env={})
        assert settings.get("flow") == "from-toml"
        assert settings.describe("flow") == "pyproject.toml [tool.flowprobe]"


class TestTheKeyStaysSecret:
    def test_repr_hides_the_key(self) -> None:
        settings = load_settings({"api_key": SECRET}, env={}, pyproject={})
        assert settings.get("api_key") == SECRET
        assert SECRET not in repr(settings)
        assert SECRET not in str(settings)
        assert "'api_key': '***'" in repr(settings)

    def test_repr_of_settings_without_a_key_shows_none(self) -> None:
        assert "'api_key'" not in repr(load_settings({}, env={}, pyproject={}))

    @pytest.mark.parametrize(
        "env",
        [
            {"FLOWPROBE_MODE": "x"},
            {"FLOWPROBE_AUTH": "basic"},
            {"FLOWPROBE_TIMEOUT": "never"},
        ],
    )
    def test_error_messages_never_show_the_key(self, env: dict[str, str]) -> None:
        with pytest.raises(SettingsError) as caught:
            load_settings({}, env={"FLOWPROBE_API_KEY": SECRET, **env}, pyproject={})
        assert SECRET not in str(caught.value)

    def test_unknown_pyproject_keys_name_keys_not_values(self) -> None:
        with pytest.raises(SettingsError) as caught:
            load_settings({}, env={}, pyproject={"apikey": SECRET})
        assert SECRET not in str(caught.value)
        assert "apikey" in str(caught.value)


class TestBlankTarget:
    """A target variable set but blank (an unset CI secret) is an error, never "no target"."""

    @pytest.mark.parametrize("variable", ["FLOWPROBE_BASE_URL", "FLOWPROBE_FLOW"])
    @pytest.mark.parametrize("blank", ["", "  "])
    def test_a_blank_target_variable_is_an_error_naming_it(self, variable: str, blank: str) -> None:
        with pytest.raises(SettingsError, match=f"^{variable} is set but empty") as caught:
            load_settings({}, env={variable: blank}, pyproject={})
        assert "\n" not in str(caught.value)

    def test_both_blank_are_named_together(self) -> None:
        env = {"FLOWPROBE_BASE_URL": "", "FLOWPROBE_FLOW": ""}
        with pytest.raises(SettingsError, match="FLOWPROBE_BASE_URL and FLOWPROBE_FLOW are set"):
            load_settings({}, env=env, pyproject={})

    def test_an_option_given_over_a_blank_variable_is_used(self) -> None:
        options = {"base_url": "http://127.0.0.1:7860"}
        settings = load_settings(options, env={"FLOWPROBE_BASE_URL": ""}, pyproject={})
        assert settings.get("base_url") == "http://127.0.0.1:7860"

    def test_another_blank_variable_still_means_unset(self) -> None:
        settings = load_settings({}, env={"FLOWPROBE_FILE_FLOW": ""}, pyproject={})
        assert settings.get("file_flow") is None
