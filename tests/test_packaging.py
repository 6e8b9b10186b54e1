"""The editable install and the built wheel import the same package, `lessons`."""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import lessons.graph

from .conftest import REPO


def test_editable_install_maps_subpackages_to_top_level_folders() -> None:
    assert Path(lessons.graph.__file__).resolve() == REPO / "graph" / "__init__.py"


def test_wheel_holds_only_the_lessons_package_and_imports_the_same(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(REPO)],
        check=True,
    )
    (wheel,) = tmp_path.glob("lessons-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "lessons/graph/models.py" in names
    assert "lessons/graph/store/sqlite.py" in names
    assert "lessons/cli/main.py" in names
    assert all(n.startswith(("lessons/", "lessons-")) for n in names), names
    assert not any(n.startswith("lessons/tests") for n in names)

    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "-q",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
    )
    # -S: no site hooks, so the editable install cannot answer; dependencies come after the wheel.
    path = f"{target}:{sysconfig.get_paths()['purelib']}"
    probe = subprocess.run(
        [
            sys.executable,
            "-S",
            "-c",
            "import lessons.graph.models as m, lessons.cli.main; print(m.__file__)",
        ],
        env={"PYTHONPATH": path},
        capture_output=True,
        text=True,
        check=True,
    )
    assert probe.stdout.strip().startswith(str(target / "lessons" / "graph"))
