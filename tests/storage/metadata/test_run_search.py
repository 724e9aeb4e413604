"""``search_runs`` and ``set_params`` of the RunStore contract, on SQLite and PostgreSQL."""

from __future__ import annotations

import math

import pytest

from loopml.domain import Metric, Project, Run, RunStatus
from loopml.errors import NotFoundError
from loopml.storage.metadata import MetadataStore
from loopml.storage.metadata.protocols import Condition, classify_key


def ids(runs: list[Run]) -> list[str]:
    return [r.run_id for r in runs]


@pytest.fixture
def trials(store: MetadataStore, project: Project) -> list[Run]:
    """A search with four trials: auc (latest) 0.9, 0.7, NaN, none; params and tags vary."""
    pid = project.project_id
    search = store.create_run(pid, "search")
    made = [
        store.create_run(
            pid,
            "trial",
            parent_run_id=search.run_id,
            params={"lr": lr, "model": model, "flag": flag},
            tags={"state": state, "fold": fold},
        )
        for lr, model, flag, state, fold in [
            (0.1, "lightgbm", True, "complete", "10"),
            (0.01, "xgboost", False, "complete", "3"),
            ("auto", "linear", None, "pruned", "x"),
            (0.5, "lightgbm", True, "running", "7"),
        ]
    ]
    store.log_metrics(made[0].run_id, [Metric("auc", 0.5, 0), Metric("auc", 0.9, 3)])
    store.log_metrics(made[0].run_id, [Metric("loss", 0.2)])
    # a higher value at an earlier step, then a lower latest value: the latest counts
    store.log_metrics(made[1].run_id, [Metric("auc", 0.95, 1), Metric("auc", 0.7, 2)])
    store.log_metrics(made[1].run_id, [Metric("loss", 0.4)])
    store.log_metrics(made[2].run_id, [Metric("auc", 0.99, 0), Metric("auc", math.nan, 1)])
    for run in made[:3]:
        store.finish_run(run.run_id, RunStatus.SUCCEEDED)
    store.finish_run(search.run_id, RunStatus.SUCCEEDED)
    return [search, *made]


def search(store: MetadataStore, project: Project, *where: Condition, **kw) -> list[str]:
    return ids(store.search_runs(project.project_id, where=list(where), **kw))


def test_metric_conditions_use_the_latest_value(
    store: MetadataStore, project: Project, trials: list[Run]
) -> None:
    _, a, b, nan, none = trials
    assert search(store, project, Condition("auc", ">", 0.8)) == [a.run_id]
    assert search(store, project, Condition("auc", ">=", 0.7)) == [b.run_id, a.run_id]
    assert search(store, project, Condition("auc", "<", 0.8)) == [b.run_id]
    assert search(store, project, Condition("auc", "==", 0.7)) == [b.run_id]
    # a run without the metric, or whose latest value is NaN, never matches
    assert search(store, project, Condition("auc", "!=", 0.7)) == [a.run_id]
    assert search(store, project, Condition("metrics.auc", "<=", 0.9)) == [b.run_id, a.run_id]
    both = [Condition("auc", ">", 0.6), Condition("loss", "<", 0.3)]
    assert search(store, project, *both) == [a.run_id]
    assert search(store, project, Condition("absent", ">", 0)) == []
    assert none.run_id not in search(store, project, Condition("auc", "<", 100))
    assert nan.run_id not in search(store, project, Condition("auc", ">", -100))


def test_attribute_conditions(store: MetadataStore, project: Project, trials: list[Run]) -> None:
    search_run, a, b, nan, running = trials
    finished = search(store, project, Condition("status", "==", "succeeded"))
    assert finished == [nan.run_id, b.run_id, a.run_id, search_run.run_id]
    assert search(store, project, Condition("status", "!=", "succeeded")) == [running.run_id]
    assert search(store, project, Condition("name", "==", "search")) == [search_run.run_id]
    assert len(search(store, project, Condition("attributes.name", "!=", "search"))) == 4
    quick = search(store, project, Condition("duration", ">=", 0))
    assert set(quick) == {search_run.run_id, a.run_id, b.run_id, nan.run_id}  # not running
    assert search(store, project, Condition("duration", ">", 3600)) == []


def test_param_and_tag_conditions(
    store: MetadataStore, project: Project, trials: list[Run]
) -> None:
    _, a, b, auto, d = trials
    assert search(store, project, Condition("params.lr", ">", 0.05)) == [d.run_id, a.run_id]
    assert search(store, project, Condition("params.lr", "==", "auto")) == [auto.run_id]
    lightgbm = Condition("params.model", "==", "lightgbm")
    assert search(store, project, lightgbm) == [d.run_id, a.run_id]
    assert search(store, project, Condition("params.model", "!=", "lightgbm")) == [
        auto.run_id,
        b.run_id,
    ]
    assert search(store, project, Condition("params.flag", "==", "true")) == [d.run_id, a.run_id]
    assert search(store, project, Condition("params.flag", "==", "null")) == [auto.run_id]
    assert search(store, project, Condition("params.absent", "!=", "x")) == []
    assert search(store, project, Condition("tags.state", "==", "pruned")) == [auto.run_id]
    assert search(store, project, Condition("tags.fold", ">", 5)) == [d.run_id, a.run_id]
    mixed = [lightgbm, Condition("auc", ">", 0.5), Condition("tags.fold", "<", 20)]
    assert search(store, project, *mixed) == [a.run_id]


def test_filters_order_and_limit(store: MetadataStore, project: Project, trials: list[Run]) -> None:
    search_run, a, b, nan, none = trials
    children = search(store, project, parent_run_id=search_run.run_id)
    assert children == [none.run_id, nan.run_id, b.run_id, a.run_id]
    assert search(store, project, name="search") == [search_run.run_id]
    assert search(store, project, status=RunStatus.RUNNING) == [none.run_id]
    # runs without a value come last in both directions; ties newest first
    by_auc = search(store, project, parent_run_id=search_run.run_id, order_by="auc")
    assert by_auc == [b.run_id, a.run_id, none.run_id, nan.run_id]
    by_auc_desc = search(store, project, parent_run_id=search_run.run_id, order_by="-auc")
    assert by_auc_desc == [a.run_id, b.run_id, none.run_id, nan.run_id]
    assert search(store, project, order_by="-auc", limit=1) == [a.run_id]
    assert search(store, project, order_by="name", limit=1) == [search_run.run_id]
    assert search(store, project, order_by="-duration")[-1] == none.run_id
    lightgbm = Condition("params.model", "==", "lightgbm")
    assert search(store, project, lightgbm, order_by="auc") == [a.run_id, none.run_id]
    assert search(store, project, lightgbm, limit=1) == [none.run_id]
    other = store.ensure_project("other")
    assert store.search_runs(other.project_id, where=[Condition("auc", ">", 0)]) == []


def test_search_returns_whole_runs(
    store: MetadataStore, project: Project, trials: list[Run]
) -> None:
    found = store.search_runs(project.project_id, where=[Condition("tags.state", "==", "pruned")])
    assert found == [store.get_run(trials[3].run_id)]
    assert dict(found[0].tags) == {"state": "pruned", "fold": "x"}


def test_search_errors(store: MetadataStore, project: Project) -> None:
    with pytest.raises(ValueError, match="cannot order runs by 'params.lr'"):
        store.search_runs(project.project_id, order_by="params.lr")
    with pytest.raises(TypeError, match="Condition objects"):
        store.search_runs(project.project_id, where=["auc > 1"])  # type: ignore[list-item]


def test_search_among_many_runs_in_chunks(store: MetadataStore, project: Project) -> None:
    pid = project.project_id
    made = [store.create_run(pid, "t", params={"i": i}) for i in range(600)]
    for run in made[::50]:
        store.log_metrics(run.run_id, [Metric("m", 1.0)])
    found = search(store, project, Condition("params.i", ">=", 0), Condition("m", ">", 0))
    assert found == [r.run_id for r in reversed(made[::50])]
    # the Python filter reads past the first chunk of 500 rows to fill the limit
    assert len(search(store, project, Condition("params.i", "<", 550), limit=520)) == 520
    ids = [r.run_id for r in made]  # one query, however many ids
    for keys in (None, ["m"]):
        latest = store.latest_metrics(ids, keys)
        assert len(latest) == 600 and sum(1 for v in latest.values() if v == {"m": 1.0}) == 12


def test_latest_metrics_of_chosen_keys(
    store: MetadataStore, project: Project, trials: list[Run]
) -> None:
    _, a, b, nan, none = trials
    ids = [a.run_id, b.run_id, nan.run_id, none.run_id]
    latest = store.latest_metrics(ids, ["auc", "absent"])
    assert latest[a.run_id] == {"auc": 0.9} and latest[b.run_id] == {"auc": 0.7}
    assert latest[none.run_id] == {}
    assert list(latest[nan.run_id]) == ["auc"] and math.isnan(latest[nan.run_id]["auc"])
    assert store.latest_metrics(ids, []) == {run_id: {} for run_id in ids}
    assert store.latest_metrics([], ["auc"]) == {}
    everything = store.latest_metrics(ids)
    assert everything[a.run_id] == {"auc": 0.9, "loss": 0.2}
    assert math.isnan(everything[nan.run_id]["auc"])


def test_conditions_are_validated() -> None:
    assert Condition("auc", ">", 1).value == 1.0
    assert str(Condition("tags.state", "==", "done")) == "tags.state == 'done'"
    assert classify_key("params.lr") == ("param", "lr")
    assert classify_key("attributes.duration") == ("attribute", "duration")
    assert classify_key("a.b") == ("metric", "a.b")
    for key, op, value, message in [
        ("auc", "~", 1, "not a comparison"),
        ("auc", ">", "high", "compares with a number"),
        ("duration", ">", "long", "compares with a number"),
        ("status", ">", "failed", "only with == or !="),
        ("status", "==", "done", "not a run status"),
        ("name", "==", 3, "compares with a string"),
        ("params.", "==", 3, "names nothing"),
        ("attributes.cost", ">", 3, "not a run attribute"),
        ("auc", ">", True, "must be a number or a string"),
    ]:
        with pytest.raises(ValueError, match=message):
            Condition(key, op, value)


def test_set_params_adds_and_overwrites(store: MetadataStore, project: Project) -> None:
    run = store.create_run(project.project_id, "train", params={"a": 1, "b": 2})
    store.set_params(run.run_id, {"b": 3, "c": {"nested": [1, "x"]}})
    store.set_params(run.run_id, {})
    assert dict(store.get_run(run.run_id).params) == {"a": 1, "b": 3, "c": {"nested": [1, "x"]}}
    store.finish_run(run.run_id, RunStatus.SUCCEEDED)
    store.set_params(run.run_id, {"late": True})
    assert store.get_run(run.run_id).params["late"] is True
    with pytest.raises(NotFoundError, match="loopml runs"):
        store.set_params("0" * 32, {"a": 1})
    with pytest.raises(NotFoundError):
        store.set_params("0" * 32, {})


def test_latest_value_survives_batches_logged_out_of_step_order(
    store: MetadataStore, project: Project
) -> None:
    run = store.create_run(project.project_id, "t")
    store.log_metrics(run.run_id, [Metric("auc", 0.8, 5)])
    store.log_metrics(run.run_id, [Metric("auc", 0.1, 2), Metric("auc", 0.2, 4)])  # older
    assert store.latest_metrics([run.run_id]) == {run.run_id: {"auc": 0.8}}
    store.log_metrics(run.run_id, [Metric("auc", 0.6, 5), Metric("auc", 0.7, 5)])  # a tie
    assert store.latest_metrics([run.run_id]) == {run.run_id: {"auc": 0.7}}
    assert search(store, project, Condition("auc", "==", 0.7)) == [run.run_id]
    assert search(store, project, Condition("auc", "<", 0.7)) == []


def test_count_runs_counts_every_page(
    store: MetadataStore, project: Project, trials: list[Run]
) -> None:
    pid = project.project_id
    _, a, b, _, running = trials
    assert store.count_runs(pid) == 5
    assert store.count_runs(pid, where=[Condition("auc", ">=", 0.7)]) == 2  # SQL only
    by_model = [Condition("params.model", "==", "lightgbm")]  # read in Python
    assert store.count_runs(pid, where=by_model) == 2
    assert store.count_runs(pid, where=[*by_model, Condition("auc", ">", 0)]) == 1
    assert store.count_runs(pid, name="trial", status=RunStatus.RUNNING) == 1
    assert store.count_runs(pid, parent_run_id=a.run_id) == 0
    assert len(search(store, project, *by_model, limit=1)) == 1  # a page, not the count


def test_sorting_on_a_metric_puts_runs_without_it_last(
    store: MetadataStore, project: Project, trials: list[Run]
) -> None:
    search_run, a, b, nan, none = trials
    descending = search(store, project, order_by="-auc")
    assert descending[:2] == [a.run_id, b.run_id]
    assert set(descending[2:]) == {nan.run_id, none.run_id, search_run.run_id}
    assert search(store, project, order_by="auc")[:2] == [b.run_id, a.run_id]


def test_text_equality_on_params_is_exact_through_its_sql_prefilter(
    store: MetadataStore, project: Project
) -> None:
    pid = project.project_id
    wanted = store.create_run(pid, "t", params={"offer": "50%_off", "city": "café"})
    store.create_run(pid, "t", params={"offer": "50Xyoff"})  # LIKE wildcards are escaped
    store.create_run(pid, "t", params={"cfg": {"offer": "50%_off"}})  # nested: no match
    store.create_run(pid, "t", params={"offer": "50%_OFF"})  # LIKE ignores case; == does not
    flagged = store.create_run(pid, "t", params={"offer": True, "city": None})
    assert search(store, project, Condition("params.offer", "==", "50%_off")) == [wanted.run_id]
    assert search(store, project, Condition("params.city", "==", "café")) == [wanted.run_id]
    assert store.count_runs(pid, where=[Condition("params.offer", "==", "50%_off")]) == 1
    # JSON literals compare as text with non-string params: no prefilter may drop them
    assert search(store, project, Condition("params.offer", "==", "true")) == [flagged.run_id]
    assert search(store, project, Condition("params.city", "==", "null")) == [flagged.run_id]
