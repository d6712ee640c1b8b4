"""nginx running `deploy/nginx/fpmreg.conf` in the foreground on a loopback port."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time
from pathlib import Path

from tests.support.live import ROOT, free_port

NGINX = shutil.which("nginx", path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin")
TEMPLATE = ROOT / "deploy" / "nginx" / "fpmreg.conf"

MAIN_CONF = """\
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
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_timeout 65;
    keepalive_requests 1000000;
    client_body_temp_path {prefix}/tmp/body;
    proxy_temp_path {prefix}/tmp/proxy;
    fastcgi_temp_path {prefix}/tmp/fastcgi;
    uwsgi_temp_path {prefix}/tmp/uwsgi;
    scgi_temp_path {prefix}/tmp/scgi;
    {extra}
    include {prefix}/fpmreg.conf;
}}
"""


def render_template(*, listen: str, front_dir: Path, app: str, log_dir: Path) -> str:
    """`deploy/nginx/fpmreg.conf` with its four placeholders filled in."""
    text = TEMPLATE.read_text()
    for key, value in (
        ("@LISTEN@", listen),
        ("@FRONT_DIR@", str(front_dir)),
        ("@APP@", app),
        ("@LOG_DIR@", str(log_dir)),
    ):
        text = text.replace(key, value)
    return text


def let_others_traverse(directory: Path) -> None:
    """Add o+x to `directory` and its parents up to the temp folder (nginx's workers run
    as `nobody` when started by root)."""
    top = Path(tempfile.gettempdir()).resolve()
    directory = directory.resolve()
    for path in (directory, *directory.parents):
        if path == top or top not in path.parents:
            break
        mode = path.stat().st_mode
        if not mode & stat.S_IXOTH:
            path.chmod(stat.S_IMODE(mode) | stat.S_IXOTH)


class FrontNginx:
    """The front configuration serving `front_dir` and passing the rest to `app`."""

    def __init__(
        self, prefix: Path, front_dir: Path, app: str, *, workers: int = 1, extra: str = ""
    ) -> None:
        self.prefix = prefix
        self.front_dir = front_dir
        self.app = app
        self.workers = workers
        self.extra = extra  # more http-level directives (the bench's plain server)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.download_log = prefix / "logs" / "fpmreg-downloads.log"
        self.process: subprocess.Popen[bytes] | None = None

    def write_config(self) -> Path:
        """Write nginx.conf (and the rendered template) under `prefix`."""
        for sub in ("tmp", "logs"):
            (self.prefix / sub).mkdir(parents=True, exist_ok=True)
        self.front_dir.mkdir(parents=True, exist_ok=True)
        user = ""
        if os.geteuid() == 0:
            user = "user nobody nogroup;"
            for path in (self.prefix, self.front_dir):
                let_others_traverse(path)
            (self.prefix / "logs").chmod(0o777)
        (self.prefix / "fpmreg.conf").write_text(
            render_template(
                listen=f"127.0.0.1:{self.port}",
                front_dir=self.front_dir,
                app=self.app,
                log_dir=self.prefix / "logs",
            )
        )
        conf = self.prefix / "nginx.conf"
        conf.write_text(
            MAIN_CONF.format(workers=self.workers, prefix=self.prefix, user=user, extra=self.extra)
        )
        return conf

    def _argv(self, conf: Path, *more: str) -> list[str]:
        if NGINX is None:
            raise RuntimeError("nginx is not installed (`sudo make system-deps`)")
        return [
            NGINX,
            "-p",
            str(self.prefix),
            "-c",
            str(conf),
            "-e",
            str(self.prefix / "error.log"),
            *more,
        ]

    def start(self) -> FrontNginx:
        """Check the configuration, start nginx, wait until it accepts connections."""
        conf = self.write_config()
        check = subprocess.run(self._argv(conf, "-t"), capture_output=True, text=True, check=False)
        if check.returncode != 0:
            raise RuntimeError(f"nginx refused the configuration:\n{check.stderr}")
        with (self.prefix / "nginx.out").open("ab") as out:
            self.process = subprocess.Popen(self._argv(conf), stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"nginx exited early:\n{(self.prefix / 'error.log').read_text()}"
                )
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=1),
            ):
                return self
            time.sleep(0.05)
        raise RuntimeError("nginx did not start")

    def reopen_logs(self) -> None:
        """What logrotate's postrotate does: `nginx -s reopen` (SIGUSR1)."""
        assert self.process is not None
        self.process.send_signal(signal.SIGUSR1)

    def stop(self) -> None:
        """Stop nginx, killing it if it lingers."""
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

    def __enter__(self) -> FrontNginx:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
