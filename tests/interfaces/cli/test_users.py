"""`loopml users add / list / token / remove` through the CLI runner."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.helpers import free_port, wait_ready
from tests.registry.conftest import bank_sample, write_project
from typer.testing import CliRunner

from loopml.interfaces.cli.main import app
from loopml.service import ProjectService

runner = CliRunner(env={"COLUMNS": "200"})


@pytest.fixture
def project(tmp_path: Path, bank_csv: Path) -> Path:
    return write_project(tmp_path, bank_sample(bank_csv, rows=200), "subscribed ", ["duration"])


def invoke(project: Path, *args: str, input: str | None = None):
    return runner.invoke(app, ["users", *args, "-C", str(project)], input=input)


def test_users_are_added_listed_given_tokens_and_removed(project: Path) -> None:
    assert "no users yet" in invoke(project, "list").output
    added = invoke(project, "add", "alice", "--role", "approver", input="s3cret-pass\n" * 2)
    assert added.exit_code == 0, added.output
    assert "added alice as approver" in added.output
    piped = invoke(
        project, "add", "ci", "--role", "editor", "--password-stdin", input="ci-pass-1\n"
    )
    assert piped.exit_code == 0, piped.output
    listed = invoke(project, "list").output
    assert "alice" in listed and "approver" in listed and "ci" in listed

    issued = invoke(project, "token", "ci")
    assert issued.exit_code == 0
    token = issued.output.strip()
    service = ProjectService.open(project)
    try:
        holder = service.user_for_token(token)
        assert holder is not None and holder.name == "ci"
        assert service.authenticate("alice", "s3cret-pass") is not None
        assert service.authenticate("alice", "wrong-pass") is None
        assert service.authenticate("nobody", "s3cret-pass") is None
        assert token not in repr(service.store.list_users())
    finally:
        service.close()

    removed = invoke(project, "remove", "ci")
    assert removed.exit_code == 0 and "removed ci" in removed.output
    service = ProjectService.open(project)
    try:
        assert service.user_for_token(token) is None
        done = [(e.action, e.target, e.client) for e in service.list_audit()]
        assert done == [
            ("loopml users remove", "ci", "cli"),
            ("loopml users token", "ci", "cli"),
            ("loopml users add", "ci as editor", "cli"),
            ("loopml users add", "alice as approver", "cli"),
        ]
        assert all(e.user.startswith("local:") for e in service.list_audit())
    finally:
        service.close()


def test_bad_input_is_refused_with_exit_2(project: Path) -> None:
    short = invoke(project, "add", "bob", "--role", "viewer", "--password-stdin", input="short\n")
    assert short.exit_code == 2 and "too short" in short.output
    empty = invoke(project, "add", "bob", "--role", "viewer", "--password-stdin", input="\n")
    assert empty.exit_code == 2  # no default password, ever
    role = invoke(project, "add", "bob", "--role", "root", "--password-stdin", input="x" * 9)
    assert role.exit_code == 2 and "viewer, labeller, editor" in role.output
    name = invoke(project, "add", "<b>", "--role", "viewer", "--password-stdin", input="x" * 9)
    assert name.exit_code == 2 and "not a valid user name" in name.output
    invoke(project, "add", "bob", "--role", "viewer", "--password-stdin", input="x" * 9)
    again = invoke(project, "add", "bob", "--role", "admin", "--password-stdin", input="y" * 9)
    assert again.exit_code == 2 and "exists already" in again.output
    assert invoke(project, "token", "ghost").exit_code == 2
    assert invoke(project, "remove", "ghost").exit_code == 2


def test_ui_refuses_to_start_without_users(project: Path) -> None:
    result = runner.invoke(app, ["ui", "-C", str(project)])
    assert result.exit_code == 2 and "loopml users add" in result.output


def test_ui_serves_the_api_on_the_port_given(project: Path, tmp_path: Path) -> None:
    import subprocess
    import sys

    import httpx

    invoke(project, "add", "ann", "--role", "viewer", "--password-stdin", input="ann-pass-1\n")
    port = free_port()
    log = tmp_path / "ui.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "loopml", "ui", "--port", str(port), "-C", str(project)],
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_ready(process, url, log, route="/api/v1/openapi.json")
        assert httpx.get(f"{url}/api/v1/projects").status_code == 401
        login = httpx.post(f"{url}/api/v1/session", json={"name": "ann", "password": "ann-pass-1"})
        assert login.status_code == 200 and "httponly" in login.headers["set-cookie"].lower()
        assert httpx.get(f"{url}/").text.startswith("<!doctype html>")  # the web UI
    finally:
        process.terminate()
        process.wait(timeout=10)
    assert f"web UI on {url}/ " in " ".join(log.read_text().split())
