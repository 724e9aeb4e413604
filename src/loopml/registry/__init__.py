"""The model registry: versions with lineage, aliases, approval, verified loading, export."""

from loopml.registry.aliases import delete_alias, set_alias
from loopml.registry.approval import approval_status, approve, reject
from loopml.registry.export import FORMATS, export_version
from loopml.registry.history import (
    VersionDetails,
    describe_version,
    list_with_status,
    stage_history,
)
from loopml.registry.loaded import LoadedModel
from loopml.registry.registry import (
    CHALLENGER,
    CHAMPION,
    find_alias,
    load_bundle,
    output_schema,
    promote,
    register_model,
    resolve_model,
    set_challenger,
)

__all__ = [
    "CHALLENGER",
    "CHAMPION",
    "FORMATS",
    "LoadedModel",
    "VersionDetails",
    "approval_status",
    "approve",
    "delete_alias",
    "describe_version",
    "export_version",
    "find_alias",
    "list_with_status",
    "load_bundle",
    "output_schema",
    "promote",
    "register_model",
    "reject",
    "resolve_model",
    "set_alias",
    "set_challenger",
    "stage_history",
]
