"""The facade every interface calls: one ``ProjectService`` per project folder."""

from loopml.service.monitoring import MonitorResult
from loopml.service.project import ProjectService, init_project, load_model
from loopml.service.runs import RunSummary

__all__ = ["MonitorResult", "ProjectService", "RunSummary", "init_project", "load_model"]
