"""code_version: loopml's version plus the project's git commit, read without git."""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

from loopml.pipeline.versioning import code_version, git_commit

SHA = "0123456789abcdef0123456789abcdef01234567"
VERSION = metadata.version("loopml")


def _repo(root: Path) -> Path:
    git = root / ".git"
    (git / "refs" / "heads").mkdir(parents=True)
    (git / "HEAD").write_text("ref: refs/heads/main\n")
    return git


def test_outside_a_repository_it_is_the_package_version(tmp_path: Path) -> None:
    assert git_commit(tmp_path) is None
    assert code_version(tmp_path) == VERSION


def test_branch_commit_from_a_subfolder(tmp_path: Path) -> None:
    git = _repo(tmp_path)
    (git / "refs" / "heads" / "main").write_text(SHA + "\n")
    sub = tmp_path / "src" / "deep"
    sub.mkdir(parents=True)
    assert git_commit(sub) == SHA
    assert code_version(sub) == f"{VERSION}+git.{SHA[:12]}"


def test_packed_refs_and_detached_head(tmp_path: Path) -> None:
    git = _repo(tmp_path)
    (git / "packed-refs").write_text(f"# pack-refs with: peeled\n{SHA} refs/heads/main\n")
    assert git_commit(tmp_path) == SHA
    other = "f" * 40
    (git / "HEAD").write_text(other + "\n")
    assert git_commit(tmp_path) == other


def test_worktree_pointer(tmp_path: Path) -> None:
    main = tmp_path / "main"
    git = _repo(main)
    (git / "refs" / "heads" / "feature").write_text(SHA + "\n")
    wt_git = git / "worktrees" / "wt"
    wt_git.mkdir(parents=True)
    (wt_git / "HEAD").write_text("ref: refs/heads/feature\n")
    (wt_git / "commondir").write_text("../..\n")
    worktree = tmp_path / "wt"
    worktree.mkdir()
    (worktree / ".git").write_text(f"gitdir: {wt_git}\n")
    assert git_commit(worktree) == SHA


def test_never_raises_on_a_broken_repository(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()  # no HEAD at all
    assert code_version(tmp_path) == VERSION
    (tmp_path / ".git" / "HEAD").write_text("ref: refs/heads/unborn\n")
    assert code_version(tmp_path) == VERSION
