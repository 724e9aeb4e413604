"""ONNX export of a model bundle: the feature transform and the estimator in one graph,
checked against the bundle with onnxruntime before it is written.

Supported: numeric features (imputed and scaled as the spec says) and categorical ones
(imputed, rare categories grouped, one-hot or ordinal encoded) feeding a linear model, a
random forest, LightGBM or XGBoost. Anything else (histogram gradient boosting, target
encoding, text, date, binned, derived or custom features, feature selection, fill or clip
rules of ``data.cleaning``, user estimators) is refused with a message naming it.

The graph takes one ``[N, 1]`` input per feature column: float64 for numeric columns,
strings for categorical ones (as loopml writes categories: ``1`` not ``1.0``; missing is
the empty string). ``onnx_inputs`` builds that feed from a DataFrame.

The graph's probabilities are the estimator's own. A binary classifier that the
evaluation calibrated maps them through its calibrator before the threshold: the export's
``loopml.json`` holds both (``calibration``: isotonic knots for linear interpolation,
flat beyond them, or Platt's ``sigmoid(a * logit(p) + b)``; ``threshold``, which applies
to the calibrated probability), and the parity check compares the graph with the
bundle's uncalibrated probabilities, which is what the graph computes.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from pathlib import Path
from typing import Any

from loopml.domain import ModelVersion
from loopml.errors import LoopMLError
from loopml.model.bundle import ModelBundle
from loopml.registry.onnx_ops import (
    MISSING_STRING,
    category_map,
    nan_fill,
    register_boosters,
    register_converters,
    string_fill,
)

ONNX_FILE = "model.onnx"
SUPPORTED_KINDS = ("linear", "random_forest", "lightgbm", "xgboost")
_WHY_NOT = {
    "hist_gradient_boosting": "skl2onnx 1.20 cannot convert scikit-learn 1.9's "
    "HistGradientBoosting trees (boolean missing-value flags)",
}
_STEPS = {
    "numeric": (("to_float", "impute", "scale"), ()),
    "categorical": (("to_str", "impute", "group", "encode"), ("OneHotEncoder", "OrdinalEncoder")),
}
_TOLERANCE = 1e-4


class UnsupportedForOnnx(LoopMLError):
    """The model holds a part that has no ONNX form here; the message names it."""


def write_onnx(version: ModelVersion, bundle: ModelBundle, path: Path) -> None:
    """Convert ``bundle`` and write ``model.onnx`` and ``loopml.json`` into ``path``.

    Raises UnsupportedForOnnx naming the part that cannot be converted, and LoopMLError
    when the converted graph does not reproduce the bundle's outputs.
    """
    _check_prepare(bundle)
    if bundle.target_transform is not None:
        raise UnsupportedForOnnx(
            f"ONNX export of {version.ref}: its target went through "
            f"target_transform: {bundle.target_transform}, which the graph would not undo; "
            "export it with --format mlflow instead"
        )
    columns = input_columns(bundle)
    onx = _convert(bundle, columns)
    _verify(bundle, onx, columns)
    path.mkdir(parents=True)
    (path / ONNX_FILE).write_bytes(onx.SerializeToString())
    info = {
        "model": version.ref,
        "inputs": {c: f"{t} [N, 1]" for c, t in columns.items()},
        "missing_string": MISSING_STRING,
        "outputs": ["label", "probabilities"] if bundle.task == "classification" else ["variable"],
        "classes": bundle.classes,
        # the graph's label is the most probable class; loopml predicts the positive class
        # of a binary model when its (calibrated) probability reaches this threshold
        "threshold": getattr(bundle, "threshold", 0.5),
        # the graph's probabilities are uncalibrated; loopml maps the positive class's
        # through this first (None: used as they are)
        "calibration": _calibration(bundle),
    }
    (path / "loopml.json").write_text(json.dumps(info, indent=2, default=str))


def onnx_inputs(frame: Any, columns: dict[str, str]) -> dict[str, Any]:
    """Feed for an onnxruntime session: each column as an ``[N, 1]`` array, float64 for
    numeric columns, category strings (missing as ``""``) for categorical ones."""
    import numpy as np

    from loopml.model.values import category_strings

    feed = {}
    for column, kind in columns.items():
        if kind == "string":
            values = category_strings(frame[column]).fillna(MISSING_STRING)
            feed[column] = values.to_numpy(dtype=object).reshape(-1, 1)
        else:
            numbers = frame[column].to_numpy(dtype=np.float64, na_value=np.nan)
            feed[column] = numbers.reshape(-1, 1)
    return feed


def input_columns(bundle: ModelBundle) -> dict[str, str]:
    """The graph's inputs (``float64`` or ``string``) by column, after checking that every
    step of the feature transform has an ONNX form."""
    transform = bundle.model_pipeline.steps[0][1]
    names = [name for name, _ in transform.steps]
    if names != ["columns"]:
        extra = ", ".join(n for n in names if n != "columns")
        raise UnsupportedForOnnx(f"ONNX export does not support the feature step(s) {extra}")
    columns: dict[str, str] = {}
    for name, part, cols in transform.named_steps["columns"].transformers_:
        if name == "remainder":
            continue
        role = _role(name, part, cols)
        kind = "float64" if role == "numeric" else "string"
        columns.update(dict.fromkeys(cols, kind))
    return columns


def _role(name: str, part: Any, cols: list[str]) -> str:
    steps = [s for s, _ in getattr(part, "steps", [])]
    for role, (allowed, encoders) in _STEPS.items():
        if not name.startswith(role) or steps[:1] != list(allowed[:1]):
            continue
        unknown = [s for s in steps if s not in allowed]
        encoder = type(part.steps[-1][1]).__name__
        if encoders and encoder not in encoders:
            unknown.append(f"{encoder} (use encoding onehot or ordinal)")
        if unknown:
            raise UnsupportedForOnnx(
                f"ONNX export does not support {', '.join(unknown)} of the '{name}' "
                f"features ({', '.join(cols)})"
            )
        return role
    raise UnsupportedForOnnx(
        f"ONNX export supports numeric and categorical features only; '{name}' features "
        f"({', '.join(cols)}) are not. Export with --format mlflow instead"
    )


def _check_prepare(bundle: ModelBundle) -> None:
    cleaner = bundle.cleaner
    features = set(bundle.feature_names)
    for entry in cleaner.entries_ if cleaner is not None else ():
        if entry["action"] in ("fill_missing", "clip_outliers") and entry["column"] in features:
            raise UnsupportedForOnnx(
                f"ONNX export cannot replay data.cleaning's {entry['action']} of column "
                f"'{entry['column']}'; export it with --format mlflow instead"
            )


def _convert(bundle: ModelBundle, columns: dict[str, str]) -> Any:
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import DoubleTensorType, StringTensorType

    if bundle.model_kind not in SUPPORTED_KINDS:
        why = _WHY_NOT.get(bundle.model_kind, "it has no converter here")
        raise UnsupportedForOnnx(
            f"ONNX export supports the model kinds {', '.join(SUPPORTED_KINDS)}, "
            f"not '{bundle.model_kind}' ({why}); export it with --format mlflow instead"
        )
    register_converters()
    register_boosters(bundle.model_kind)
    pipeline = _onnx_ready(bundle, bundle.model_kind)
    types = {"float64": DoubleTensorType, "string": StringTensorType}
    inputs = [(c, types[t]([None, 1])) for c, t in columns.items()]
    estimator = pipeline.steps[-1][1]
    options = {id(estimator): {"zipmap": False}} if bundle.task == "classification" else None
    try:
        return convert_sklearn(
            pipeline, initial_types=inputs, options=options, target_opset={"": 19, "ai.onnx.ml": 3}
        )
    except (RuntimeError, ValueError, TypeError, NotImplementedError) as exc:
        raise UnsupportedForOnnx(
            f"skl2onnx could not convert this {bundle.model_kind} model: {exc}"
        ) from exc


def _onnx_ready(bundle: ModelBundle, kind: str) -> Any:
    """A copy of the pipeline that converts exactly: ``to_float``/``to_str`` as identities,
    imputers and the rare-category grouper as stand-ins with ONNX converters, XGBoost
    without its label wrapper, and trees fed float32 as their libraries feed them."""
    import numpy as np

    pipeline = copy.deepcopy(bundle.model_pipeline)
    for name, part, _ in pipeline.steps[0][1].named_steps["columns"].transformers_:
        part.steps[0][1].func = None
        numeric = name.startswith("numeric")
        swaps = {"impute": nan_fill if numeric else string_fill, "group": category_map}
        part.steps = [(n, swaps[n](s) if n in swaps else s) for n, s in part.steps]
    name, model = pipeline.steps[-1]
    if hasattr(model, "encoder_") and hasattr(model, "estimator_"):
        model = model.estimator_
    steps = pipeline.steps[:-1]
    if kind != "linear":
        from skl2onnx.sklapi import CastTransformer

        steps.append(("to_float32", CastTransformer(dtype=np.float32)))
    pipeline.steps = [*steps, (name, model)]
    return pipeline


def _verify(bundle: ModelBundle, onx: Any, columns: dict[str, str], rows: int = 200) -> None:
    """Run the graph on rows drawn from the signature (ranges, categories, an unseen
    category, missing values) and compare with the bundle: LoopMLError past tolerance."""
    import numpy as np
    import onnxruntime as ort

    frame = _sample_rows(bundle, rows)
    session = ort.InferenceSession(onx.SerializeToString(), providers=["CPUExecutionProvider"])
    got = session.run(None, onnx_inputs(frame, columns))
    expected = uncalibrated(bundle).predict(frame)
    if expected.probabilities is not None:
        proba = got[1][:, 1] if expected.probabilities.ndim == 1 else got[1]
        gap = float(np.max(np.abs(proba - expected.probabilities)))
    else:
        scale = max(1.0, float(np.max(np.abs(expected.predictions))))
        gap = float(np.max(np.abs(got[0].ravel() - expected.predictions))) / scale
    if gap > _TOLERANCE:
        raise LoopMLError(
            f"the ONNX graph of this {bundle.model_kind} model differs from it by {gap:.2g} "
            f"(more than {_TOLERANCE}); not exported. Use --format mlflow instead"
        )


def uncalibrated(bundle: ModelBundle) -> ModelBundle:
    """``bundle`` without its calibrator: the probabilities the ONNX graph computes."""
    info = {k: v for k, v in bundle.info.items() if k != "calibration"}
    return dataclasses.replace(bundle, info=info)


def _calibration(bundle: ModelBundle) -> dict[str, Any] | None:
    """The calibrator as ``loopml.json`` states it, with the class it applies to."""
    calibration = getattr(bundle, "calibration", None)
    if calibration is None:
        return None
    return {**calibration, "applies_to": bundle.positive_class}


def _sample_rows(bundle: ModelBundle, rows: int) -> Any:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    data: dict[str, Any] = {}
    for c in bundle.signature.columns:
        if c.categories is not None:
            choices = np.asarray([*c.categories, "never seen"], dtype=object)
            data[c.name] = pd.Series(rng.choice(choices, rows), dtype=object)
        elif c.kind.value in ("categorical", "boolean", "text"):
            data[c.name] = pd.Series(rng.choice(["a", "b"], rows), dtype=object)
        else:
            data[c.name] = rng.uniform(c.min or 0.0, c.max or 1.0, rows)
    frame = pd.DataFrame(data)
    frame.iloc[::17, :] = np.nan
    return frame
