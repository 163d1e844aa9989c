"""A private Postgres server for the tests that need one (registered in tests/conftest.py).

The server is the machine's own (the Debian package ``postgresql``: ``initdb``, ``pg_ctl``
and ``postgres`` found through ``pg_config --bindir``, ``/usr/lib/postgresql/*/bin`` or the
PATH). It is made in a temporary folder (``initdb``, trust authentication), listens on
127.0.0.1 and a free port with its socket in that folder, runs without fsync, and is stopped
(``pg_ctl stop -m fast``) and removed when the session ends, or at exit should the session
not end cleanly. Postgres refuses to run as root: as root, the server runs as the
``postgres`` user the package creates, owning the folder.

Fixtures:
    postgres_url: the URL of a database of the session's server (session scoped).
    fresh_postgres_url: the URL of a database made for the test alone.

A test without the binaries is skipped, saying what to install. Only slow tests use these
(``@pytest.mark.slow``): starting the server takes about a second.
"""

from __future__ import annotations

import atexit
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from itertools import count
from pathlib import Path

import psycopg
import pytest

_TOOLS = ("initdb", "pg_ctl", "postgres")
_USER = "postgres"  # the server's superuser (initdb -U) and, as root, the system user
_SETTINGS = """
listen_addresses = '127.0.0.1'
port = {port}
unix_socket_directories = '{folder}'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 100
"""
_numbers = count(1)


def postgres_bindir() -> Path | None:
    """The folder of the server's binaries, or None where Postgres is not installed."""
    candidates: list[Path] = []
    if pg_config := shutil.which("pg_config"):
        done = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True)
        candidates.append(Path(done.stdout.strip()))
    candidates += [Path(found) for found in sorted(glob.glob("/usr/lib/postgresql/*/bin"))[::-1]]
    if initdb := shutil.which("initdb"):
        candidates.append(Path(initdb).resolve().parent)
    return next((c for c in candidates if all((c / tool).is_file() for tool in _TOOLS)), None)


class PrivatePostgres:
    """One Postgres server in a temporary folder, on 127.0.0.1 and a free port.

    Args:
        bindir: the folder of ``initdb``, ``pg_ctl`` and ``postgres``.

    Example::

        server = PrivatePostgres(postgres_bindir())
        server.start()
        url = server.create_database("fleet")  # postgresql://postgres@127.0.0.1:PORT/fleet
        server.stop()
    """

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.folder = Path(tempfile.mkdtemp(prefix="rulebridge-pg-"))
        self.data = self.folder / "data"
        self.port = 0
        self._as = _run_as()

    def _run(self, tool: str, *args: str) -> subprocess.CompletedProcess[str]:
        command = [*self._as, str(self.bindir / tool), *args]
        return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)

    def start(self) -> None:
        """Make the cluster and start the server (waiting until it accepts connections).

        Raises:
            RuntimeError: initdb or pg_ctl failed (with their output and the server's log).
        """
        if self._as:
            shutil.chown(self.folder, _USER, _USER)
        made = self._run("initdb", "-D", str(self.data), "-U", _USER, "-A", "trust", "-E",
                         "UTF8", "--locale=C", "--no-sync")  # fmt: skip
        if made.returncode:
            raise RuntimeError(f"initdb failed:\n{made.stdout}{made.stderr}")
        self.port = _free_port()
        with (self.data / "postgresql.conf").open("a", encoding="utf-8") as conf:
            conf.write(_SETTINGS.format(port=self.port, folder=self.folder))
        log = self.folder / "server.log"
        started = self._run("pg_ctl", "-D", str(self.data), "-l", str(log), "-w", "-t", "60",
                            "start")  # fmt: skip
        if started.returncode:
            text = log.read_text("utf-8", "replace") if log.exists() else ""
            raise RuntimeError(f"pg_ctl start failed:\n{started.stdout}{started.stderr}{text}")
        atexit.register(self.stop)

    def url(self, database: str = "postgres") -> str:
        """The URL of `database` on this server."""
        return f"postgresql://{_USER}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """Create the database `name` (letters, digits, underscores); its URL."""
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')  # a name the tests chose
        return self.url(name)

    def stop(self) -> None:
        """Stop the server (fast: sessions cut) and remove its folder; again does nothing."""
        if not self.folder.exists():
            return
        if (self.data / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")
        shutil.rmtree(self.folder, ignore_errors=True)


def _run_as() -> list[str]:
    """The command prefix that runs the server's tools as ``postgres`` when we are root."""
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam(_USER)
    except KeyError:
        pytest.skip(f"running as root and there is no {_USER!r} user for the Postgres server")
    runuser = shutil.which("runuser")
    if runuser:
        return [runuser, "-u", _USER, "--"]
    return ["setpriv", f"--reuid={_USER}", f"--regid={_USER}", "--init-groups", "--"]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PrivatePostgres]:
    """The session's private Postgres server (skipped where it is not installed)."""
    bindir = postgres_bindir()
    if bindir is None:
        pytest.skip(
            "Postgres is not installed (no initdb, pg_ctl and postgres in pg_config --bindir, "
            "/usr/lib/postgresql/*/bin or the PATH): apt-get install postgresql"
        )
    server = PrivatePostgres(bindir)
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def postgres_url(postgres_server: PrivatePostgres) -> str:
    """The URL of the session's database ``rulebridge`` on the private server."""
    return postgres_server.create_database("rulebridge")


@pytest.fixture
def fresh_postgres_url(postgres_server: PrivatePostgres) -> str:
    """The URL of a database of the private server made for this test alone."""
    return postgres_server.create_database(f"t{os.getpid()}_{next(_numbers)}_{time.time_ns()}")
