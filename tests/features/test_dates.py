"""Date parts of datetime and text-date columns."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from loopml.features.dates import DateFeatures


def test_text_dates_keep_their_format_on_one_row() -> None:
    train = pd.DataFrame({"d": ["1/2/11", "12/31/11"]})  # m/d/yy
    parts = DateFeatures(("year", "month", "day", "hour")).fit(train)
    assert parts.formats_ == ["%m/%d/%y"]
    assert parts.transform(pd.DataFrame({"d": ["3/4/12"]})).tolist() == [[2012, 3, 4]]
    assert parts.get_feature_names_out().tolist() == ["d_year", "d_month", "d_day"]


def test_unparsable_dates_are_missing() -> None:
    parts = DateFeatures(("is_weekend",)).fit(pd.DataFrame({"d": ["2024-01-06", "2024-01-08"]}))
    out = parts.transform(pd.DataFrame({"d": ["2024-01-06", "soon"]}))
    assert out[0, 0] == 1.0 and np.isnan(out[1, 0])


def test_unknown_part() -> None:
    with pytest.raises(ValueError, match="parts="):
        DateFeatures(("week",)).fit(pd.DataFrame({"d": ["2024-01-06"]}))
