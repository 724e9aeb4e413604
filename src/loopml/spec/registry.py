"""Spec section ``registry``: what a version needs before it becomes the champion.

In YAML::

    registry:
      require_approval: true        # a version that passes the gate waits as `challenger`
      approvers: [alice, bob]       # who may approve or reject (default: anyone named)
      champion: {beat_champion: true, tolerance: 0.01, metric: rmse}

Without approval, a version that passes the gate becomes the champion at once. With it,
only ``loopml approve NAME@VERSION --by NAME`` promotes it; ``loopml reject`` records why
it never will.

``champion`` (on by default): a version that passes the gate becomes the champion only
when it is not worse than the current champion on the same hold-out by more than
``tolerance`` (a share of the champion's value: 0.01 is 1 %) on ``metric`` (the primary
metric unless named); otherwise it is registered as ``challenger`` and the reason is kept
in its lineage (``champion_check``). ``beat_champion: false`` turns the comparison off.
"""

from __future__ import annotations

from typing import Self

from pydantic import Field, model_validator

from loopml.spec.base import Section


class ChampionSpec(Section):
    """Whether a new version must hold its own against the current champion
    (``beat_champion``), by how much it may be worse (``tolerance``, a share of the
    champion's value) and on which ``metric`` (the primary metric unless named)."""

    beat_champion: bool = True
    tolerance: float = Field(default=0.01, ge=0.0, le=1.0)
    metric: str | None = None


class RegistrySpec(Section):
    """``require_approval``: a named person must approve a version before it is champion;
    ``approvers``: the names allowed to approve or reject (empty: anyone named);
    ``champion``: how a new version is compared with the current champion."""

    require_approval: bool = False
    approvers: list[str] = Field(default_factory=list)
    champion: ChampionSpec = Field(default_factory=ChampionSpec)

    @model_validator(mode="after")
    def _clean_names(self) -> Self:
        blank = [i for i, name in enumerate(self.approvers) if not name.strip()]
        if blank:
            raise ValueError(f"approvers[{blank[0]}] is empty; give each approver's name")
        if len(set(self.approvers)) != len(self.approvers):
            raise ValueError("approvers: a name is listed twice")
        return self
