"""User aliases (``challenger``, ``staging``, ...) and moving ``champion`` by hand, as events."""

from __future__ import annotations

import re

from loopml.domain import ModelVersion
from loopml.errors import ConflictError, DataError
from loopml.registry.approval import require_approved
from loopml.registry.registry import CHAMPION, move_alias, promote
from loopml.storage.metadata.protocols import MetadataStore

_ALIAS = re.compile(r"^[A-Za-z][A-Za-z0-9_.\-]*$")


def set_alias(
    store: MetadataStore, project_id: str, version: ModelVersion, alias: str, *, by: str = ""
) -> None:
    """Point ``alias`` at ``version``; ``champion`` only for a version that may be one.

    Raises DataError for a malformed alias, ConflictError when ``champion`` is asked for a
    no-go version or one that waits for (or lost) approval.
    """
    check_alias(alias)
    if alias == CHAMPION:
        if version.lineage.get("gate") not in (None, "go"):
            raise ConflictError(
                f"{version.ref} did not pass the gate (verdict {version.lineage['gate']}); "
                "it cannot be the champion"
            )
        require_approved(store, project_id, version)
        promote(
            store,
            project_id,
            version.name,
            version.version,
            reason=_by("alias set by", by) or "alias set by hand",
        )
        return
    move_alias(
        store,
        project_id,
        version.name,
        alias,
        version.version,
        "model.alias_set",
        {"alias": alias, "by": by},
    )


def delete_alias(
    store: MetadataStore, project_id: str, name: str, alias: str, *, by: str = ""
) -> int:
    """Remove ``alias`` from model ``name`` and return the version it pointed at.

    Raises NotFoundError when it is not set and ConflictError for ``champion`` (move it
    to another version instead: serving follows it).
    """
    check_alias(alias)
    if alias == CHAMPION:
        raise ConflictError(
            f"the champion of '{name}' cannot be deleted, only moved: "
            f"`loopml alias set {name}@VERSION champion`"
        )
    version = store.get_model_by_alias(name, alias).version
    store.delete_alias(name, alias)
    payload = {"model": name, "version": version, "alias": alias, "by": by}
    store.add_event(project_id, "model.alias_deleted", payload)
    return version


def _by(prefix: str, by: str) -> str:
    return f"{prefix} {by}" if by else ""


def check_alias(alias: str) -> None:
    """DataError unless ``alias`` is a valid alias name."""
    if not _ALIAS.match(alias):
        raise DataError(
            f"'{alias}' is not a valid alias: start with a letter, then letters, digits, "
            "'_', '.' or '-' (a number would read as a version)"
        )
