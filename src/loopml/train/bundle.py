"""Where bundles pickled by loopml 0.1 look for their class: the bundle now lives in
``loopml.model``. Kept so that registered versions stay loadable; import from
``loopml.model`` in new code."""

from loopml.model.bundle import PLATT_EPS, ModelBundle, Prediction, calibrate

__all__ = ["PLATT_EPS", "ModelBundle", "Prediction", "calibrate"]
