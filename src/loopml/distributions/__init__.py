"""The one drift engine: a reference column binned once (``columns``), windows of rows
counted into its bins, and the test chosen by type and size scoring each window
(``measure``, on the vectorised ``statistics``). Monitoring, ``loopml drift`` and
``loopml data diff`` all measure through it."""
