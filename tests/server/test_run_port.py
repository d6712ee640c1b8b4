"""`make run PORT=...` serves on that port, and the links the registry gives name it
(unless FPMREG_BASE_URL says otherwise): docs/operating.md, "Settings"."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from fpmreg.server.settings import listening_base_url
from tests.support.databases import fresh_database
from tests.support.forms import csrf_field
from tests.support.live import ROOT, LiveServer
from tests.support.tarballs import package_tarball

NAMESPACE = "portly"


class MakeRun(LiveServer):
    """`make run PORT=<a free port>` in the checkout, as a newcomer types it: no
    FPMREG_BASE_URL, migrations applied at start (only the database and blob folder are
    the test's own)."""

    def environment(self) -> dict[str, str]:
        env = super().environment()
        del env["FPMREG_BASE_URL"]
        for name in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL"):  # from a `make test` around us
            env.pop(name, None)
        return env

    def start(self) -> MakeRun:
        # `-o .venv/.installed`: run with the installed virtualenv, never reinstall it.
        cmd = ["make", "-C", str(ROOT), "-o", ".venv/.installed", "run", f"PORT={self.port}"]
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                cmd,
                env=self.environment(),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # make and its server, stopped together
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"make run exited early:\n{self.log.read_text()}")
            try:
                httpx.get(self.url + "/api/openapi.json", timeout=1)
                return self
            except httpx.TransportError:
                time.sleep(0.2)
        raise RuntimeError(f"make run did not start:\n{self.log.read_text()}")

    def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.process is None:
            return 0
        with contextlib.suppress(ProcessLookupError):  # already gone
            os.killpg(self.process.pid, sig)
        try:
            code = self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            code = self.process.wait()
        self.process = None
        return code


def _publish(server: LiveServer, name: str) -> dict[str, object]:
    token = server.publisher_token(NAMESPACE)
    response = httpx.post(
        f"{server.url}/api/v1/packages",
        headers={"Authorization": f"Bearer {token}"},
        files={"tarball": (f"{name}.tar.gz", package_tarball(name, "1.0.0"), "application/gzip")},
        timeout=30,
    )
    assert response.status_code == 201, response.text
    answer: dict[str, object] = response.json()
    return answer


def test_make_run_port_serves_there_and_every_link_names_that_port(tmp_path: Path) -> None:
    with fresh_database(tmp_path) as database_url, MakeRun(database_url, tmp_path) as server:
        assert server.port != 8000
        answer = _publish(server, "hello")
        assert answer["url"] == f"{server.url}/project/{NAMESPACE}/hello"
        assert httpx.get(str(answer["url"]), timeout=10).status_code == 200

        info = httpx.get(f"{server.url}/api/v1/packages/{NAMESPACE}/hello", timeout=10).json()
        download_url = info["versions"][0]["download_url"]
        assert download_url.startswith(f"{server.url}/")
        assert httpx.get(download_url, timeout=10).status_code == 200

        # A browser on that port sends its own origin with every form: it is the
        # registry's, so signing up works (with links to :8000 it was refused as CSRF).
        with httpx.Client(
            base_url=server.url, headers={"Origin": server.url}, follow_redirects=True
        ) as browser:
            signed_up = browser.post(
                "/signup",
                data={
                    "csrf_token": csrf_field(browser, "/signup"),  # type: ignore[arg-type]
                    "username": "newcomer",
                    "email": "newcomer@example.org",
                    "password": "correct horse battery staple",
                    "password2": "correct horse battery staple",
                },
            )
        assert signed_up.status_code == 200, signed_up.text
        assert "newcomer" in signed_up.text


def test_fpmreg_base_url_wins_over_the_port(tmp_path: Path) -> None:
    public = "https://registry.example.org"
    with (
        fresh_database(tmp_path) as database_url,
        LiveServer(database_url, tmp_path, env={"FPMREG_BASE_URL": public}) as server,
    ):
        answer = _publish(server, "behind")
        assert answer["url"] == f"{public}/project/{NAMESPACE}/behind"


@pytest.mark.parametrize(
    ("host", "port", "base_url"),
    [
        ("127.0.0.1", 9000, "http://127.0.0.1:9000"),
        ("0.0.0.0", 8080, "http://127.0.0.1:8080"),
        ("::", 8081, "http://127.0.0.1:8081"),
        ("::1", 8082, "http://[::1]:8082"),
        ("registry.internal", 80, "http://registry.internal:80"),
    ],
)
def test_the_default_base_url_is_where_the_server_listens(
    host: str, port: int, base_url: str
) -> None:
    assert listening_base_url(host, port) == base_url
