"""The project at a glance (champion, verdict, deployment, alert, counts) and its reports."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from loopml.domain import Event
from loopml.errors import NotFoundError
from loopml.service.base import ServiceBase

REPORT_SUFFIX = ".html"


@dataclass(frozen=True)
class Report:
    """An HTML report the lifecycle wrote: ``kind`` is the first word of its name
    (``evaluation``, ``monitor``, ``profile``, ``compare``, ...)."""

    name: str
    kind: str
    created_at: datetime
    size: int


class OverviewMixin(ServiceBase):
    """What a projects page shows first, and the reports folder."""

    def overview(self) -> dict[str, Any]:
        """The project at a glance, read from the store (nothing is run or written):
        ``champion`` (``ref``, ``version``, ``metrics``; None without one), ``verdict``
        (the latest ``gate.verdict`` event), ``deployment`` (the active one), ``alert``
        (the latest monitoring check: ``alert``, ``at``, ``reasons``) and ``counts`` of
        runs, versions and snapshots."""
        from loopml.registry import CHAMPION, find_alias
        from loopml.serve.deploy import active_deployment

        project_id = self.project.project_id
        champion = find_alias(self.store, self.spec.name, CHAMPION)
        events = self.store.list_events(project_id)
        return {
            "project": self.project,
            "champion": None
            if champion is None
            else {"ref": champion.ref, "version": champion.version, "metrics": champion.metrics},
            "verdict": _latest(events, "gate.verdict"),
            "deployment": active_deployment(self.store, project_id),
            "alert": _alert(_latest(events, "drift.checked")),
            "counts": {
                "runs": self.store.count_runs(project_id),
                "versions": len(self.store.list_model_versions(self.spec.name)),
                "snapshots": len(self.store.list_snapshots(project_id)),
            },
        }

    def list_reports(self) -> list[Report]:
        """The HTML reports in the project's reports folder, newest first."""
        folder = self.reports_dir
        if not folder.is_dir():
            return []
        found = []
        for path in folder.iterdir():
            if path.suffix == REPORT_SUFFIX and path.is_file() and not path.name.startswith("."):
                stat = path.stat()
                modified = datetime.fromtimestamp(stat.st_mtime, UTC)
                kind = path.stem.split("-", 1)[0]
                found.append(Report(path.name, kind, modified, stat.st_size))
        return sorted(found, key=lambda r: (r.created_at, r.name), reverse=True)

    def report_path(self, name: str) -> Path:
        """The file of report ``name``: only a name ``list_reports`` lists (never a path
        built from the text given), so nothing outside the reports folder is reachable.

        Raises NotFoundError for any other name."""
        for report in self.list_reports():
            if report.name == name:
                return self.reports_dir / report.name
        raise NotFoundError(
            f"no report '{name}' in the reports of project '{self.spec.name}'; "
            "GET .../reports lists them"
        )


def _latest(events: list[Event], kind: str) -> Event | None:
    return next((e for e in reversed(events) if e.kind == kind), None)


def _alert(checked: Event | None) -> dict[str, Any] | None:
    """The monitoring status a ``drift.checked`` event records: alert, when, and why."""
    if checked is None:
        return None
    payload = checked.payload
    return {
        "alert": bool(payload.get("alert")),
        "at": checked.created_at,
        "model": payload.get("model"),
        "reasons": dict(payload.get("signals") or {}),
        "message": payload.get("message"),
    }
