"""The code version recorded with every run and folded into every step's cache key."""

from __future__ import annotations

import re
from importlib import metadata
from pathlib import Path

_SHA = re.compile(r"^[0-9a-f]{40}([0-9a-f]{24})?$")


def code_version(folder: str | Path | None = None) -> str:
    """Return loopml's version, plus the git commit of ``folder`` when it is in a repository.

    For example ``0.1.0`` or ``0.1.0+git.1a2b3c4d5e6f``. The commit is read from the
    ``.git`` folder directly (no subprocess), so this is fast; uncommitted changes are not
    seen, which is why a step's fingerprint should hash the sources it depends on. Never
    raises: anything unreadable is left out.

    Args:
        folder: the project folder (default: the current directory).
    """
    try:
        version = metadata.version("loopml")
    except Exception:  # noqa: BLE001 - not installed: run from a source tree
        version = "0+unknown"
    try:
        commit = git_commit(Path.cwd() if folder is None else Path(folder))
    except Exception:  # noqa: BLE001 - a version must never fail a run
        commit = None
    return f"{version}+git.{commit[:12]}" if commit else version


def git_commit(folder: Path) -> str | None:
    """The commit checked out in the git repository holding ``folder``, or None."""
    git_dir = _find_git_dir(folder.resolve())
    if git_dir is None:
        return None
    head = (git_dir / "HEAD").read_text().strip()
    if _SHA.match(head):  # a detached HEAD
        return head
    if not head.startswith("ref:"):
        return None
    ref = head[4:].strip()
    common = _common_dir(git_dir)
    for base in (git_dir, common):
        path = base / ref
        if path.is_file():
            sha = path.read_text().strip()
            return sha if _SHA.match(sha) else None
    packed = common / "packed-refs"
    if packed.is_file():
        for line in packed.read_text().splitlines():
            sha, _, name = line.partition(" ")
            if name.strip() == ref and _SHA.match(sha):
                return sha
    return None  # a new repository without commits


def _find_git_dir(folder: Path) -> Path | None:
    for candidate in (folder, *folder.parents):
        dot_git = candidate / ".git"
        if dot_git.is_dir():
            return dot_git
        if dot_git.is_file():  # a worktree or submodule: "gitdir: <path>"
            text = dot_git.read_text().strip()
            if text.startswith("gitdir:"):
                target = Path(text[7:].strip())
                return target if target.is_absolute() else (candidate / target).resolve()
            return None
    return None


def _common_dir(git_dir: Path) -> Path:
    """Where shared refs live: a worktree's ``commondir`` or the git folder itself."""
    pointer = git_dir / "commondir"
    if pointer.is_file():
        target = Path(pointer.read_text().strip())
        return target if target.is_absolute() else (git_dir / target).resolve()
    return git_dir
