"""Text columns as TF-IDF."""

from __future__ import annotations

import pandas as pd

from loopml.features.text import TfidfColumns


def test_one_vectorizer_per_column_and_empty_columns() -> None:
    frame = pd.DataFrame(
        {
            "title": ["red bike", "blue bike", None],
            "empty": [None, "", None],
            "body": ["fast and light", "heavy", "light"],
        }
    )
    tfidf = TfidfColumns(max_features=3, ngram_max=1).fit(frame)
    assert tfidf.vectorizers_[1] is None
    names = tfidf.get_feature_names_out().tolist()
    assert names == ["title_bike", "title_blue", "title_red", "body_and", "body_fast", "body_light"]
    out = tfidf.transform(frame)
    assert out.shape == (3, 6) and out[2, :3].sum() == 0.0
