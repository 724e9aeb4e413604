"""Where a parallel search keeps its one Optuna study, so that every worker reaches it.

- A PostgreSQL metadata store: Optuna's ``RDBStorage`` on the same database, in a schema
  of its own beside the store's (``<store schema>_optuna``, or ``loopml_optuna`` for a
  store in the default schema): Optuna's tables have their own names, but both keep an
  Alembic ``alembic_version`` table, which must not be shared.
- A SQLite store: a journal file in a temporary folder, which only workers on this
  machine reach (the process pool, ``local`` or a scheduler on loopback).

A study lives for one search: ``drop`` deletes it once its trials are read. A trial
whose worker died is left ``RUNNING``; ``fail_lost_trials`` ends it ``FAIL`` with an
error, in the study and as the trial's child run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import optuna

from loopml.domain import RunStatus
from loopml.errors import StageError, StorageError
from loopml.storage.metadata.protocols import RunStore

LOST = "the worker running this trial was lost (its process died or left the cluster)"
DEFAULT_SCHEMA = "loopml_optuna"
_SEARCH_PATH = re.compile(r"-c\s*search_path\s*=\s*([A-Za-z_][A-Za-z0-9_]*)")


@dataclass(frozen=True)
class StudyStorage:
    """Picklable directions to a study's storage: ``journal`` (``location`` is the file)
    or ``rdb`` (``location`` a SQLAlchemy URL, Optuna's tables in ``schema``)."""

    kind: Literal["journal", "rdb"]
    location: str
    schema: str = ""

    def open(self, *, create: bool = False) -> optuna.storages.BaseStorage:
        """The Optuna storage; ``create`` makes Optuna's tables when missing (once, by
        the search's own process; workers skip the checks)."""
        if self.kind == "journal":
            from optuna.storages import JournalStorage
            from optuna.storages.journal import JournalFileBackend

            return JournalStorage(JournalFileBackend(self.location))
        engine = {"connect_args": {"options": f"-csearch_path={self.schema}"}}
        return optuna.storages.RDBStorage(
            self.location,
            engine_kwargs=engine,
            skip_compatibility_check=not create,
            skip_table_creation=not create,
        )

    def drop(self, study_name: str) -> None:
        """Delete the study (its trials are in the metadata store)."""
        if self.kind == "rdb":
            storage = self.open()
            try:
                optuna.delete_study(study_name=study_name, storage=storage)
            except KeyError:
                pass
            finally:
                close_storage(storage)


def shared_storage(store_url: str, folder: str, *, workers_here: bool) -> StudyStorage:
    """The study storage for a search whose metadata store is ``store_url``.

    ``workers_here``: every worker runs on this machine (so a file in ``folder`` is
    shared). Raises StageError for a SQLite store with workers elsewhere, StorageError
    when Optuna's schema cannot be created.
    """
    from loopml.storage.metadata.engine import normalize_url

    check_reachable(store_url, workers_here=workers_here)
    url = normalize_url(store_url)
    if url.get_backend_name() == "postgresql":
        schema = optuna_schema(store_url)
        base = url.difference_update_query(["schema", "options"])
        _ensure_schema(store_url, schema)
        return StudyStorage("rdb", base.render_as_string(hide_password=False), schema)
    return StudyStorage("journal", str(Path(folder) / "study.journal"))


def check_reachable(store_url: str, *, workers_here: bool) -> None:
    """Raise StageError when workers elsewhere could not reach the store (a SQLite file
    on this machine)."""
    from loopml.storage.metadata.engine import normalize_url

    if workers_here or normalize_url(store_url).get_backend_name() == "postgresql":
        return
    raise StageError(
        "a search on a remote Dask cluster needs a metadata store its workers reach: "
        "the SQLite store is a file on this machine. Set LOOPML_DB to a PostgreSQL "
        "store, or run the cluster here (LOOPML_CLUSTER=local, or a scheduler on "
        "127.0.0.1)",
        step="train",
    )


def optuna_schema(store_url: str) -> str:
    """The schema for Optuna's tables beside the PostgreSQL store at ``store_url``: the
    store's schema (``?schema=`` or a ``search_path`` option) with ``_optuna``."""
    from loopml.storage.metadata.engine import normalize_url, store_schema

    url = normalize_url(store_url)
    schema = store_schema(url)
    if schema is None:
        options = url.query.get("options")
        match = _SEARCH_PATH.search(options if isinstance(options, str) else "")
        schema = match.group(1) if match else None
    return f"{schema}_optuna" if schema else DEFAULT_SCHEMA


def _ensure_schema(store_url: str, schema: str) -> None:
    import sqlalchemy as sa

    from loopml.config import mask_url
    from loopml.storage.metadata.engine import create_engine

    engine = create_engine(store_url)
    try:
        with engine.begin() as conn:
            known = sa.text("select 1 from pg_namespace where nspname = :schema")
            if conn.execute(known, {"schema": schema}).first() is None:
                conn.exec_driver_sql(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
    except sa.exc.IntegrityError:
        pass  # another search created it at the same moment
    except sa.exc.SQLAlchemyError as exc:
        raise StorageError(
            f"cannot create the schema '{schema}' for the search's Optuna study beside the "
            f"store {mask_url(store_url)}: {exc}. Create it, or grant CREATE on the database"
        ) from exc
    finally:
        engine.dispose()


def close_storage(storage: optuna.storages.BaseStorage) -> None:
    """Release a storage's database connections (nothing for a journal)."""
    engine = getattr(storage, "engine", None)
    if engine is not None:
        engine.dispose()


def fail_lost_trials(
    storage: optuna.storages.BaseStorage,
    trials: list[optuna.trial.FrozenTrial],
    store: RunStore,
) -> int:
    """End each of ``trials`` (left running by a lost worker) ``FAIL`` with the error
    ``LOST``, and its child run ``failed``; returns how many were ended (a trial that
    ended meanwhile is left as it is)."""
    ended = 0
    for trial in trials:
        trial_id = trial._trial_id  # Optuna's storages address trials by this id
        try:
            storage.set_trial_user_attr(trial_id, "error", LOST)
            storage.set_trial_state_values(trial_id, optuna.trial.TrialState.FAIL)
        except optuna.exceptions.UpdateFinishedTrialError:
            continue
        ended += 1
        run_id = trial.user_attrs.get("run_id")
        if run_id:
            fail_lost_run(store, str(run_id))
    return ended


def fail_lost_run(store: RunStore, run_id: str) -> None:
    """End a trial's child run left running by a lost worker ``failed``."""
    run = store.get_run(run_id)
    if run.status is not RunStatus.RUNNING:
        return
    folds = len(store.get_metrics(run_id, "fit_seconds"))  # one per fold it scored
    store.set_tags(run_id, {"state": "failed", "folds": str(folds)})
    store.finish_run(run_id, RunStatus.FAILED, error=LOST)
