"""The public API is exactly what ``__all__`` says, and importing it stays cheap."""

from __future__ import annotations

import loopml


def test_all_names_resolve() -> None:
    for name in loopml.__all__:
        assert getattr(loopml, name) is not None


def test_unknown_attribute_raises() -> None:
    try:
        loopml.does_not_exist  # noqa: B018
    except AttributeError as exc:
        assert "does_not_exist" in str(exc)
    else:  # pragma: no cover
        raise AssertionError("expected AttributeError")


def test_dir_lists_the_public_api_even_before_first_use() -> None:
    names = dir(loopml)
    assert names == sorted(loopml.__all__)
    for name in ("start_run", "log_metric", "Tracker", "ProjectService", "load_model"):
        assert name in names
