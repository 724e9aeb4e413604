"""The evidence a retraining decision rests on.

Retraining needs three things from the logged traffic: the rows that got feedback (the
"feedback-labelled traffic"), split by time into the older part that joins the training
data and the most recent part that judges champion against challenger, and a judgement
that names both models' values of the primary metric on the same rows. Shadow traffic
gives a second judgement: the champion's and the challenger's logged answers to the same
requests, scored against the feedback that arrived for them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import pandas as pd

from loopml.errors import DataError

ModelScore = Callable[[pd.DataFrame], float | None]
"""The primary metric of one model on rows holding the features and the target."""


@dataclass(frozen=True)
class Judgement:
    """Champion against challenger on the same ``rows``: ``better`` when the challenger
    improves the primary ``metric`` by at least the margin."""

    metric: str
    rows: int
    champion: float | None
    challenger: float | None
    improvement: float | None
    margin: float
    better: bool
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def labelled_traffic(
    log: pd.DataFrame, feedback: Mapping[str, Any], target: str, features: Sequence[str]
) -> pd.DataFrame:
    """The served (not shadow) requests that got feedback: ``features`` as logged, the
    feedback value as ``target`` and ``predicted_at``, oldest first, one row per id."""
    if log.empty or not feedback:
        return pd.DataFrame(columns=[*features, target, "predicted_at"])
    missing = [c for c in (*features, "prediction_id", "predicted_at") if c not in log.columns]
    if missing:
        raise DataError(f"the prediction log lacks the columns {missing} that retraining needs")
    served = log[~_is_shadow(log)]
    served = served[served["prediction_id"].isin(feedback.keys())]
    served = served.drop_duplicates("prediction_id", keep="last")
    rows = served[[*features, "predicted_at"]].copy()
    rows[target] = served["prediction_id"].map(feedback).to_numpy()
    rows = rows[rows[target].notna()]
    return rows.sort_values("predicted_at", kind="stable").reset_index(drop=True)


def split_recent(rows: pd.DataFrame, share: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``rows`` (oldest first) cut into the older part and the latest ``share`` of them."""
    if not 0 < share < 1:
        raise ValueError(f"split_recent: share must be between 0 and 1, got {share}")
    cut = len(rows) - max(1, round(len(rows) * share)) if len(rows) else 0
    return rows.iloc[:cut].reset_index(drop=True), rows.iloc[cut:].reset_index(drop=True)


def judge(
    metric: str,
    greater_is_better: bool,
    champion: float | None,
    challenger: float | None,
    *,
    rows: int,
    margin: float,
) -> Judgement:
    """Whether ``challenger`` beats ``champion`` on ``metric`` by at least ``margin``, a
    fraction of the champion's value (0.02: two per cent better)."""
    if champion is None or challenger is None:
        reason = f"{metric} could not be computed on the {rows} rows for both models"
        return Judgement(metric, rows, champion, challenger, None, margin, False, reason)
    gain = challenger - champion if greater_is_better else champion - challenger
    improvement = gain / abs(champion) if champion else gain
    better = improvement > 0 and improvement >= margin
    word = "better" if improvement > 0 else "no better"
    reason = (
        f"challenger {metric} {challenger:.4g} vs champion {champion:.4g} on {rows} rows: "
        f"{word} by {improvement:+.1%} (needs {margin:.1%})"
    )
    return Judgement(metric, rows, champion, challenger, improvement, margin, better, reason)


def shadow_pairs(log: pd.DataFrame, feedback: Mapping[str, Any], challenger: int) -> pd.DataFrame:
    """Requests answered by the served model and shadowed by ``challenger``, with feedback:
    one row per prediction id with ``truth`` and each side's ``prediction`` (and
    ``probability``) suffixed ``_champion`` / ``_challenger``."""
    if log.empty or "model_version" not in log.columns:
        return pd.DataFrame()
    shadow = _is_shadow(log)
    keep = ["prediction_id", "prediction", *(["probability"] if "probability" in log else [])]
    ours = log[shadow & (log["model_version"] == challenger)][keep]
    theirs = log[~shadow][keep]
    pairs = theirs.merge(ours, on="prediction_id", suffixes=("_champion", "_challenger"))
    pairs = pairs[pairs["prediction_id"].isin(feedback.keys())].copy()
    pairs["truth"] = pairs["prediction_id"].map(feedback).to_numpy()
    return pairs.reset_index(drop=True)


def side(pairs: pd.DataFrame, name: str) -> pd.DataFrame:
    """One side of ``shadow_pairs`` with plain column names, for a monitor scorer."""
    columns = {f"{c}_{name}": c for c in ("prediction", "probability")}
    present = {k: v for k, v in columns.items() if k in pairs.columns}
    return pairs[["truth", *present]].rename(columns=present)


def shadow_requests(log: pd.DataFrame, challenger: int) -> int:
    """How many requests ``challenger`` has shadowed."""
    if log.empty or "model_version" not in log.columns:
        return 0
    return int((_is_shadow(log) & (log["model_version"] == challenger)).sum())


def _is_shadow(log: pd.DataFrame) -> pd.Series:
    if "shadow" not in log.columns:
        return pd.Series(False, index=log.index)
    return log["shadow"].fillna(False).astype(bool)
