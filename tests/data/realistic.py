"""Good packages shaped like real fpm projects, archived as `git archive HEAD` does.

- `quadrature()`: a library with internal `pkg__*` modules and a submodule, an app, an
  example, tests with an unprefixed helper module (fpm does not check tests), two
  license files, every metadata field and explicit target tables.
- `statistics()`: a library using a custom module prefix (`module-naming = "fst"`).
- `geodesy_chain()`: three packages depending on each other through the registry,
  across two namespaces: core <- io <- cli.

Every one must pass `fpmreg check` with no problem at all, and publish for real.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from dataclasses import dataclass

APACHE = (
    "                                 Apache License\n                           "
    "Version 2.0, January 2004\n                        http://www.apache.org/licenses/\n"
)
MIT = (
    "MIT License\n\nCopyright (c) 2024 The authors\n\nPermission is hereby granted, free of "
    "charge, to any person obtaining a copy of this software and associated documentation "
    'files (the "Software"), to deal in the Software without restriction ...\n'
)
GITIGNORE = "build/\n*.mod\n*.o\n"


@dataclass(frozen=True)
class Realistic:
    """A package's name, version and files (executable files listed in `scripts`)."""

    name: str
    version: str
    files: dict[str, str]
    scripts: frozenset[str] = frozenset()

    def data(self) -> bytes:
        """The tarball as `git archive HEAD --format=tar.gz` makes it: a pax global header
        holding the commit id, a member for each folder, fixed times and modes."""
        commit = hashlib.sha1(json.dumps(self.files, sort_keys=True).encode()).hexdigest()
        buffer = io.BytesIO()
        with tarfile.open(
            fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT, pax_headers={"comment": commit}
        ) as tar:
            folders: set[str] = set()
            for path in sorted(self.files):
                parts = path.split("/")[:-1]
                for depth in range(1, len(parts) + 1):
                    folder = "/".join(parts[:depth])
                    if folder not in folders:
                        folders.add(folder)
                        info = tarfile.TarInfo(folder + "/")
                        info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o775, 1_700_000_000
                        tar.addfile(info)
                data = self.files[path].encode()
                info = tarfile.TarInfo(path)
                info.size, info.mtime = len(data), 1_700_000_000
                info.mode = 0o775 if path in self.scripts else 0o664
                info.uname = info.gname = "root"
                tar.addfile(info, io.BytesIO(data))
        return gzip.compress(buffer.getvalue(), mtime=0)


def quadrature(version: str = "0.3.1") -> Realistic:
    """A numerical library with app, example and tests; dual licensed."""
    return Realistic(
        "fquad",
        version,
        {
            "fpm.toml": f"""\
name = "fquad"
version = "{version}"
license = "Apache-2.0 OR MIT"
author = "Grace Hopper"
maintainer = "grace@example.org"
copyright = "Copyright 2024, Grace Hopper"
description = "Adaptive Gauss-Kronrod quadrature for modern Fortran"
homepage = "https://github.com/example/fquad"
keywords = ["quadrature", "integration", "numerical"]
categories = ["Numerical"]

[build]
auto-executables = false
auto-tests = false
auto-examples = false
module-naming = true

[install]
library = true

[fortran]
implicit-typing = false
implicit-external = false
source-form = "free"

[library]
source-dir = "src"

[[executable]]
name = "fquad"
source-dir = "app"
main = "main.f90"

[[example]]
name = "gaussian"
source-dir = "example"
main = "gaussian.f90"

[[test]]
name = "tester"
source-dir = "test"
main = "tester.f90"
""",
            "README.md": """\
# fquad

Adaptive Gauss-Kronrod quadrature for modern Fortran.

```toml
[dependencies]
fquad = { namespace = "numerics" }
```

```fortran
use fquad, only: integrate
print *, integrate(f, 0.0_dp, 1.0_dp)
```
""",
            "LICENSE-APACHE": APACHE,
            "LICENSE-MIT": MIT,
            "CHANGELOG.md": f"# Changelog\n\n## {version}\n\n- Faster 21-point rule.\n",
            ".gitignore": GITIGNORE,
            "src/fquad.f90": """\
!> Public interface of fquad.
module fquad
  use fquad__kinds, only: dp, integrand
  use fquad__gk, only: gk21
  implicit none
  private
  public :: dp, integrate

contains

  !> Integrate `f` over [a, b] with adaptive bisection.
  recursive function integrate(f, a, b, tol) result(total)
    procedure(integrand) :: f
    real(dp), intent(in) :: a, b
    real(dp), intent(in), optional :: tol
    real(dp) :: total, err, eps, mid
    eps = 1.0e-10_dp
    if (present(tol)) eps = tol
    call gk21(f, a, b, total, err)
    if (err > eps) then
      mid = 0.5_dp * (a + b)
      total = integrate(f, a, mid, eps / 2) + integrate(f, mid, b, eps / 2)
    end if
  end function integrate

end module fquad
""",
            "src/fquad/kinds.f90": """\
module fquad__kinds
  use, intrinsic :: iso_fortran_env, only: real64
  implicit none
  private
  integer, parameter, public :: dp = real64
  public :: integrand

  abstract interface
    pure function integrand(x) result(y)
      import :: dp
      real(dp), intent(in) :: x
      real(dp) :: y
    end function integrand
  end interface
end module fquad__kinds
""",
            "src/fquad/gk.f90": """\
module fquad__gk
  use fquad__kinds, only: dp, integrand
  implicit none
  private
  public :: gk21

  interface
    module subroutine gk21(f, a, b, result, abserr)
      procedure(integrand) :: f
      real(dp), intent(in) :: a, b
      real(dp), intent(out) :: result, abserr
    end subroutine gk21
  end interface
end module fquad__gk
""",
            "src/fquad/gk_impl.f90": """\
submodule (fquad__gk) fquad__gk_impl
  use fquad__kinds, only: integrand
  implicit none
contains
  module subroutine gk21(f, a, b, result, abserr)
    procedure(integrand) :: f
    real(dp), intent(in) :: a, b
    real(dp), intent(out) :: result, abserr
    real(dp) :: center, half
    ! The midpoint rule stands in for the 21 Kronrod points in this sample.
    center = 0.5_dp * (a + b)
    half = 0.5_dp * (b - a)
    result = 2 * half * f(center)
    abserr = 0.0_dp
  end subroutine gk21
end submodule fquad__gk_impl
""",
            "app/main.f90": """\
program main
  use fquad, only: dp, integrate
  implicit none
  print '(f12.8)', integrate(square, 0.0_dp, 1.0_dp)
contains
  pure function square(x) result(y)
    real(dp), intent(in) :: x
    real(dp) :: y
    y = x * x
  end function square
end program main
""",
            "example/gaussian.f90": """\
program gaussian
  use fquad, only: dp, integrate
  implicit none
  print *, integrate(bell, -5.0_dp, 5.0_dp)
contains
  pure function bell(x) result(y)
    real(dp), intent(in) :: x
    real(dp) :: y
    y = exp(-x * x)
  end function bell
end program gaussian
""",
            "test/tester.f90": """\
program tester
  use test_helpers, only: check_close
  use fquad, only: dp, integrate
  implicit none
  call check_close(integrate(one, 0.0_dp, 2.0_dp), 2.0_dp)
contains
  pure function one(x) result(y)
    real(dp), intent(in) :: x
    real(dp) :: y
    y = 1.0_dp + 0 * x
  end function one
end program tester
""",
            "test/test_helpers.f90": """\
module test_helpers
  use fquad, only: dp
  implicit none
contains
  subroutine check_close(got, want)
    real(dp), intent(in) :: got, want
    if (abs(got - want) > 1.0e-8_dp) error stop "not close"
  end subroutine check_close
end module test_helpers
""",
            "ci/run-tests.sh": "#!/bin/sh\nset -eu\nfpm test --profile release\n",
        },
        scripts=frozenset({"ci/run-tests.sh"}),
    )


def statistics(version: str = "1.0.0", prefix: str = "fst") -> Realistic:
    """A library using a custom module prefix, with a README.rst and a COPYING file."""
    return Realistic(
        "fortran-stats",
        version,
        {
            "fpm.toml": f"""\
name = "fortran-stats"
version = "{version}"
license = "BSD-3-Clause"
author = ["Katherine Johnson", "Dorothy Vaughan"]
description = "Descriptive statistics: mean, variance, quantiles"
homepage = "https://stats.example.org/"
keywords = ["statistics"]

[build]
module-naming = "{prefix}"

[[executable]]
name = "fstat"
""",
            "README.rst": "fortran-stats\n=============\n\nDescriptive statistics.\n",
            "COPYING": "BSD 3-Clause License\n\nCopyright (c) 2024, the authors.\n",
            "src/fortran_stats.f90": f"""\
module fortran_stats
  use {prefix}_mean, only: mean
  use {prefix}_variance, only: variance
  implicit none
  private
  public :: mean, variance
end module fortran_stats
""",
            f"src/{prefix}.f90": f"""\
module {prefix}
  use, intrinsic :: iso_fortran_env, only: dp => real64
  implicit none
  private
  public :: dp
end module {prefix}
""",
            f"src/{prefix}_mean.f90": f"""\
module {prefix.upper()}_MEAN  ! Fortran is case-insensitive
  use {prefix}, only: dp
  implicit none
contains
  pure real(dp) function mean(x)
    real(dp), intent(in) :: x(:)
    mean = sum(x) / size(x)
  end function mean
end module {prefix.upper()}_MEAN
""",
            f"src/{prefix}_variance.f90": f"""\
module {prefix}_variance
  use {prefix}, only: dp
  use {prefix}_mean, only: mean
  implicit none
contains
  pure real(dp) function variance(x)
    real(dp), intent(in) :: x(:)
    variance = sum((x - mean(x))**2) / (size(x) - 1)
  end function variance
end module {prefix}_variance
""",
            "app/main.f90": """\
program fstat
  use fortran_stats, only: mean, variance
  implicit none
  print *, mean([1.0d0, 2.0d0, 3.0d0]), variance([1.0d0, 2.0d0, 3.0d0])
end program fstat
""",
        },
    )


def _geodesy(name: str, version: str, deps: str, uses: str, body: str) -> Realistic:
    module = name.replace("-", "_")
    use = f"  use {uses}\n" if uses else ""
    return Realistic(
        name,
        version,
        {
            "fpm.toml": f"""\
name = "{name}"
version = "{version}"
license = "MIT"
author = "Mary Jackson"
maintainer = "mary@example.org"
description = "Geodesy toolkit: {name.removeprefix("geodesy-")}"
homepage = "https://geodesy.example.org/{name}"
categories = ["Science"]

[build]
module-naming = true
{deps}""",
            "README.md": f"# {name}\n\nPart of the geodesy toolkit.\n",
            "LICENSE": MIT,
            f"src/{module}.f90": (
                f"module {module}\n{use}  implicit none\n{body}end module {module}\n"
            ),
            f"src/{module}/constants.f90": f"""\
module {module}__constants
  implicit none
  double precision, parameter :: wgs84_a = 6378137.0d0
end module {module}__constants
""",
        },
    )


def geodesy_chain(core_namespace: str, namespace: str) -> list[Realistic]:
    """core (in `core_namespace`) <- io <- cli (both in `namespace`), in publish order.

    io pins core's version; cli depends on io unpinned and on core pinned, and has a
    dev-dependency (built only by its own tests, so the registry does not require it)."""
    core = _geodesy("geodesy-core", "1.2.0", "", "", "contains\n")
    io_ = _geodesy(
        "geodesy-io",
        "0.4.0",
        f'\n[dependencies]\ngeodesy-core = {{ namespace = "{core_namespace}", v = "1.2.0" }}\n',
        "geodesy_core",
        "",
    )
    cli = _geodesy(
        "geodesy-cli",
        "2.0.0",
        "\n[dependencies]\n"
        f'geodesy-io = {{ namespace = "{namespace}" }}\n'
        f'geodesy-core = {{ namespace = "{core_namespace}", v = "1.2" }}\n'
        "\n[dev-dependencies]\n"
        'test-drive = { namespace = "fortran-lang", v = "0.5.0" }\n'
        "\n[[executable]]\n"
        'name = "geodesy"\n',
        "geodesy_io",
        "",
    )
    cli.files["app/main.f90"] = (
        "program geodesy\n  use geodesy_cli\n  implicit none\n"
        "  print *, 'ok'\nend program geodesy\n"
    )
    return [core, io_, cli]


def all_packages(core_namespace: str = "geo", namespace: str = "geo-tools") -> list[Realistic]:
    """Every realistic package, in an order they can be published in."""
    return [quadrature(), statistics(), *geodesy_chain(core_namespace, namespace)]
