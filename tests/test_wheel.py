"""The wheel users install carries everything the package reads at run time.

Built with hatchling (the build backend), unpacked, and imported from another folder ahead of
this checkout, so a file that only the source tree has would be missed here, not by a user.
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytest.importorskip("hatchling", reason="building the wheel needs hatchling (the dev extra)")


@pytest.fixture(scope="module")
def unpacked(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "hatchling", "build", "-t", "wheel", "-d", str(out)],
        cwd=ROOT,
        check=True,
        capture_output=True,
        timeout=120,
    )
    (wheel,) = out.glob("flowprobe-*.whl")
    site = out / "site"
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
