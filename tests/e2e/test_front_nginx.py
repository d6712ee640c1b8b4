"""The real nginx running deploy/nginx/fpmreg.conf in front of a live fpmreg: fresh
answers right after publish, yank and delete, the app's bytes, exact counts from its log."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
from sqlalchemy import create_engine, func, select

from fpmreg.server.accounts.models import Scope
from fpmreg.server.clock import SystemClock
from fpmreg.server.db import Database
from fpmreg.server.front.ingest import LogIngest
from fpmreg.server.metrics.models import DownloadCount
from tests.support.databases import fresh_database
from tests.support.front_nginx import FrontNginx
from tests.support.live import LiveServer
from tests.support.tarballs import DEFAULT_LICENSE, fpm_publish_form, package_tarball


def test_the_front_is_fresh_after_publish_yank_and_delete_and_counts_exactly(
    tmp_path: Path,
) -> None:
    front = tmp_path / "front"
    env = {"FPMREG_FRONT_DIR": str(front), "FPMREG_TRUSTED_PROXIES": "127.0.0.1"}
    with (
        fresh_database(tmp_path) as url,
        LiveServer(url, tmp_path, env=env) as app,
        FrontNginx(tmp_path / "nginx", front, f"127.0.0.1:{app.port}") as nginx,
    ):
        token = app.publisher_token("fr", scopes={Scope.PUBLISH, Scope.YANK, Scope.MANAGE})
        auth = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=nginx.url, timeout=30) as web:
            for version in ("1.0.0", "1.1.0"):
                data = package_tarball("lib", version)
                form = fpm_publish_form("lib", version, DEFAULT_LICENSE, token, data)
                assert web.post("/packages", **form).json()["code"] == 200
                latest = web.get("/packages/fr/lib")
                assert latest.json()["data"]["latest_version_data"]["version"] == version
                assert latest.headers["cache-control"] == "public, max-age=30"  # from a file
            for path in (
                "/packages/fr/lib",
                "/packages/fr/lib/1.0.0",
                "/tarballs/fr/lib/1.1.0.tar.gz",
            ):
                assert web.get(path).content == httpx.get(app.url + path).content, path
            tarball = web.get("/tarballs/fr/lib/1.1.0.tar.gz")
            assert tarball.headers["content-type"] == "application/gzip"
            assert "immutable" in tarball.headers["cache-control"]
            yank = web.put("/api/v1/packages/fr/lib/versions/1.1.0/yank",
                           json={"reason": "miscompiles"}, headers=auth)  # fmt: skip
            assert yank.status_code == 200, yank.text
            latest = web.get("/packages/fr/lib").json()
            assert latest["data"]["latest_version_data"]["version"] == "1.0.0"
            body = {"reason": "broken build", "category": "other"}
            gone = web.request(
                "DELETE", "/api/v1/packages/fr/lib/versions/1.1.0", json=body, headers=auth
            )
            assert gone.status_code == 200, gone.text
            assert web.get("/packages/fr/lib/1.1.0").json()["code"] == 410
            assert web.get("/tarballs/fr/lib/1.1.0.tar.gz").status_code == 410
            for _ in range(3):
                assert web.get("/tarballs/fr/lib/1.0.0.tar.gz").status_code == 200
            web.head("/tarballs/fr/lib/1.0.0.tar.gz")
        time.sleep(1.5)  # the log buffer is written at least every second
        assert "127.0.0.1" not in nginx.download_log.read_text()
        database = Database.from_url(url)
        try:
            assert LogIngest(database, SystemClock(), nginx.download_log).run().counted == 3
            assert LogIngest(database, SystemClock(), nginx.download_log).run().counted == 0
        finally:
            database.engine.dispose()
        engine = create_engine(url)
        with engine.connect() as conn:
            assert conn.scalar(select(func.sum(DownloadCount.count))) == 3
        engine.dispose()
