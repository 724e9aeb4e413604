"""Deployments in the store: which version serves, in which mode; changes and rollback.

A project has at most one ``active`` deployment: its ``version`` answers requests and,
in ``shadow``, ``ab`` and ``canary`` modes, its ``config`` names the ``challenger``
version, the challenger's ``percent`` of traffic and the sticky ``key`` field. Each new
deployment remembers the one it replaced (``config.previous``), which becomes
``replaced``; a ``single`` deployment made from an alias (``bank@champion``, or the
champion ``loopml serve`` picks) follows it (``config.alias``): the active deployment is
read with the version the alias names now, so servers swap when it moves. ``rollback``
marks the active one ``rolled_back`` and makes the previous one active again. Who made a
change, when known (the team server's signed-in user), is ``config.by`` of the new
deployment and ``by`` of its event. Running
servers watch the active deployment and follow it without a restart. Every change is
an event: ``deployment.started`` (the first), ``deployment.changed`` and
``deployment.rolled_back``.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from loopml.domain import Deployment, ModelVersion
from loopml.errors import ConflictError, NotFoundError, SpecError
from loopml.storage.metadata.protocols import MetadataStore

MODES = ("single", "shadow", "ab", "canary")
DEFAULT_PERCENT = {"single": 0.0, "shadow": 100.0, "ab": 50.0, "canary": 5.0}
ACTIVE = "active"


def active_deployment(store: MetadataStore, project_id: str) -> Deployment | None:
    """The project's active deployment, or None; one that follows an alias comes with
    the version the alias names now (the recorded one when the alias is gone)."""
    for deployment in store.list_deployments(project_id):
        if deployment.status == ACTIVE:
            return following(store, deployment)
    return None


def following(store: MetadataStore, deployment: Deployment) -> Deployment:
    """``deployment`` with the version its alias names now (itself without an alias)."""
    alias = deployment.alias
    if alias is None:
        return deployment
    try:
        moved = store.get_model_by_alias(deployment.model_name, alias)
    except NotFoundError:
        return deployment
    if moved.version == deployment.version:
        return deployment
    return dataclasses.replace(deployment, version=moved.version)


def deploy(
    store: MetadataStore,
    project_id: str,
    version: ModelVersion,
    *,
    mode: str = "single",
    champion: ModelVersion | None = None,
    percent: float | None = None,
    key: str | None = None,
    url: str | None = None,
    alias: str | None = None,
    by: str = "",
) -> Deployment:
    """Make ``version`` serve in ``mode`` and record the change as an event.

    ``single`` serves ``version`` alone. The other modes put ``version`` beside the
    version serving now (the active deployment's, else ``champion``): ``shadow`` scores
    every request with it and logs the answer without returning it, ``ab`` and
    ``canary`` let it answer ``percent`` of the traffic (50 and 5 by default), split by
    the value of the ``key`` field so that a customer keeps meeting the same model.
    With ``alias`` (mode single only) the deployment follows that alias: when it moves
    to another version, running servers answer with that version. ``by`` (who deploys)
    is kept in the deployment's config and its event when given.

    Raises:
        SpecError: an unknown mode, a percent outside 0-100, a key with mode single,
            or an alias with another mode.
        ConflictError: a challenger mode with nothing serving to compare against, or
            with the challenger already serving.
    """
    _check(mode, percent, key)
    if alias is not None and mode != "single":
        raise SpecError(f"only a single deployment follows an alias, not mode {mode}")
    current = active_deployment(store, project_id)
    config: dict[str, Any] = {"alias": alias} if alias else {}
    primary = version.version
    if mode != "single":
        primary = _primary_version(current, champion, version)
        config = {
            "challenger": version.version,
            "percent": DEFAULT_PERCENT[mode] if percent is None else float(percent),
            "key": key,
        }
    if current is not None:
        config["previous"] = current.deployment_id
    if by:
        config["by"] = by
    deployment = store.add_deployment(
        project_id, version.name, primary, mode=mode, url=url, config=config
    )
    for other in store.list_deployments(project_id):
        if other.status == ACTIVE and other.deployment_id != deployment.deployment_id:
            store.set_deployment_status(other.deployment_id, "replaced")
    kind = "deployment.started" if current is None else "deployment.changed"
    store.add_event(project_id, kind, {**_payload(deployment, current), **_who(by)})
    return deployment


def rollback(
    store: MetadataStore, project_id: str, *, by: str = ""
) -> tuple[Deployment, Deployment]:
    """Return to the deployment the active one replaced; (rolled back, restored).
    ``by`` (who rolls back) is kept in the event when given.

    Raises:
        ConflictError: nothing is deployed, or the active deployment replaced nothing.
    """
    current = active_deployment(store, project_id)
    if current is None:
        raise ConflictError("nothing is deployed; run `loopml deploy NAME@VERSION` first")
    previous_id = (current.config or {}).get("previous")
    if not previous_id:
        raise ConflictError(
            f"deployment {current.deployment_id} ({current.model_name}@{current.version}) "
            "replaced nothing: there is no earlier deployment to return to"
        )
    rolled = store.set_deployment_status(current.deployment_id, "rolled_back")
    restored = store.set_deployment_status(previous_id, ACTIVE)
    payload = {**_payload(restored, rolled), **_who(by)}
    store.add_event(project_id, "deployment.rolled_back", payload)
    return rolled, restored


def stop_if_active(store: MetadataStore, project_id: str, deployment_id: str) -> None:
    """Mark ``deployment_id`` stopped unless another deployment replaced it meanwhile."""
    current = active_deployment(store, project_id)
    if current is not None and current.deployment_id == deployment_id:
        store.set_deployment_status(deployment_id, "stopped")
        store.add_event(project_id, "deployment.stopped", {"deployment_id": deployment_id})


def describe(deployment: Deployment) -> str:
    """``bank@3 single`` or ``bank@3 canary: bank@4 gets 5% by customer_id``."""
    text = f"{deployment.model_name}@{deployment.version} {deployment.mode}"
    if deployment.alias is not None:
        text += f" (follows @{deployment.alias})"
    config = deployment.config or {}
    challenger = config.get("challenger")
    if deployment.mode == "shadow" and challenger is not None:
        return f"{text}: {deployment.model_name}@{challenger} scores every request in shadow"
    if challenger is not None:
        by = f" by {config['key']}" if config.get("key") else ""
        share = f"{config.get('percent', 0):g}%"
        return f"{text}: {deployment.model_name}@{challenger} gets {share}{by}"
    return text


def _check(mode: str, percent: float | None, key: str | None) -> None:
    if mode not in MODES:
        raise SpecError(f"--mode: unknown mode '{mode}'; use one of {', '.join(MODES)}")
    if percent is not None and not 0.0 <= percent <= 100.0:
        raise SpecError(f"--percent: {percent} is outside 0-100")
    if mode == "single" and (key is not None or percent is not None):
        raise SpecError("--key and --percent apply to the ab and canary modes, not single")
    if mode == "shadow" and percent is not None and percent != 100.0:
        raise SpecError("--percent does not apply to shadow: the challenger sees every request")


def _primary_version(
    current: Deployment | None, champion: ModelVersion | None, challenger: ModelVersion
) -> int:
    if current is not None:
        primary = current.version
    elif champion is not None:
        primary = champion.version
    else:
        raise ConflictError(
            f"nothing serves yet to compare {challenger.ref} with; deploy a version in "
            "mode single first (or set the champion alias)"
        )
    if primary == challenger.version:
        raise ConflictError(
            f"{challenger.ref} already serves; deploy another version as the challenger"
        )
    return primary


def _who(by: str) -> dict[str, str]:
    """``{"by": by}`` for an event when someone is named, else nothing."""
    return {"by": by} if by else {}


def _payload(deployment: Deployment, previous: Deployment | None) -> dict[str, Any]:
    config = dict(deployment.config or {})
    return {
        "deployment_id": deployment.deployment_id,
        "model": f"{deployment.model_name}@{deployment.version}",
        "mode": deployment.mode,
        "challenger": config.get("challenger"),
        "percent": config.get("percent"),
        "key": config.get("key"),
        "alias": config.get("alias"),
        "previous_deployment_id": None if previous is None else previous.deployment_id,
        "previous_model": None if previous is None else f"{previous.model_name}@{previous.version}",
    }


class StoreDeployments:
    """The ``DeploymentSource`` a server reads: the project's active deployment for
    ``model_name`` and verified bundles from the registry."""

    def __init__(self, store: MetadataStore, artifacts: Any, project_id: str, model_name: str):
        self.store = store
        self.artifacts = artifacts
        self.project_id = project_id
        self.model_name = model_name

    def active(self) -> Deployment | None:
        deployment = active_deployment(self.store, self.project_id)
        if deployment is None or deployment.model_name != self.model_name:
            return None
        return deployment

    def load(self, version: int) -> Any:
        from loopml.registry import load_bundle

        return load_bundle(self.store, self.artifacts, f"{self.model_name}@{version}")[1]
