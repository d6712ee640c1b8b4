"""`fpmreg report` against a real registry process."""

from __future__ import annotations

from tests.client.conftest import fpmreg
from tests.client.pinning import publish, token_for
from tests.support.live import LiveServer


def test_report_a_version_then_the_same_again(live_server: LiveServer) -> None:
    token = token_for(live_server)
    publish(live_server, token, "numkit", "1.0.0")
    reporter = live_server.publisher_token("someone", username="someone")

    args = ("--registry", live_server.url, "--token", reporter)
    run = fpmreg(
        "report", "pin/numkit@1.0", "--category", "broken", "--message", "segfaults", *args
    )

    assert run.exit_code == 0, run.output
    assert "reported `pin/numkit@1.0.0` (broken)" in run.stdout
    again = fpmreg(
        "report", "pin/numkit@1.0.0", "--category", "broken", "--message", "still", *args
    )
    assert again.exit_code != 0
    assert "already have an open report on `pin/numkit@1.0.0`" in again.stderr


def test_mistakes_are_caught_before_anything_is_sent(live_server: LiveServer) -> None:
    args = ("--registry", live_server.url, "--token", "fpmreg_x")
    wrong = fpmreg("report", "pin/numkit", "--category", "rude", "--message", "x", *args)
    assert wrong.exit_code != 0 and "is not a category" in wrong.stderr
    shape = fpmreg("report", "numkit", "--category", "spam", "--message", "x", *args)
    assert shape.exit_code != 0 and "NAMESPACE/NAME" in shape.stderr
    missing = fpmreg(
        "report", "pin/nothing", "--category", "spam", "--message", "x",
        "--registry", live_server.url, "--token", token_for(live_server),
    )  # fmt: skip
    assert missing.exit_code != 0 and "not found" in missing.stderr
