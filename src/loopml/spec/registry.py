"""Spec section ``registry``: what a version needs before it becomes the champion.

In YAML::

    registry:
      require_approval: true        # a version that passes the gate waits as `challenger`
      approvers: [alice, bob]       # who may approve or reject (default: anyone named)

Without approval, a version that passes the gate becomes the champion at once. With it,
only ``loopml approve NAME@VERSION --by NAME`` promotes it; ``loopml reject`` records why
it never will.
"""

from __future__ import annotations

from typing import Self

from pydantic import Field, model_validator

from loopml.spec.base import Section


class RegistrySpec(Section):
    """``require_approval``: a named person must approve a version before it is champion;
    ``approvers``: the names allowed to approve or reject (empty: anyone named)."""

    require_approval: bool = False
    approvers: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _clean_names(self) -> Self:
        blank = [i for i, name in enumerate(self.approvers) if not name.strip()]
        if blank:
            raise ValueError(f"approvers[{blank[0]}] is empty; give each approver's name")
        if len(set(self.approvers)) != len(self.approvers):
            raise ValueError("approvers: a name is listed twice")
        return self
