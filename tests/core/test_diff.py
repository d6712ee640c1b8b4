"""The reproducible diff between two package tarballs (docs/diffs.md)."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fpmreg.core.diff import (
    DiffInputError,
    DiffLimits,
    DiffTooLarge,
    Side,
    apply_diff,
    diff_sides,
    read_tree,
    render,
    tree_file,
)
from tests.support.tarballs import tarball

PACKAGE = "acme/lib"
# Lines drawn from a small alphabet, so the versions share lines and hunks have context.
_line = st.sampled_from(["a", "b", "c", "end do", "  x = 1", "", "\t! note", "é"])
_text = st.lists(_line, max_size=12).map("\n".join) | st.lists(_line, max_size=12).map(
    lambda lines: "".join(line + "\n" for line in lines)
)
_paths = st.sampled_from(["fpm.toml", "src/a.f90", "src/b.f90", "README.md", "test/t.f90"])
_trees = st.dictionaries(_paths, _text, max_size=5)


def side(version: str, files: dict[str, str]) -> Side:
    digest = hashlib.sha256(version.encode()).hexdigest()
    return Side(version, digest, {p: tree_file(t.encode()) for p, t in files.items()})


@given(_trees)
def test_identical_versions_give_an_empty_diff(files: dict[str, str]) -> None:
    diff = diff_sides(PACKAGE, side("1.0.0", files), side("1.0.1", files))
    assert diff.files == []
    assert render(diff).count("\n") == 2  # the header and the summary, nothing else


@given(_trees, _trees)
def test_the_diff_is_deterministic(old: dict[str, str], new: dict[str, str]) -> None:
    first = render(diff_sides(PACKAGE, side("1.0.0", old), side("2.0.0", new)))
    shuffled_old = dict(reversed(old.items()))
    shuffled_new = dict(reversed(new.items()))
    again = render(diff_sides(PACKAGE, side("1.0.0", shuffled_old), side("2.0.0", shuffled_new)))
    assert first == again


@given(_trees, _trees)
def test_applying_the_diff_reproduces_the_new_files(
    old: dict[str, str], new: dict[str, str]
) -> None:
    diff = diff_sides(PACKAGE, side("1.0.0", old), side("2.0.0", new))
    assert apply_diff(old, diff) == new
    assert [f.path for f in diff.files] == sorted(f.path for f in diff.files)


@given(_trees)
def test_from_empty_lists_every_file_as_added(files: dict[str, str]) -> None:
    diff = diff_sides(PACKAGE, Side("empty", "", {}), side("1.0.0", files))
    assert {f.path for f in diff.files} == set(files)
    assert all(f.status == "added" and f.old_sha256 == "" for f in diff.files)
    assert apply_diff({}, diff) == files


def test_the_text_names_both_digests_and_marks_each_file() -> None:
    old = side("1.0.0", {"src/a.f90": "a\nb\n", "gone.txt": "x\n"})
    new = side("1.1.0", {"src/a.f90": "a\nc\n", "new.txt": "y"})
    text = render(diff_sides(PACKAGE, old, new))
    lines = text.splitlines()
    assert lines[0] == (
        f"# fpmreg diff acme/lib from 1.0.0 sha256:{old.sha256} to 1.1.0 sha256:{new.sha256}"
    )
    assert lines[1] == "# 3 files differ: 1 added, 1 removed, 1 changed; +2 -2 lines"
    a_digest = hashlib.sha256(b"a\nb\n").hexdigest()
    assert f"--- a/src/a.f90\tsha256:{a_digest}" in lines
    assert "+++ /dev/null" in lines and "--- /dev/null" in lines
    assert lines[lines.index("+y") + 1] == "\\ No newline at end of file"
    assert "-b" in lines and "+c" in lines


def test_binary_files_are_reported_with_their_digests_only() -> None:
    old = Side("1", "", {"data.bin": tree_file(b"\x00\x01\x02")})
    new = Side("2", "f" * 64, {"data.bin": tree_file(b"\x00\x01\x03")})
    diff = diff_sides(PACKAGE, old, new)
    (change,) = diff.files
    assert change.binary and change.lines_added == change.lines_removed == 0
    assert change.diff == (
        f"Binary files a/data.bin (sha256:{change.old_sha256}) and "
        f"b/data.bin (sha256:{change.new_sha256}) differ\n"
    )
    with pytest.raises(ValueError, match="binary"):
        apply_diff({}, diff)


def test_a_file_over_the_text_limit_is_compared_by_digest() -> None:
    limits = DiffLimits(max_text_file_bytes=10)
    old = Side("1", "", {"big.txt": tree_file(b"a" * 11, limits)})
    new = Side("2", "f" * 64, {"big.txt": tree_file(b"b" * 11, limits)})
    (change,) = diff_sides(PACKAGE, old, new, limits).files
    assert change.binary and change.diff.startswith("Binary files a/big.txt")


def test_a_path_with_a_newline_cannot_forge_a_line() -> None:
    diff = diff_sides(PACKAGE, Side("1", "", {}), side("2", {"x\n+++ b/evil": "hi\n"}))
    text = render(diff)
    assert '+++ "b/x\\n+++ b/evil"\tsha256:' in text
    assert "\n+++ b/evil" not in text


def test_a_diff_over_the_limit_is_refused_with_the_limit() -> None:
    old, new = side("1.0.0", {}), side("2.0.0", {"a.txt": "x\n" * 100})
    with pytest.raises(DiffTooLarge, match="larger than 100 bytes"):
        diff_sides(PACKAGE, old, new, DiffLimits(max_diff_bytes=100))


def test_read_tree_reads_a_tarball_and_refuses_a_bad_one() -> None:
    data = tarball({"fpm.toml": 'name = "lib"\n', "src/lib.f90": "module lib\nend module\n"})
    files = read_tree(data)
    assert sorted(files) == ["fpm.toml", "src/lib.f90"]
    assert files["src/lib.f90"].text == "module lib\nend module\n"
    assert files["fpm.toml"].sha256 == hashlib.sha256(b'name = "lib"\n').hexdigest()
    with pytest.raises(DiffInputError):
        read_tree(b"not a tarball")
    with pytest.raises(DiffTooLarge, match="over 5 bytes"):
        read_tree(data, DiffLimits(max_tree_bytes=5))


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_git_apply_accepts_the_text(tmp_path: Path) -> None:
    old = {"src/a.f90": "a\nb\nc\n", "gone.txt": "x\n"}
    new = {"src/a.f90": "a\nB\nc\nd", "src/new.f90": "module m\nend module m\n"}
    for path, text in old.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text)
    patch = tmp_path / "change.diff"
    patch.write_text(render(diff_sides(PACKAGE, side("1", old), side("2", new))))
    result = subprocess.run(
        ["git", "apply", "--unsafe-paths", str(patch)], cwd=tmp_path, capture_output=True
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "src/a.f90").read_text() == new["src/a.f90"]
    assert (tmp_path / "src/new.f90").read_text() == new["src/new.f90"]
    assert not (tmp_path / "gone.txt").exists()
