"""The wheel users install carries everything the package reads at run time.

Built with hatchling (the build backend), unpacked, and imported from another folder ahead of
this checkout, so a file that only the source tree has would be missed here, not by a user.
Then installed into a fresh virtual environment outside the checkout (its dependencies are
borrowed from this one through a .pth file) and run from an empty folder, as a user would.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytest.importorskip("hatchling", reason="building the wheel needs hatchling (the dev extra)")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "hatchling", "build", "-t", "wheel", "-d", str(out)],
        cwd=ROOT,
        check=True,
        capture_output=True,
        timeout=120,
    )
    (built,) = out.glob("flowprobe-*.whl")
    return built


@pytest.fixture(scope="module")
def unpacked(wheel: Path) -> Path:
    site = wheel.parent / "site"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)
    return site


def _run(site: Path, code: str, tmp_path: Path) -> str:
    """Run ``code`` with the unpacked wheel first on the path, from a folder of the user's."""
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_the_package_is_imported_from_the_wheel(unpacked: Path, tmp_path: Path) -> None:
    shown = _run(unpacked, "import flowprobe; print(flowprobe.__file__)", tmp_path)
    assert shown.startswith(str(unpacked)), shown


def test_contracts_flows_and_templates_are_read_from_the_wheel(
    unpacked: Path, tmp_path: Path
) -> None:
    code = """
from flowprobe import contracts
from flowprobe.resources import shipped
from importlib import resources
print(contracts.contracts_dir())
print(shipped("flows", what="reference flows"))
print(sorted(contracts.NAMES) == sorted(p.stem for p in contracts.contracts_dir().glob("*.json")))
print(resources.files("flowprobe").joinpath("samples/templates/run.sh.tmpl").is_file())
print(resources.files("flowprobe").joinpath("deploycheck/templates/report.html.j2").is_file())
print(resources.files("flowprobe").joinpath("py.typed").is_file())
from flowprobe.errors import SummaryFileError
from flowprobe.load.summary import LoadSummary
try:
    LoadSummary.from_json([])
except SummaryFileError as refused:  # the summary's schema was read from the wheel
    print("(the document must be an object)" in str(refused))
"""
    contracts_dir, flows_dir, *found = _run(unpacked, code, tmp_path).split()
    assert contracts_dir == str(unpacked / "flowprobe" / "contracts_data")
    assert flows_dir == str(unpacked / "flowprobe" / "flows_data")
    assert found == ["True", "True", "True", "True", "True"]


def test_every_module_in_the_wheel_imports(unpacked: Path, tmp_path: Path) -> None:
    code = r"""
import importlib, importlib.util, pkgutil, re, flowprobe
names = [m.name for m in pkgutil.walk_packages(flowprobe.__path__, "flowprobe.")]
names = [n for n in names if not n.endswith(".__main__")]  # those run a command
# Modules that import locust or gevent patch the standard library: a locust process's own.
patches = re.compile(r"^\s*(from|import) (locust|gevent)", re.M)
source = {n: open(importlib.util.find_spec(n).origin).read() for n in names}
names = [n for n in names if not patches.search(source[n])]
for name in names:
    importlib.import_module(name)
print(len(names))
"""
    assert int(_run(unpacked, code, tmp_path)) > 50


# -- installed into a fresh environment, run from an empty folder ----------------------------


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv outside the checkout with the wheel installed (no deps); its bin folder."""
    venv = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    # The dependencies, from this environment; its editable flowprobe is not on the path
    # (a .pth line adds a folder, not the .pth files inside it).
    (Path(site) / "borrowed-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    install = [sys.executable, "-m", "pip", "--python", str(python), "install", "-q"]
    subprocess.run([*install, "--no-deps", "--no-index", str(wheel)], check=True, timeout=300)
    return venv / "bin"


def _user_run(
    bin_dir: Path, args: list[str], folder: Path, **extra: str
) -> subprocess.CompletedProcess[str]:
    """``args`` run from ``folder`` with the fresh venv first on PATH and no flowprobe settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLOWPROBE_")}
    env.pop("VIRTUAL_ENV", None)
    env.pop("CI", None)
    env.update(PATH=f"{bin_dir}:/usr/bin:/bin", **extra)
    return subprocess.run(
        args, cwd=folder, env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_the_installed_wheel_is_the_one_run(installed: Path, tmp_path: Path) -> None:
    done = _user_run(
        installed, ["python", "-c", "import flowprobe; print(flowprobe.__file__)"], tmp_path
    )
    assert done.stdout.startswith(str(installed.parent)), done.stdout + done.stderr


def test_pytest_collects_the_shipped_suites_from_any_folder(
    installed: Path, tmp_path: Path
) -> None:
    command = ["python", "-m", "pytest", "--pyargs", "flowprobe.suites", "--collect-only", "-q"]
    done = _user_run(installed, [*command, "-p", "no:cacheprovider"], tmp_path)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    for module in sorted((ROOT / "suites").glob("test_*.py")):
        assert f"{module.name}::" in done.stdout, module.name
    assert " tests collected" in done.stdout
    assert list(tmp_path.iterdir()) == []  # collecting wrote nothing into the user's folder


def test_flowprobe_test_help_runs(installed: Path, tmp_path: Path) -> None:
    done = _user_run(installed, ["flowprobe", "test", "--help"], tmp_path)
    assert done.returncode == 0, done.stderr
    assert "--base-url" in done.stdout


def test_load_finds_its_shipped_locustfiles(installed: Path, tmp_path: Path) -> None:
    code = """
from flowprobe.load.launch import LaunchPlan
for plan in (LaunchPlan(), LaunchPlan(scenario="run", steps="1:1")):
    command = plan.command()
    print(command[command.index("-f") + 1])
"""
    done = _user_run(installed, ["python", "-c", code], tmp_path)
    assert done.returncode == 0, done.stderr
    for files in done.stdout.split():
        for locustfile in files.split(","):
            assert Path(locustfile).is_file(), locustfile
            assert locustfile.startswith(str(installed.parent)), locustfile


def test_load_in_ci_without_a_target_fails_for_that_reason(installed: Path, tmp_path: Path) -> None:
    done = _user_run(installed, ["flowprobe", "load", "-t", "1"], tmp_path, CI="true")
    assert done.returncode == 2
    assert done.stderr.startswith("flowprobe: error: no target: set FLOWPROBE_BASE_URL"), (
        done.stderr
    )
    assert not (tmp_path / ".flowprobe").exists()


def test_record_against_an_unreachable_target_keeps_the_cassettes(
    installed: Path, tmp_path: Path
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed once the block ends: nothing listens there
    cassettes = tmp_path / "cassettes" / "test_shape"
    cassettes.mkdir(parents=True)
    (cassettes / "recorded.yaml").write_text("interactions: []\n", encoding="utf-8")
    url = f"http://127.0.0.1:{port}"
    command = ["flowprobe", "record", "--base-url", url, "--flow", "f"]
    done = _user_run(installed, [*command, "--cassette-dir", "cassettes"], tmp_path)
    assert done.returncode != 0
    assert done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith(f"flowprobe: error: cannot reach {url}"), done.stderr
    assert [p.name for p in cassettes.iterdir()] == ["recorded.yaml"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cassettes"]
