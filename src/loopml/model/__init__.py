"""The model every stage shares: the bundle (cleaning, features, estimator, calibration,
threshold), its signature, prediction types, and the target and label helpers.

It sits below the stages: training writes a bundle, evaluation, the registry, serving,
batch scoring, exports and monitoring read it, and none of them needs another stage's
code to do so.
"""

from loopml.model.bundle import PLATT_EPS, ModelBundle, Prediction, calibrate
from loopml.model.labels import match_label, plain_value, positive_label, target_values

__all__ = [
    "PLATT_EPS",
    "ModelBundle",
    "Prediction",
    "calibrate",
    "match_label",
    "plain_value",
    "positive_label",
    "target_values",
]
