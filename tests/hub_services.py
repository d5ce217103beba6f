"""Outside services for the team hub tests: a moto S3 server and a PostgreSQL 15 cluster.

Both are real processes on 127.0.0.1. PostgreSQL refuses to run as root, so when the tests
run as root (here and in CI) the cluster runs as the unprivileged user ``qa-pg`` (created
if missing) through ``runuser``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

PG_USER = "qa-pg"
PG_BIN_DIRS = ("/usr/lib/postgresql/15/bin", "/usr/local/bin", "/usr/bin")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_for_port(port: int, proc: subprocess.Popen[bytes] | None = None) -> None:
    for _ in range(300):
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"the service on port {port} exited ({proc.returncode})")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on port {port}")


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """A moto S3 server on 127.0.0.1 (its URL); fake credentials in the environment."""
    with running_moto() as url:
        yield url


@contextlib.contextmanager
def running_moto() -> Iterator[str]:
    """A moto S3 server on 127.0.0.1 while the block runs (its URL), fake credentials."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    saved = {k: os.environ.get(k) for k in _AWS_ENV}
    os.environ.update(_AWS_ENV)
    try:
        _wait_for_port(port, proc)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(10)
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def new_bucket(endpoint: str) -> str:
    """A fresh bucket on the test server (its name)."""
    import boto3

    name = f"qa-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket=name)
    return name


@dataclass
class Postgres:
    """A running test cluster: how to reach it, stop it and start it again."""

    data: Path
    port: int
    bin: Path

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{PG_USER}@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str) -> None:
        command = [str(self.bin / args[0]), *args[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", PG_USER, "--", *command]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def start(self) -> None:
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-l",
            str(self.data / "server.log"),
            "-o",
            f"-p {self.port} -k {self.data} -c listen_addresses=127.0.0.1 -c fsync=off",
            "-w",
            "start",
        )

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def new_database(self) -> str:
        """A fresh empty database (its URL)."""
        import psycopg

        name = f"hub_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return self.url(name)


def _pg_bin() -> Path | None:
    for folder in PG_BIN_DIRS:
        if (Path(folder) / "initdb").exists() and (Path(folder) / "pg_ctl").exists():
            return Path(folder)
    return None


def _ensure_user() -> None:
    if subprocess.run(["id", PG_USER], capture_output=True).returncode != 0:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", PG_USER],
            check=True,
        )


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    """A PostgreSQL cluster in a temporary directory, trust authentication on 127.0.0.1."""
    with running_postgres() as pg:
        yield pg


@contextlib.contextmanager
def running_postgres() -> Iterator[Postgres]:
    """A PostgreSQL cluster in a temporary directory while the block runs."""
    folder = _pg_bin()
    if folder is None:
        pytest.fail(  # pragma: no cover
            "PostgreSQL (initdb, pg_ctl) is not installed: .ci/run installs it"
        )
    # not under pytest's root-only temporary tree: the unprivileged user must reach it
    home = Path(tempfile.mkdtemp(prefix="qa-pg-"))
    home.chmod(0o755)
    data = home / "data"
    data.mkdir()
    if os.geteuid() == 0:
        _ensure_user()
        shutil.chown(data, PG_USER)
    pg = Postgres(data, free_port(), folder)
    try:
        pg._run("initdb", "-D", str(data), "-U", PG_USER, "--auth=trust", "-E", "UTF8")
        pg.start()
        yield pg
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):
            pg.stop("immediate")
        shutil.rmtree(home, ignore_errors=True)
