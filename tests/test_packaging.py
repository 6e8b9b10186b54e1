"""The editable install and the built wheel import the same package, `lessons`."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest
import yaml

import lessons.graph

from .conftest import REPO


def test_editable_install_maps_subpackages_to_top_level_folders() -> None:
    assert Path(lessons.graph.__file__).resolve() == REPO / "graph" / "__init__.py"


def vendored() -> list[tuple[str, str, str]]:
    """(package@version, file in the package, copied to) for each line of api/web/vendor.txt."""
    lines = (REPO / "api" / "web" / "vendor.txt").read_text().splitlines()
    return [tuple(line.split()) for line in lines if line and not line.startswith("#")]  # type: ignore[misc]


def test_every_vendored_front_end_file_is_in_the_repository_with_its_licence() -> None:
    for package, _, target in vendored():
        assert (REPO / target).is_file(), f"{target} of {package}: run `make vendor-web`"
    packages = {package for package, _, _ in vendored()}
    licensed = {package for package, file, _ in vendored() if file == "LICENSE"}
    assert packages == licensed


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
    web = "lessons/api/web/"
    assert {f"{web}templates/failure.html", f"{web}static/app.css", f"{web}static/graph.js"} <= set(
        names
    )
    served = [target for _, _, target in vendored() if target.startswith("api/web/")]
    assert served and {f"lessons/{t}" for t in served} <= set(names)
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


def test_docker_compose_runs_the_api_on_a_healthy_neo4j() -> None:
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    services = compose["services"]
    tested = re.search(
        r"<neo4j.version>(.+)</neo4j.version>", (REPO / "tests/neo4j/pom.xml").read_text()
    )
    assert tested is not None
    assert services["neo4j"]["image"] == f"neo4j:{tested.group(1)}-community"  # the one tested
    assert any(v.endswith(":/data") for v in services["neo4j"]["volumes"])
    assert "healthcheck" in services["neo4j"]
    api = services["api"]
    assert api["build"] == "."
    assert api["command"][0] == "serve"
    assert api["depends_on"]["neo4j"]["condition"] == "service_healthy"
    assert api["environment"]["LESSONS_STORE"].startswith("neo4j://neo4j:")
    assert "LESSONS_API_KEYS" in api["environment"]  # off loopback the API needs keys
    dockerfile = (REPO / "Dockerfile").read_text()
    for package in ("graph", "ingest", "api", "cli"):
        assert f"COPY {package} {package}" in dockerfile


def test_docker_compose_file_is_valid_where_a_compose_client_exists() -> None:
    """`docker-compose config` checks the file against the Compose schema (no engine needed);
    machines without the client rely on the structural test above."""
    client = shutil.which("docker-compose")
    if client is None:
        pytest.skip("docker-compose is not installed on this machine")
    env = {**os.environ, "NEO4J_PASSWORD": "test-password", "LESSONS_API_KEYS": "write:k"}
    result = subprocess.run(
        [client, "config", "-q"], cwd=REPO, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
