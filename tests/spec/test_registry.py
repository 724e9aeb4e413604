"""Spec section ``registry``: approval is off by default; mistakes name the line."""

from __future__ import annotations

import pytest

from loopml.errors import SpecError
from loopml.spec import parse_spec

BASE = """\
name: churn
problem: {task: classification, target: y, primary_metric: roc_auc}
data:
  source: {path: data.csv}
"""


def test_approval_is_off_unless_asked() -> None:
    assert parse_spec(BASE).registry.require_approval is False
    spec = parse_spec(BASE + "registry: {require_approval: true, approvers: [alice, bob]}\n")
    assert spec.registry.require_approval and spec.registry.approvers == ["alice", "bob"]


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        ("registry: {require_aproval: true}", ":5: registry.require_aproval: unknown key"),
        ("registry: {approvers: [alice, alice]}", "a name is listed twice"),
        ("registry: {approvers: [alice, ' ']}", "approvers[1] is empty"),
    ],
)
def test_mistakes_are_named(section: str, expected: str) -> None:
    with pytest.raises(SpecError) as info:
        parse_spec(BASE + section + "\n", "loopml.yaml")
    assert expected in str(info.value)
