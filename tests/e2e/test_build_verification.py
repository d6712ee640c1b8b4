"""Build verification with the real fpm and gfortran in the bubblewrap sandbox
(docs/builds.md): a package that builds and passes its tests, one that does not compile,
one that tries to reach a server outside the sandbox, one that loops forever, and one
built against a dependency taken from the registry's own storage. Each ends with the
right recorded outcome within the small limits set here, and the version page and
`/api/v1` show it."""

from __future__ import annotations

import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from fpmreg.server.app import build_job_handlers, create_app
from fpmreg.server.clock import SystemClock
from fpmreg.server.db import Database
from fpmreg.server.jobs import JobRunner
from fpmreg.server.settings import Environment, Settings
from tests.factories import Publisher, make_publisher
from tests.support.databases import fresh_database
from tests.support.tarballs import package_tarball

pytestmark = pytest.mark.e2e

# Small limits keep CI quick: each of these packages compiles in about a second.
WALL_SECONDS = 20.0
CPU_SECONDS = 4


def _require_tools() -> None:
    for program in ("bwrap", "prlimit", "gfortran"):
        if shutil.which(program) is None:
            pytest.fail(f"`{program}` is missing (run `sudo make system-deps`)", pytrace=False)


def _settings(tmp_path: Path, url: str, **extra: object) -> Settings:
    limits: dict[str, object] = {
        "build_wall_seconds": WALL_SECONDS,
        "build_cpu_seconds": CPU_SECONDS,
        "build_disk_bytes": 64 * 1024 * 1024,
    }
    return Settings(
        env=Environment.TEST,
        database_url=url,
        storage_path=tmp_path / "blobs",
        base_url="http://testserver",
        build_verification=True,
        **(limits | extra),  # type: ignore[arg-type]
    )


class Registry:
    """The app, its database and a worker that runs the build jobs."""

    def __init__(self, settings: Settings, database: Database, client: TestClient) -> None:
        self.settings = settings
        self.database = database
        self.client = client
        with database.session() as session:
            self.publisher: Publisher = make_publisher(session)
            session.commit()
            self.namespace = self.publisher.namespace.name

    def publish(self, data: bytes) -> None:
        answer = self.client.post(
            "/api/v1/packages",
            files={"tarball": ("t.tar.gz", data)},
            headers={"Authorization": f"Bearer {self.publisher.token}"},
        )
        assert answer.status_code == 201, answer.text

    def run_builds(self) -> int:
        handlers = build_job_handlers(self.settings, SystemClock())
        runner = JobRunner(self.database, SystemClock(), handlers, worker_id="build-worker")
        return runner.run_until_idle()

    def build(self, name: str) -> dict[str, object]:
        answer = self.client.get(f"/api/v1/packages/{self.namespace}/{name}/versions/0.1.0")
        assert answer.status_code == 200, answer.text
        build: dict[str, object] = answer.json()["build"]
        return build

    def page(self, name: str) -> str:
        return self.client.get(f"/project/{self.namespace}/{name}/0.1.0").text

    def log(self, name: str) -> str:
        answer = self.client.get(f"/project/{self.namespace}/{name}/0.1.0/build.log")
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/plain")
        return answer.text


def _registry(tmp_path: Path, **extra: object) -> Iterator[Registry]:
    _require_tools()
    with fresh_database(tmp_path) as url:
        settings = _settings(tmp_path, url, **extra)
        database = Database.from_url(url)
        with TestClient(create_app(settings, database=database)) as client:
            yield Registry(settings, database, client)
        database.engine.dispose()


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[Registry]:
    yield from _registry(tmp_path)


def _module(name: str, body: str = "") -> str:
    return (
        f"module {name}\n  implicit none\ncontains\n"
        f"  integer function {name}_answer()\n    {name}_answer = 42\n  end function\n"
        f"{body}end module {name}\n"
    )


def _with_test(name: str, program: str) -> bytes:
    return package_tarball(name, files={"test/check.f90": program})


def _connect_probe(port: int) -> str:
    """A test program that opens a TCP connection to 127.0.0.1:`port` through libc."""
    address = [2, 0, port >> 8, port & 0xFF, 127, 0, 0, 1] + [0] * 8  # sockaddr_in
    signed = ", ".join(str(b - 256 if b > 127 else b) for b in address)
    return f"""program check
  use iso_c_binding
  implicit none
  interface
    integer(c_int) function c_socket(domain, kind, protocol) bind(c, name="socket")
      import :: c_int
      integer(c_int), value :: domain, kind, protocol
    end function
    integer(c_int) function c_connect(fd, address, length) bind(c, name="connect")
      import :: c_int, c_int8_t
      integer(c_int), value :: fd, length
      integer(c_int8_t), intent(in) :: address(16)
    end function
  end interface
  integer(c_int8_t) :: address(16)
  integer(c_int) :: fd
  address = int([ &
    {signed} &
    ], c_int8_t)
  fd = c_socket(2_c_int, 1_c_int, 0_c_int)
  if (c_connect(fd, address, 16_c_int) == 0) then
    print *, "CONNECTED to the test's server"
  else
    print *, "no network: the connection failed"
    error stop 1
  end if
end program check
"""


def _gfortran_version() -> str:
    return subprocess.run(
        ["gfortran", "-dumpfullversion"], capture_output=True, text=True, check=True
    ).stdout.strip()


def test_each_build_ends_with_the_right_outcome_within_its_limits(registry: Registry) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.setblocking(False)
    port = listener.getsockname()[1]
    loop = "program check\n  use spin\n  integer :: i\n  i = 0\n" + (
        "  do while (spin_answer() == 42)\n    i = i + 1\n  end do\n  print *, i\nend program\n"
    )
    registry.publish(_with_test("good", "program check\n  use good\n  if (good_answer() /= 42) "
                     "error stop 1\n  print *, 'answer ok'\nend program\n"))  # fmt: skip
    broken = _module("broken", "  subroutine broken_run()\n    call nowhere(\n  end subroutine\n")
    registry.publish(package_tarball("broken", files={"src/broken.f90": broken}))
    registry.publish(_with_test("probe", _connect_probe(port)))
    registry.publish(_with_test("spin", loop))
    assert registry.build("good")["outcome"] == "pending"  # queued with the publish

    assert registry.run_builds() == 4

    tools = f"fpm 0.12.0 and gfortran {_gfortran_version()}"
    good = registry.build("good")
    assert good["outcome"] == "passed"
    assert good["summary"] == f"builds with {tools}, and its tests pass"
    assert good["tests_run"] is True
    assert "answer ok" in registry.log("good")
    assert f"builds with {tools}" in registry.page("good")

    broken_build = registry.build("broken")
    assert broken_build["outcome"] == "failed"
    assert broken_build["summary"] == f"fails to build with {tools}"
    assert "Error" in registry.log("broken")
    assert f"fails to build with {tools}" in registry.page("broken")

    probe = registry.build("probe")
    assert probe["outcome"] == "failed"
    assert probe["summary"] == f"builds, but its tests fail with {tools}"
    assert "no network: the connection failed" in registry.log("probe")
    with pytest.raises(BlockingIOError):  # nothing from the sandbox reached the server
        listener.accept()
    listener.close()

    spin = registry.build("spin")
    assert spin["outcome"] == "timed-out"
    assert f"after {CPU_SECONDS} s of CPU time" in str(spin["summary"])
    assert "timed-out" in registry.page("spin")


def test_a_program_that_waits_forever_is_ended_by_the_wall_time(tmp_path: Path) -> None:
    # It sleeps, so no CPU limit would ever end it: only the wall-time kill does.
    for registry in _registry(tmp_path, build_wall_seconds=6.0):
        waits = "program check\n  call sleep(3600)\nend program\n"
        registry.publish(_with_test("sleepy", waits))
        assert registry.run_builds() == 1
        built = registry.build("sleepy")
        assert built["outcome"] == "timed-out"
        assert built["summary"] == "`fpm test` was stopped after 6 s (the wall-time limit)"


def test_a_build_that_fills_the_disk_is_stopped(registry: Registry) -> None:
    # Twelve files of 8 MiB: each under the per-file limit, 96 MiB in all over 64 MiB.
    fills = (
        "program check\n  integer :: i, j, unit\n  character(len=8) :: name\n"
        "  character(len=1024*1024) :: block\n  block = repeat('x', len(block))\n"
        "  do i = 1, 12\n    write(name, '(a,i0)') 'fill', i\n"
        "    open(newunit=unit, file=name, access='stream', status='replace')\n"
        "    write(unit) (block, j = 1, 8)\n    close(unit)\n  end do\nend program\n"
    )
    registry.publish(_with_test("filler", fills))
    assert registry.run_builds() == 1
    built = registry.build("filler")
    assert built["outcome"] == "failed"
    assert (
        built["summary"] == f"`fpm test` was stopped: it wrote more than {64 * 1024 * 1024} bytes"
    )


def test_a_dependency_comes_from_the_registrys_own_storage(registry: Registry) -> None:
    registry.publish(package_tarball("base"))
    namespace = registry.namespace
    user = _module("user", "  integer function user_twice()\n    use base\n"
                   "    user_twice = 2 * base_answer()\n  end function\n")  # fmt: skip
    registry.publish(
        package_tarball(
            "user",
            extra_manifest=f'[dependencies]\nbase = {{ namespace = "{namespace}" }}\n',
            files={"src/user.f90": user},
        )
    )
    assert registry.run_builds() == 2
    built = registry.build("user")
    assert built["outcome"] == "passed", registry.log("user")
    assert built["dependencies_verified"] is True
    assert "base" in registry.log("user")


def test_a_failed_build_quarantines_the_package_when_the_operator_asks(tmp_path: Path) -> None:
    for registry in _registry(tmp_path, build_failure_quarantines=True):
        broken = _module("bad", "  subroutine bad_run()\n    call nowhere(\n  end subroutine\n")
        registry.publish(package_tarball("bad", files={"src/bad.f90": broken}))
        assert registry.run_builds() == 1
        answer = registry.client.get(f"/api/v1/packages/{registry.namespace}/bad")
        assert answer.status_code == 403
        assert answer.json()["errors"][0]["code"] == "package-quarantined"
