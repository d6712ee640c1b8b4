"""`python -m bench`: start a production fpmreg and nginx, run every scenario, save results."""

from __future__ import annotations

import argparse
import shutil
import signal
import sys
import tempfile
import traceback
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType

import bench  # noqa: F401 - first: puts the repository root on sys.path for `tests.support`
from bench import (
    adversarial,  # noqa: F401 - registers the adversarial upload-check scenario
    ap_bench,  # noqa: F401 - registers the ActivityPub delivery scenario
    audit_bench,  # noqa: F401 - registers the fpmreg audit scenario
    downloads,  # noqa: F401 - registers the tarball download scenarios
    front_bench,  # noqa: F401 - registers the nginx front scenario
    load_bench,  # noqa: F401 - registers the two-app PostgreSQL load scenario
    osv_bench,  # noqa: F401 - registers the OSV querybatch scenario
    publish_refusal,  # noqa: F401 - registers the publish refusal scenario
    resolve_bench,  # noqa: F401 - registers the resolver scenario
    sync_bench,  # noqa: F401 - registers the sync scenario
    tlog_bench,  # noqa: F401 - registers the transparency log scenario
    verify_bench,  # noqa: F401 - registers the fpmreg verify scenario
)
from bench.report import append_history, build_results, machine_info, table, write_latest
from bench.scenarios import SCENARIOS, Context, Outcome, run_scenario
from bench.seed import seed_package
from bench.server import Nginx, log_tail, production_registry
from bench.wrk import WrkParams


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options; the defaults are the recorded benchmark."""
    names = [s.name for s in SCENARIOS]
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--duration", type=int, default=10, help="seconds of load (10)")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of warm-up load (2)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (2)")
    parser.add_argument("--connections", type=int, default=64, help="wrk connections (64)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn and nginx workers (2)")
    parser.add_argument("--versions", type=int, default=20, help="versions to seed (20)")
    parser.add_argument(
        "--only",
        action="append",
        choices=names,
        metavar="SCENARIO",
        help=f"run only these (repeatable): {', '.join(names)}",
    )
    parser.add_argument(
        "--no-save", action="store_true", help="print only; leave bench/results/ alone"
    )
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the temporary directory (database, logs, nginx.conf)",
    )
    return parser.parse_args(argv)


def _terminate(signum: int, _frame: FrameType | None) -> None:
    signal.signal(signum, signal.SIG_IGN)  # a second signal must not cut the clean-up short
    raise SystemExit(128 + signum)  # unwinds through the ExitStack: processes get stopped


def run(args: argparse.Namespace) -> int:
    """Set up, run the scenarios, write and print the results; 1 if anything is broken."""
    started = datetime.now(UTC)
    machine = machine_info()
    params = WrkParams(
        threads=args.threads,
        connections=args.connections,
        duration_s=args.duration,
        warmup_s=args.warmup,
    )
    chosen = [s for s in SCENARIOS if not args.only or s.name in args.only]
    outcomes: list[Outcome] = []
    setup_error = ""
    with ExitStack() as stack:
        workdir = Path(tempfile.mkdtemp(prefix="fpmreg-bench-"))
        if args.keep:
            print(f"working directory: {workdir}", file=sys.stderr)
        else:
            stack.callback(_remove, workdir)
        server = None
        try:
            print("starting fpmreg (production, gunicorn) and seeding...", file=sys.stderr)
            server = stack.enter_context(production_registry(workdir, workers=args.workers))
            package = seed_package(server, versions=args.versions)
            nginx = stack.enter_context(Nginx(workdir / "nginx", workers=args.workers))
        except Exception as exc:
            setup_error = f"{type(exc).__name__}: {exc}"
            if server is not None:
                setup_error += f"\nserver log:\n{log_tail(server.log)}"
            traceback.print_exc()
        else:
            ctx = Context(server, nginx, package, params, workdir, args.workers)
            for item in chosen:
                print(f"running {item.name}...", file=sys.stderr)
                outcome = run_scenario(item, ctx)
                died = server.process is not None and server.process.poll() is not None
                if not outcome.ok and died:
                    outcome.error += f"\nserver exited; log:\n{log_tail(server.log)}"
                outcomes.append(outcome)
    results = build_results(
        started,
        machine,
        {
            "wrk": params.as_dict(),
            "workers": args.workers,
            "versions": args.versions,
            "database": "sqlite",
            "server": "python -m fpmreg.server run (FPMREG_ENV=production)",
        },
        outcomes,
        setup_error,
    )
    if not args.no_save:
        write_latest(results)
        append_history(results)
    print(table(results, params))
    return 0 if results["ok"] else 1


def _remove(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    signal.signal(signal.SIGTERM, _terminate)
    return run(parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
