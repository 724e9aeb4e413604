"""Monitoring: drift (``compare``, ``measure``, ``statistics``, ``columns``), the prediction
log read into windows (``traffic``), judged (``checks``), acted on (``alerts``), drawn
(``dashboard``), and repeated (``watch``). ``drift`` keeps the plain PSI of data diffs."""
