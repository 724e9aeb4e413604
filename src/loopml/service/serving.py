"""Serving, deployments, batch scoring and packages."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loopml.domain import (
    Deployment,
    ModelVersion,
)
from loopml.errors import DataError, NotFoundError

if TYPE_CHECKING:
    from loopml.serve.batch import BatchResult


from loopml.service.base import ServiceBase


class ServingMixin(ServiceBase):
    """The model server, deployments, batch scoring and packages."""

    def serving_app(
        self, ref: str | None = None, *, token: str | None = None, **options: Any
    ) -> tuple[Any, ModelVersion]:
        """The model server app for the active deployment (else ``ref``, default the champion)
        that logs every prediction and feedback to this project and follows
        ``loopml deploy`` / ``loopml rollback`` without a restart; ``POST /explain``
        measures contributions from the served version's training rows. ``token`` (default
        ``LOOPML_TOKEN``) guards /predict, /feedback and /admin; ``options`` override
        fields of ``ServeOptions`` (the spec's ``serve`` section gives the defaults)."""
        from loopml.serve.app import ServeOptions, create_app
        from loopml.serve.deploy import StoreDeployments, active_deployment
        from loopml.serve.sink import store_sink

        active = active_deployment(self.store, self.project.project_id)
        if ref is None and active is not None:
            ref = f"{active.model_name}@{active.version}"
        version, bundle = self.load_model(ref)
        settings = self.spec.serve.model_dump(exclude={"host", "port"})
        token = token if token is not None else os.environ.get("LOOPML_TOKEN") or None
        serve_options = ServeOptions(**{**settings, "token": token, **options})
        project_id = self.project.project_id

        def sink_for(v: int, shadow: bool) -> Any:
            return store_sink(self.store, self.artifacts, project_id, version.name, v)

        def feedback(items: list[tuple[str, Any]]) -> int:
            return self.store.add_feedback(project_id, items)

        def background(v: int) -> Any:
            """Training rows of ``version.name@v`` for POST /explain (as `loopml explain`)."""
            trained = self.store.get_model_version(version.name, v)
            return self._training_sample(trained)

        app = create_app(
            bundle,
            model_name=version.name,
            version=version.version,
            sink_for=sink_for,
            options=serve_options,
            deployments=StoreDeployments(self.store, self.artifacts, project_id, version.name),
            feedback=feedback,
            background=background,
        )
        return app, version

    def start_serving(self, version: ModelVersion, url: str, ref: str | None = None) -> str | None:
        """Record ``version`` (what ``ref`` named; None: the active deployment, else the
        champion) as a single deployment unless the active one already serves it so;
        returns the new deployment's id (for ``stop_serving``) or None. A deployment
        made from an alias (``ref`` NAME@ALIAS, or the champion by default) follows it."""
        from loopml.serve.deploy import active_deployment, deploy

        active = active_deployment(self.store, self.project.project_id)
        alias = _alias_of(ref) if ref is not None else None if active is not None else "champion"
        same = active is not None and (active.model_name, active.version) == (
            version.name,
            version.version,
        )
        if same and (alias is None or active is not None and active.alias == alias):
            return None
        project_id = self.project.project_id
        return deploy(self.store, project_id, version, url=url, alias=alias).deployment_id

    def stop_serving(self, deployment_id: str | None) -> None:
        """Mark the deployment ``start_serving`` made as stopped, if it is still active."""
        from loopml.serve.deploy import stop_if_active

        if deployment_id is not None:
            stop_if_active(self.store, self.project.project_id, deployment_id)

    def deploy(
        self,
        ref: str,
        mode: str = "single",
        *,
        percent: float | None = None,
        key: str | None = None,
        follow: bool = True,
        by: str = "",
    ) -> Deployment:
        """Deploy ``ref`` (NAME@VERSION or NAME@ALIAS) in ``mode``; see serve.deploy. In
        mode single an alias is followed (servers move with it) unless ``follow`` is
        False, which pins the version it names now. ``by`` (the team server's signed-in
        user) is recorded in the deployment and its event."""
        from loopml.registry import resolve_model
        from loopml.serve import deploy as deployments

        version = resolve_model(self.store, ref)
        if key is not None and key not in version.signature.names():
            raise DataError(
                f"--key {key!r} is not an input of {version.ref}; "
                f"use one of {', '.join(version.signature.names())}"
            )
        champion = None
        if mode != "single":
            try:
                champion = self.store.get_model_by_alias(version.name, "champion")
            except NotFoundError:
                champion = None
        return deployments.deploy(
            self.store,
            self.project.project_id,
            version,
            mode=mode,
            champion=champion,
            percent=percent,
            key=key,
            alias=_alias_of(ref) if follow and mode == "single" else None,
            by=by,
        )

    def rollback(self, by: str = "") -> tuple[Deployment, Deployment]:
        """Return to the previous deployment: (rolled back, restored); ``by`` (who) is
        recorded in the event."""
        from loopml.serve.deploy import rollback

        return rollback(self.store, self.project.project_id, by=by)

    def list_deployments(self) -> list[Deployment]:
        """This project's deployments, newest first."""
        return self.store.list_deployments(self.project.project_id)

    def package_model(self, ref: str | None, output: Path, *, force: bool = False) -> Path:
        """Write a self-contained serving folder for ``ref`` (see serve.package)."""
        from loopml.registry import resolve_model
        from loopml.serve.package import write_package

        version = resolve_model(self.store, self._model_ref(ref))
        data = self.artifacts.get_bytes(version.artifact_digest)
        meta = {
            "name": version.name,
            "version": version.version,
            "signature": version.signature.to_dict(),
            "metrics": dict(version.metrics),
        }
        return write_package(self._path(output), data, meta, force=force)

    def predict_file(
        self,
        ref: str | None,
        source: Path | str,
        output: Path | str,
        *,
        chunk_rows: int = 100_000,
        progress: Callable[[int, int | None], None] | None = None,
        errors: Path | None = None,
        workers: int = 1,
        cluster: str | None = None,
    ) -> BatchResult:
        """Check and score ``source`` (CSV/Parquet in chunks; TSV/JSON whole) into
        ``output`` (.csv or .parquet) under the spec's input policy (``serve.invalid``,
        ``serve.unknown``, ``serve.check_range``), calling ``progress(rows_done,
        total_or_None)`` per chunk; ``errors`` (.csv or .parquet) receives every problem
        found: row, column, rule, value and action.

        ``source`` and ``output`` may be URLs given as text (``"s3://..."``; a ``Path``
        would lose the ``//``), read and written through fsspec with the settings'
        ``storage_options``. A Parquet ``source`` is scored by
        parts (``loopml.serve.parts``) when either is a URL, ``workers`` > 1 or a
        ``cluster`` is named: in ``workers`` local processes, or on that Dask cluster;
        progress then comes once per part. The settings' ``cluster`` (the team's, set for
        the search) applies only to a URL ``source``, which its workers can read; a local
        file is scored here, chunk by chunk, unless ``cluster`` names one (its output
        uploaded to a URL).
        """
        from loopml.compute.parts import is_url
        from loopml.model.checks import InputPolicy
        from loopml.serve.batch import score_checked, write_problems

        version, bundle = self.load_model(ref)
        source_at, output_at = self._place(source), self._place(output)
        cluster = cluster or (self.settings.cluster if is_url(source_at) else None)
        options: dict[str, Any] = {
            "policy": InputPolicy.of(self.spec.serve),
            "chunk_rows": chunk_rows,
            "progress": progress,
            "where": version.ref,
        }
        spread = is_url(output_at) or workers > 1 or bool(cluster)
        parquet = Path(source_at).suffix.lower() in (".parquet", ".pq")
        if is_url(source_at) or (spread and parquet):
            result = self._score_parts(bundle, source_at, output_at, workers, cluster, options)
        elif is_url(output_at):
            from loopml.serve.parts import score_local_csv

            options["storage_options"] = self.settings.storage_options
            result = score_local_csv(bundle, Path(source_at), output_at, **options)
        else:
            result = score_checked(bundle, Path(source_at), Path(output_at), **options)
        if errors is not None:
            write_problems(result.report, self._path(errors))
        return result

    def _score_parts(
        self,
        bundle: Any,
        source: str,
        output: str,
        workers: int,
        cluster: str | None,
        options: dict[str, Any],
    ) -> BatchResult:
        """``score_parts`` on the executor for ``workers`` and ``cluster``, closed after."""
        from loopml.compute import executor_for
        from loopml.serve.parts import score_parts

        executor = executor_for(workers, cluster=cluster)
        try:
            return score_parts(
                bundle,
                source,
                output,
                executor,
                storage_options=self.settings.storage_options,
                **options,
            )
        finally:
            executor.close()

    def _place(self, path: Path | str) -> str:
        """A URL as given, a path resolved in the project folder."""
        from loopml.compute.parts import is_url

        text = str(path)
        return text if is_url(text) else str(self._path(Path(text)))


def _alias_of(ref: str) -> str | None:
    """The alias ``ref`` names (``bank@champion``: champion), None for a version."""
    from loopml.domain import ModelRef

    parsed = ModelRef.parse(ref)
    return None if parsed.version is not None else parsed.alias
