"""The vectorised drift statistics agree with scipy's reference implementations."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from scipy.spatial.distance import jensenshannon

from loopml.distributions import statistics as st
from loopml.distributions.columns import numeric_reference


def test_js_distance_matches_scipy_in_base_2() -> None:
    p, q = np.array([50, 30, 20, 0]), np.array([10, 30, 40, 20])
    assert st.js_distance(p, q) == pytest.approx(jensenshannon(p, q, base=2), abs=1e-9)
    assert st.js_distance(p, p) == pytest.approx(0.0, abs=1e-9)
    assert st.js_distance(np.array([1, 0]), np.array([0, 1])) == pytest.approx(1.0)


def test_chisquare_pvalue_matches_scipy_contingency() -> None:
    ref, cur = np.array([120, 80, 50, 0]), np.array([90, 95, 60, 0])
    expected = stats.chi2_contingency(np.vstack([ref[:3], cur[:3]]), correction=False).pvalue
    assert st.chisquare_pvalue(ref, cur) == pytest.approx(expected, rel=1e-9)
    assert st.chisquare_pvalue(ref, np.zeros(4)) == 1.0  # nothing to compare


def test_ks_test_matches_scipy_asymptotic() -> None:
    rng = np.random.default_rng(0)
    ref, cur = rng.normal(0, 1, 3000), rng.normal(0.15, 1, 800)
    statistic, p_value = st.ks_test(np.sort(ref), cur)
    expected = stats.ks_2samp(ref, cur, method="asymp")
    assert statistic == pytest.approx(expected.statistic, abs=1e-12)
    assert p_value == pytest.approx(expected.pvalue, rel=0.05)
    assert st.ks_test(np.sort(ref), np.empty(0)) == (0.0, 1.0)


@pytest.mark.parametrize("shift", [0.0, 0.1, 0.5])
def test_binned_wasserstein_is_close_to_the_exact_distance(shift: float) -> None:
    rng = np.random.default_rng(1)
    ref, cur = rng.lognormal(3, 0.5, 50_000), rng.lognormal(3, 0.5, 20_000)
    cur = cur + shift * ref.std()
    reference = numeric_reference("x", ref)
    window = reference.window()
    window.add(cur, reference)
    binned = st.wasserstein_binned(reference.counts, reference.sums, window.counts, window.sums)
    exact = stats.wasserstein_distance(ref, cur)
    assert binned == pytest.approx(exact, abs=0.01 * ref.std())


def test_psi_of_equal_counts_is_zero_and_grows_with_a_shift() -> None:
    ref = np.array([100, 100, 100, 100])
    assert st.psi(ref, ref) == pytest.approx(0.0)
    assert st.psi(ref, np.array([130, 100, 100, 70])) < st.psi(ref, np.array([200, 100, 80, 20]))
