"""Eight processes writing to one store at once: nothing lost, no gaps, no errors."""

from __future__ import annotations

from tests.storage.metadata.workers import METRICS, PROCESSES, RUNS, VERSIONS, run_workers

from loopml.domain import RunStatus
from loopml.storage.metadata import open_metadata_store


def test_concurrent_writers_lose_nothing(store_url: str) -> None:
    outcomes = run_workers(store_url)

    assert [o["errors"] for o in outcomes] == [[]] * PROCESSES
    assert len({o["project_id"] for o in outcomes}) == 1

    store = open_metadata_store(store_url)
    project = store.get_project("shared")
    runs = store.list_runs(project.project_id, limit=PROCESSES * RUNS + 10)
    assert len(runs) == PROCESSES * RUNS
    assert {r.run_id for r in runs} == {rid for o in outcomes for rid in o["runs"]}
    assert all(r.status is RunStatus.SUCCEEDED for r in runs)

    latest = store.latest_metrics([r.run_id for r in runs])
    for outcome in outcomes:
        worker = outcome["worker"]
        for i, run_id in enumerate(outcome["runs"]):
            expected = {f"m{k}": worker * 1e6 + i * 100 + k for k in range(METRICS)}
            assert latest[run_id] == expected
    assert sum(len(store.get_metrics(r.run_id)) for r in runs[:20]) == 20 * METRICS

    versions = sorted(v.version for v in store.list_model_versions("shared-model"))
    assert versions == list(range(1, PROCESSES * VERSIONS + 1))
    assert sorted(v for o in outcomes for v in o["versions"]) == versions
    store.close()
