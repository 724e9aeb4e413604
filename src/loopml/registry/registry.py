"""Register model versions, resolve ``name@version|alias`` and load bundles safely."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from loopml.domain import ModelRef, ModelVersion, Schema
from loopml.errors import NotFoundError
from loopml.storage.artifacts.protocols import ArtifactStore
from loopml.storage.metadata.protocols import MetadataStore
from loopml.train.bundle import ModelBundle

CHAMPION = "champion"


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
) -> ModelVersion:
    """Register the next version of ``name``; point ``champion`` at it when asked.

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
    if champion:
        promote(store, project_id, name, version.version, reason="passed the gate")
        version = store.get_model_version(name, version.version)
    return version


def promote(store: MetadataStore, project_id: str, name: str, version: int, *, reason: str) -> None:
    """Make ``name@version`` the champion and record the change as an event."""
    previous = _find_alias(store, name, CHAMPION)
    store.set_alias(name, CHAMPION, version)
    store.add_event(
        project_id,
        "model.promoted",
        {
            "model": name,
            "version": version,
            "previous": previous.version if previous else None,
            "reason": reason,
        },
    )


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


def _find_alias(store: MetadataStore, name: str, alias: str) -> ModelVersion | None:
    try:
        return store.get_model_by_alias(name, alias)
    except NotFoundError:
        return None
