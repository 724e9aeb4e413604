"""Register model versions, resolve ``name@version|alias`` and load bundles safely.

Every change is an event, which is the version's stage history: ``model.registered``,
``model.approval_requested``, ``model.approved``, ``model.rejected``, ``model.promoted``,
``model.alias_set`` and ``model.alias_deleted``, each with ``model`` and ``version``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from loopml.domain import ModelRef, ModelVersion, Schema
from loopml.errors import NotFoundError
from loopml.model.bundle import ModelBundle
from loopml.storage.artifacts.protocols import ArtifactStore
from loopml.storage.metadata.protocols import MetadataStore

CHAMPION = "champion"
CHALLENGER = "challenger"


def register_model(
    store: MetadataStore,
    project_id: str,
    name: str,
    *,
    artifact_digest: str,
    run_id: str,
    signature: Schema,
    metrics: Mapping[str, float],
    lineage: Mapping[str, Any],
    champion: bool,
    require_approval: bool = False,
    approvers: Sequence[str] = (),
) -> ModelVersion:
    """Register the next version of ``name``; point ``champion`` at it when asked.

    With ``require_approval`` a version that would be champion becomes ``challenger``
    instead and waits for `loopml approve` (a ``model.approval_requested`` event).
    The artifact must already be in the artifact store (the training step wrote it), so
    the registered digest is the very bytes that training produced.
    """
    version = store.create_model_version(
        project_id,
        name,
        run_id=run_id,
        artifact_digest=artifact_digest,
        signature=signature,
        metrics=metrics,
        lineage=lineage,
    )
    store.add_event(
        project_id,
        "model.registered",
        {
            "model": name,
            "version": version.version,
            "run_id": run_id,
            "artifact_digest": artifact_digest,
            "gate": lineage.get("gate"),
        },
    )
    if champion and require_approval:
        set_challenger(store, project_id, name, version.version)
        payload = {"model": name, "version": version.version, "approvers": list(approvers)}
        store.add_event(project_id, "model.approval_requested", payload)
    elif champion:
        promote(store, project_id, name, version.version, reason="passed the gate")
    return store.get_model_version(name, version.version)


def set_challenger(store: MetadataStore, project_id: str, name: str, version: int) -> None:
    """Point ``challenger`` at ``name@version`` and record it (``model.alias_set``)."""
    details = {"alias": CHALLENGER, "by": ""}
    move_alias(store, project_id, name, CHALLENGER, version, "model.alias_set", details)


def promote(store: MetadataStore, project_id: str, name: str, version: int, *, reason: str) -> None:
    """Make ``name@version`` the champion and record the change as an event."""
    move_alias(store, project_id, name, CHAMPION, version, "model.promoted", {"reason": reason})


def move_alias(
    store: MetadataStore,
    project_id: str,
    name: str,
    alias: str,
    version: int,
    event: str,
    details: Mapping[str, Any],
) -> None:
    """Point ``alias`` at ``name@version`` and record ``event`` with the version it
    pointed at before (``previous``) and ``details``."""
    previous = find_alias(store, name, alias)
    store.set_alias(name, alias, version)
    payload = {"model": name, "version": version, "previous": previous and previous.version}
    store.add_event(project_id, event, {**payload, **details})


def resolve_model(store: MetadataStore, ref: str | ModelRef) -> ModelVersion:
    """The model version that ``ref`` (``name``, ``name@3``, ``name@champion``) names."""
    parsed = ModelRef.parse(ref) if isinstance(ref, str) else ref
    if parsed.version is not None:
        return store.get_model_version(parsed.name, parsed.version)
    return store.get_model_by_alias(parsed.name, parsed.alias)


def load_bundle(
    store: MetadataStore, artifacts: ArtifactStore, ref: str | ModelRef
) -> tuple[ModelVersion, ModelBundle]:
    """Resolve ``ref`` and load its bundle after verifying the artifact's sha256.

    Raises NotFoundError for an unknown model, version or alias, and IntegrityError when
    the stored bytes were changed (the artifact is then never unpickled).
    """
    version = resolve_model(store, ref)
    data = artifacts.get_bytes(version.artifact_digest)
    return version, ModelBundle.from_bytes(data)


def find_alias(store: MetadataStore, name: str, alias: str) -> ModelVersion | None:
    """The version ``alias`` points at, or None."""
    try:
        return store.get_model_by_alias(name, alias)
    except NotFoundError:
        return None


def output_schema(bundle: ModelBundle) -> dict[str, Any]:
    """What the model returns: the columns `loopml predict` writes, with their types.

    Classifiers: ``prediction`` (one of ``classes``) and ``probability`` of the positive
    class (binary) or ``probability_<class>`` per class; regression: a float, with
    ``prediction_low`` and ``prediction_high`` when the model has a conformal interval
    (``info["interval"]``: its level).
    """
    if bundle.task == "regression":
        return {"task": "regression", "columns": _regression_columns(bundle)}
    classes = [_plain(c) for c in bundle.classes or []]
    positive = _plain(bundle.positive_class)
    kind = _type_of(classes)
    columns: list[dict[str, Any]] = [{"name": "prediction", "type": kind, "classes": classes}]
    if len(classes) == 2:
        threshold = float(getattr(bundle, "threshold", 0.5))
        columns[0]["rule"] = f"{positive} when probability >= {threshold:g}"
        columns.append({"name": "probability", "type": "float", "of_class": positive})
    else:
        columns += [{"name": f"probability_{c}", "type": "float", "of_class": c} for c in classes]
    return {"task": "classification", "positive_class": positive, "columns": columns}


def _regression_columns(bundle: ModelBundle) -> list[dict[str, Any]]:
    columns: list[dict[str, Any]] = [{"name": "prediction", "type": "float"}]
    interval = bundle.info.get("interval")
    if interval:
        level = float(interval["level"])
        ends = ("low", "high")
        columns += [{"name": f"prediction_{e}", "type": "float", "level": level} for e in ends]
    return columns


def _plain(value: Any) -> Any:
    """A numpy scalar as the Python value it holds (JSON-safe)."""
    return value.item() if hasattr(value, "item") else value


def _type_of(values: Sequence[Any]) -> str:
    if all(isinstance(v, bool) for v in values):
        return "bool"
    if all(isinstance(v, int) for v in values):
        return "int"
    if all(isinstance(v, (int, float)) for v in values):
        return "float"
    return "string"
