"""The project at a glance and runs compared: ``/api/v1/projects/P/overview`` and
``/runs/compare`` (read by every role; nothing is run or written)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from loopml.interfaces.api.common import Service, check_project
from loopml.interfaces.api.encode import plain
from loopml.interfaces.api.policy import READERS, allow

router = APIRouter(prefix="/api/v1/projects/{project}")
MAX_COMPARED = 500


@router.get("/overview")
@allow(*READERS)
def overview(project: str, service: Service) -> Any:
    """Champion, latest gate verdict, active deployment, latest monitoring status and
    counts of runs, versions and snapshots."""
    check_project(service, project)
    return plain(service.overview())


@router.get("/runs/compare")
@allow(*READERS)
def compare(
    project: str,
    service: Service,
    id: Annotated[  # noqa: A002 - the query parameter's name
        list[str],
        Query(min_length=1, max_length=MAX_COMPARED, description="a run id or prefix"),
    ],
) -> Any:
    """Runs side by side (params and latest metrics) and every metric's curve per run:
    ``curves[metric][run_id] = [[step, value], ...]``."""
    check_project(service, project)
    found = service.run_curves(id)
    runs = [{**plain(r), "metrics": plain(found.metrics[r.run_id])} for r in found.runs]
    return {
        "runs": runs,
        "param_keys": found.param_keys,
        "metric_keys": found.metric_keys,
        "differing_params": found.differing_params,
        "curves": plain(found.curves),
    }
