"""The monitor section: defaults, the auto rule, windows, policies, the old keys."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from loopml.spec.monitoring import DriftSettings, MonitorSpec, Policy, Window


def test_defaults_log_drift_alerts_in_daily_windows() -> None:
    spec = MonitorSpec()
    assert (spec.window.by, spec.window.seconds) == ("time", 86400)
    assert [(p.when, p.action) for p in spec.policies] == [(["drift"], "log")]
    assert spec.drift.thresholds.wasserstein == 0.05


@pytest.mark.parametrize(
    ("column_type", "rows", "test"),
    [
        ("numeric", 9_999, "ks"),
        ("numeric", 10_000, "wasserstein"),
        ("categorical", 50, "chisquare"),
        ("categorical", 1_000_000, "jensenshannon"),
    ],
)
def test_auto_picks_by_type_and_sample_size(column_type: str, rows: int, test: str) -> None:
    assert DriftSettings().choose(column_type, rows) == test


def test_a_fixed_test_wins_over_auto() -> None:
    settings = DriftSettings(numeric="psi", categorical="chisquare", large_sample=100)
    assert settings.choose("numeric", 5) == "psi"
    assert settings.choose("categorical", 10**6) == "chisquare"


def test_windows_by_time_and_by_count() -> None:
    assert Window(size="30min").seconds == 1800
    assert Window(by="count", size=500).size == 500
    with pytest.raises(ValidationError, match="a time window needs a duration"):
        Window(size="yesterday")
    with pytest.raises(ValidationError, match="a count window needs a whole number"):
        Window(by="count", size="1D")


def test_policies_check_their_fields() -> None:
    assert Policy(when="quality", action="log").when == ["quality"]
    with pytest.raises(ValidationError, match="a webhook policy needs 'url'"):
        Policy(action="webhook")
    with pytest.raises(ValidationError, match="'url' applies to webhook policies"):
        Policy(action="log", url="http://example.com")
    with pytest.raises(ValidationError, match="Input should be 'drift'"):
        Policy(when=["weather"], action="log")


def test_the_old_keys_still_mean_psi_everywhere_and_dump_in_the_new_form() -> None:
    spec = MonitorSpec.model_validate({"drift_method": "psi", "drift_threshold": 0.3})
    assert (spec.drift.numeric, spec.drift.categorical) == ("psi", "psi")
    assert spec.drift.thresholds.psi == 0.3
    dumped = spec.model_dump(mode="json", exclude_none=True)
    assert "drift_method" not in dumped and "drift_threshold" not in dumped
    assert MonitorSpec.model_validate(dumped) == spec
    with pytest.raises(ValidationError, match="use one form, not both"):
        MonitorSpec.model_validate({"drift_threshold": 0.3, "drift": {"numeric": "ks"}})
