"""Run a real Neo4j Community server (embedded, Bolt only) for tests, without Docker.

The server is the Java launcher in this directory, built with Maven into ``target/``; the
Neo4j release is the one ``pom.xml`` names (the current release, which needs Java 21 or
newer: ``java_home`` finds such a JDK, so nothing has to be set by hand).

    with Neo4jServer() as server:
        driver = neo4j.GraphDatabase.driver(server.uri, auth=server.auth)

Run as a script it starts a server and keeps it up until Ctrl-C or SIGTERM:

    python tests/neo4j/server.py [--port 7687] [--data DIR]

With ``--data`` (``make neo4j DATA=DIR``) the database lives in DIR and is kept when the
server stops, so the next start finds it; without, it is a temporary directory, deleted.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import fcntl
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from neo4j import GraphDatabase

HERE = Path(__file__).resolve().parent
POM = HERE / "pom.xml"
# Another release than pom.xml's, e.g. 5.26.30 (`make test-neo4j-lts`), built beside it.
OTHER_RELEASE = "LESSONS_TEST_NEO4J_VERSION"
LAUNCHER_CLASS = "lessons.testing.Neo4jLauncher"
DEFAULT_PASSWORD = "lessons-test-password"  # Neo4j requires at least 8 characters
STARTUP_TIMEOUT = 120.0
JVM_DIRECTORY = Path("/usr/lib/jvm")  # where Debian's and Temurin's packages put JDKs
STOP_TIMEOUT = 30.0

# JVM flags: the `server.jvm.additional` defaults of Neo4j 5.x's conf/neo4j.conf that matter
# here, with a bounded heap. Left out on purpose: -XX:+AlwaysPreTouch (would commit the whole
# heap up front), -XX:+TrustFinalNonStaticFields (neo4j.conf says to disable it when embedded)
# and the TLS / profiling flags. With `fast_start` (tests), -XX:TieredStopAtLevel=1 (C1 JIT
# only) cuts the CPU spent starting up from ~12 s to ~7 s; test workloads are too short to miss
# C2, benchmarks are not.
FAST_START_FLAGS = ["-XX:TieredStopAtLevel=1"]
JVM_FLAGS = [
    "-Xms256m",
    "-XX:+UseG1GC",
    "-XX:-OmitStackTraceInFastThrow",
    "-XX:+DisableExplicitGC",
    "-Djdk.nio.maxCachedBufferSize=1024",
    "-Dio.netty.tryReflectionSetAccessible=true",
    "-Dlog4j2.disable.jmx=true",
    "--add-opens=java.base/java.nio=ALL-UNNAMED",
    "--add-opens=java.base/java.io=ALL-UNNAMED",
    "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
    "--enable-native-access=ALL-UNNAMED",
]


def _java_major(home: Path) -> int:
    """The major version of the JDK at `home` (from its `release` file), 0 if unknown."""
    try:
        found = re.search(r'^JAVA_VERSION="(\d+)', (home / "release").read_text(), re.MULTILINE)
    except OSError:
        return 0
    return int(found.group(1)) if found else 0


def release() -> str | None:
    """The release to run when it is not pom.xml's ($LESSONS_TEST_NEO4J_VERSION), else None."""
    return os.environ.get(OTHER_RELEASE) or None


def java_home() -> Path:
    """A JDK to build and run the server with: $JAVA_HOME if the release runs on it, else
    the newest such JDK installed under /usr/lib/jvm. Neo4j 5.x runs on Java 17 to 21,
    2025.01 and later on 21 or newer."""
    other = release()
    lowest, highest = (17, 21) if other and other.startswith("5.") else (21, 999)
    installed = sorted(JVM_DIRECTORY.glob("*"), key=_java_major, reverse=True)
    given = [Path(os.environ["JAVA_HOME"])] if "JAVA_HOME" in os.environ else []
    for home in [*given, *installed]:
        if lowest <= _java_major(home) <= highest and (home / "bin" / "java").exists():
            return home
    raise RuntimeError(
        f"the Neo4j test server needs Java {lowest} to {highest}, and none was found in "
        f"$JAVA_HOME or {JVM_DIRECTORY}: install one (a Temurin JDK, or Debian's "
        "openjdk-21-jdk) or point JAVA_HOME at it"
    )


def build_launcher() -> Path:
    """Build the launcher with Maven unless ``target/`` is up to date; return ``target/``."""
    sources = [POM, *HERE.joinpath("src").rglob("*.java")]
    with open(HERE / ".build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # parallel test workers build only once
        other = release()
        target = HERE / (f"target-{other}" if other else "target")
        stamp = target / "build.ok"
        if stamp.exists() and all(src.stat().st_mtime <= stamp.stat().st_mtime for src in sources):
            return target
        command = ["mvn", "-B", "-q", "-Dstyle.color=never", "-f", str(POM), "clean", "package"]
        if other:
            command += [f"-Dneo4j.version={other}", f"-Dbuild.dir={target.name}"]
            command += ["-Dmaven.compiler.release=17"] if other.startswith("5.") else []
        try:
            result = subprocess.run(
                command,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                env={**os.environ, "JAVA_HOME": str(java_home())},
            )
        except FileNotFoundError as error:
            raise RuntimeError("Maven (mvn) is needed to build the Neo4j test server") from error
        if result.returncode != 0:
            raise RuntimeError(
                f"{' '.join(command)} failed with exit code {result.returncode}:\n"
                + _tail_text(result.stdout)
            )
        stamp.touch()
    return target


# Server settings beyond the defaults, the same as docker-compose.yml gives a production Neo4j:
# merge the vector indexes' Lucene segments sooner (Neo4j's default factor is 50), so vector
# queries stay fast as many small imports add to them (docs/benchmarks.md).
SERVER_SETTINGS = {"internal.dbms.index.vector.standard_merge_factor": "4"}


class Neo4jServer:
    """A Neo4j server in its own JVM, on a loopback port.

    ``password=None`` disables auth; otherwise user ``neo4j`` has that password. ``settings``
    go to the server's ``neo4j.conf`` (default: ``SERVER_SETTINGS``). ``data_dir`` keeps the
    database there across stops and starts; by default it is a temporary directory, deleted
    on stop.
    """

    def __init__(
        self,
        password: str | None = DEFAULT_PASSWORD,
        port: int | None = None,
        *,
        heap: str = "1g",
        pagecache_mb: int = 128,
        fast_start: bool = True,
        settings: dict[str, str] | None = None,
        data_dir: Path | None = None,
    ):
        self.user = "neo4j"
        self.password = password
        self.port = port
        self.heap = heap
        self.pagecache_mb = pagecache_mb
        self.fast_start = fast_start
        self.settings = SERVER_SETTINGS if settings is None else settings
        self.uri = ""
        self._process: subprocess.Popen | None = None
        self._home: Path | None = None
        self._data_dir = data_dir

    @property
    def auth(self) -> tuple[str, str] | None:
        """Credentials for ``neo4j.GraphDatabase.driver``."""
        return (self.user, self.password) if self.password is not None else None

    def __enter__(self) -> Neo4jServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> Neo4jServer:
        """Start the JVM and return once Bolt answers ``RETURN 1``."""
        target = build_launcher()
        self.port = self.port or _free_port()
        self.uri = f"bolt://127.0.0.1:{self.port}"
        if self._data_dir is None:
            self._home = Path(tempfile.mkdtemp(prefix="lessons-neo4j-"))
        else:
            self._home = self._data_dir.resolve()
            self._home.mkdir(parents=True, exist_ok=True)
        self._home.joinpath("neo4j.conf").write_text(
            "".join(f"{key}={value}\n" for key, value in self.settings.items())
        )
        env = {
            **os.environ,
            "NEO4J_PARENT_PID": str(os.getpid()),
            "NEO4J_PAGECACHE_MB": str(self.pagecache_mb),
        }
        env.pop("NEO4J_PASSWORD", None)
        if self.password is not None:
            env["NEO4J_PASSWORD"] = self.password
        java = java_home() / "bin" / "java"
        command = [
            str(java), f"-Xmx{self.heap}", *JVM_FLAGS,
            *(FAST_START_FLAGS if self.fast_start else []),
            "-cp", f"{target / 'classes'}:{target / 'lib' / '*'}",
            LAUNCHER_CLASS, str(self._home), str(self.port),
        ]  # fmt: skip
        atexit.register(self.stop)
        with open(self._home / "jvm.log", "wb") as log:
            self._process = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                env=env, start_new_session=True,  # Ctrl-C reaches Python, which stops the JVM
            )  # fmt: skip
        try:
            self._wait_until_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """SIGTERM the JVM (clean shutdown), SIGKILL it after a timeout, delete temporary data."""
        process, self._process = self._process, None
        if process is not None:
            process.terminate()
            try:
                process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._home is not None and self._data_dir is None:
            shutil.rmtree(self._home, ignore_errors=True)
        self._home = None
        atexit.unregister(self.stop)

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        ready_line = f"NEO4J READY {self.uri}"
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(
                    f"Neo4j exited with code {self._process.returncode} before it was ready"
                    + self._logs()
                )
            if ready_line in (self._home / "jvm.log").read_text(errors="replace"):
                try:
                    with GraphDatabase.driver(self.uri, auth=self.auth) as driver:
                        driver.execute_query("RETURN 1")
                    return
                except Exception as error:  # not answering yet: retry until the deadline
                    last_error = error
            time.sleep(0.2)
        raise RuntimeError(
            f"Neo4j did not answer on {self.uri} within {STARTUP_TIMEOUT:.0f} s"
            f" (last driver error: {last_error!r})" + self._logs()
        )

    def _logs(self) -> str:
        parts = []
        for name in ("jvm.log", "logs/debug.log"):
            path = self._home / name
            if path.exists():
                parts.append(
                    f"\n--- {name} (tail) ---\n" + _tail_text(path.read_text(errors="replace"))
                )
        return "".join(parts)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _tail_text(text: str, lines: int = 40) -> str:
    return "\n".join(text.splitlines()[-lines:])


def main() -> None:
    """Start a server and keep it running until Ctrl-C or SIGTERM."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, help="Bolt port (default: a free one)")
    parser.add_argument("--data", type=Path, help="keep the database in DATA (default: deleted)")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # unwind so the server is stopped
    with Neo4jServer(port=args.port, data_dir=args.data) as server:
        print(server.uri, flush=True)
        print(f"user={server.user} password={server.password}", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            signal.pause()


if __name__ == "__main__":
    main()
