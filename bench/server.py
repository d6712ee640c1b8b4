"""The processes under test: a production fpmreg (gunicorn) and an nginx serving files."""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command

from bench import ROOT
from fpmreg.server.cli import alembic_config
from tests.support.live import LiveServer, free_port

NGINX = shutil.which("nginx", path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin") or "nginx"


def sqlite_database(directory: Path) -> str:
    """The URL of a new SQLite database in `directory`, migrated to the newest revision."""
    url = f"sqlite:///{directory / 'fpmreg-bench.db'}"
    command.upgrade(alembic_config(url), "head")
    return url


def production_env(publishes_per_minute: int = 10_000) -> dict[str, str]:
    """What an operator sets in production, plus a publish limit the seeding will not hit."""
    return {
        "FPMREG_ENV": "production",
        "FPMREG_SECRET_KEY": secrets.token_urlsafe(36),  # 48 characters
        "FPMREG_PUBLISHES_PER_MINUTE": str(publishes_per_minute),
        "PYTHONPATH": os.pathsep.join(
            p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p
        ),
    }


@contextmanager
def production_registry(
    workdir: Path, *, workers: int = 2, env: dict[str, str] | None = None
) -> Iterator[LiveServer]:
    """`python -m fpmreg.server run --workers N --no-migrate` as in production; always stopped.

    LiveServer sets FPMREG_DATABASE_URL, FPMREG_STORAGE_PATH and FPMREG_BASE_URL; the
    environment from `production_env` replaces its FPMREG_ENV=test, and `env` (say
    `{"FPMREG_METADATA_CACHE": "false"}` for a variant) goes on top.
    """
    environment = {**production_env(), **(env or {})}
    server = LiveServer(sqlite_database(workdir), workdir, workers=workers, env=environment)
    try:
        server.start()
        yield server
    finally:
        server.stop()


def log_tail(path: Path, lines: int = 40) -> str:
    """The end of a log file, for error messages."""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return f"(no log at {path})"


# Which gunicorn worker answered a connection ----------------------------------


def worker_pids(master_pid: int) -> list[int]:
    """The gunicorn master's child processes (its workers), from /proc."""
    children: set[int] = set()
    for task in Path(f"/proc/{master_pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            children.update(int(p) for p in (task / "children").read_text().split())
    return sorted(children)


def _hex_port(port: int) -> str:
    return f"{port:04X}"


def _server_socket_inode(server_port: int, client_port: int) -> str | None:
    """The inode of the server side of the loopback connection from `client_port`."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError), open(table) as rows:
            next(rows, None)
            for row in rows:
                cols = row.split()
                local, remote, inode = cols[1], cols[2], cols[9]
                if (
                    local.endswith(":" + _hex_port(server_port))
                    and remote.endswith(":" + _hex_port(client_port))
                    and inode != "0"
                ):
                    return inode
    return None


def serving_pid(sock: socket.socket, pids: list[int]) -> int | None:
    """Which of `pids` holds the accepted end of the connected `sock` (Linux only)."""
    client_port = sock.getsockname()[1]
    server_port = sock.getpeername()[1]
    inode = _server_socket_inode(server_port, client_port)
    if inode is None:
        return None
    wanted = f"socket:[{inode}]"
    for pid in pids:
        for fd in Path(f"/proc/{pid}/fd").glob("*"):
            with contextlib.suppress(OSError):
                if os.readlink(fd) == wanted:
                    return pid
    return None


# How much memory a worker holds --------------------------------------------------


def memory_kib(pid: int) -> dict[str, int]:
    """`VmRSS` (resident now) and `VmHWM` (resident at the peak) of `pid`, in KiB."""
    found: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            found[key] = int(value.split()[0])
    return found


def reset_peak_rss(pid: int) -> bool:
    """Set `pid`'s `VmHWM` back to its current RSS (Linux >= 4.0); False if refused."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


# nginx -------------------------------------------------------------------------

NGINX_CONF = """\
daemon off;
master_process on;
worker_processes {workers};
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
{user}
events {{
    worker_connections 4096;
}}

http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_timeout 65;
    # uvicorn never closes a keep-alive connection after N requests; nor does this.
    keepalive_requests 1000000;
    types {{ }}
    default_type application/json;
    client_body_temp_path {prefix}/tmp/body;
    proxy_temp_path {prefix}/tmp/proxy;
    fastcgi_temp_path {prefix}/tmp/fastcgi;
    uwsgi_temp_path {prefix}/tmp/uwsgi;
    scgi_temp_path {prefix}/tmp/scgi;

    server {{
        listen 127.0.0.1:{port};
        root {root};
        location / {{
            try_files $uri =404;
        }}
    }}
}}
"""


def _let_others_traverse(directory: Path) -> None:
    """Add o+x to `directory` and to its parents up to (not including) the temp folder."""
    top = Path(tempfile.gettempdir()).resolve()
    directory = directory.resolve()
    for path in (directory, *directory.parents):
        if path == top or top not in path.parents:
            break
        mode = path.stat().st_mode
        if not mode & stat.S_IXOTH:
            path.chmod(stat.S_IMODE(mode) | stat.S_IXOTH)


class Nginx:
    """nginx in the foreground serving files from `root` on a loopback port."""

    def __init__(self, prefix: Path, *, workers: int = 2) -> None:
        self.prefix = prefix
        self.root = prefix / "www"
        self.workers = workers
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.conf = prefix / "nginx.conf"
        self.log = prefix / "error.log"
        self.process: subprocess.Popen[bytes] | None = None

    def write_config(self) -> None:
        """Generate nginx.conf; every path nginx writes is inside `prefix`."""
        for sub in ("tmp", "www"):
            (self.prefix / sub).mkdir(parents=True, exist_ok=True)
        user = ""
        if os.geteuid() == 0:
            # As root, nginx drops its workers to `nobody`: they must reach the files.
            user = "user nobody nogroup;"
            _let_others_traverse(self.prefix)
        self.conf.write_text(
            NGINX_CONF.format(
                workers=self.workers, prefix=self.prefix, user=user, port=self.port, root=self.root
            )
        )

    def put(self, url_path: str, body: bytes) -> None:
        """Serve `body` at `url_path` (e.g. `/packages/ns/name`)."""
        target = self.root / url_path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(body)
        target.chmod(0o644)

    def start(self) -> Nginx:
        """Start nginx and wait until it accepts connections."""
        self.write_config()
        check = subprocess.run(
            [NGINX, "-t", "-p", str(self.prefix), "-c", str(self.conf), "-e", str(self.log)],
            capture_output=True,
            text=True,
            check=False,
        )
        if check.returncode != 0:
            raise RuntimeError(f"nginx refused its configuration:\n{check.stderr}")
        with (self.prefix / "nginx.out").open("ab") as out:
            self.process = subprocess.Popen(
                [NGINX, "-p", str(self.prefix), "-c", str(self.conf), "-e", str(self.log)],
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"nginx exited early:\n{log_tail(self.log)}")
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=1),
            ):
                return self
            time.sleep(0.05)
        raise RuntimeError(f"nginx did not start:\n{log_tail(self.log)}")

    def stop(self) -> None:
        """Stop nginx (fast shutdown), killing it if it lingers."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None

    def __enter__(self) -> Nginx:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def nginx_version() -> str:
    """`nginx/1.22.1`, or `missing`."""
    try:
        done = subprocess.run([NGINX, "-v"], capture_output=True, text=True, check=False)
    except OSError:
        return "missing"
    return done.stderr.strip().removeprefix("nginx version: ")
