"""The one exception tree of loopml.

Every error loopml raises on purpose is a ``LoopMLError``. Each class also inherits the
built-in exception it refines, so generic callers (``except ValueError``) still work::

    LoopMLError
      SpecError (ValueError)          the project spec is wrong: field, line, allowed values
      DataError (ValueError)          input data is wrong: file, column, row, example
        SchemaViolation               data breaks the saved schema
      NotFoundError (LookupError)     a project, run, model, version or alias does not exist
      ConflictError                   already exists, or a concurrent change won
      IntegrityError                  an artifact's hash does not match: refuse, never load
      StorageError                    a backend failed; chained with ``from exc``
        SchemaOutdated                the database schema is older than the code
      StageError                      a lifecycle step failed; names the step and the run

Messages say what failed, which object, what was expected and what to do next. Interfaces
map classes (never message text) to exit codes and HTTP statuses: see ``EXIT_CODES``.
"""

from __future__ import annotations


class LoopMLError(Exception):
    """Base class of every error loopml raises on purpose."""


class SpecError(LoopMLError, ValueError):
    """The project spec is invalid: names the field, the line and what is allowed."""


class DataError(LoopMLError, ValueError):
    """Input data is unusable: names the file, column, row and an example."""


class SchemaViolation(DataError):
    """Data breaks the project's schema."""


class NotFoundError(LoopMLError, LookupError):
    """A named object does not exist."""


class ConflictError(LoopMLError):
    """The object already exists, or a concurrent change won."""


class IntegrityError(LoopMLError):
    """An artifact's content does not match its sha256: it is refused, never loaded."""


class StorageError(LoopMLError):
    """A storage backend failed; the original exception is chained."""


class SchemaOutdated(StorageError):
    """The metadata database was written by an older loopml: run `loopml db upgrade`."""


class StageError(LoopMLError):
    """A lifecycle step failed; ``step`` and ``run_id`` say which."""

    def __init__(self, message: str, *, step: str = "", run_id: str = "") -> None:
        super().__init__(message)
        self.step = step
        self.run_id = run_id


# Exit codes of the CLI, by class (most specific first). 1 is reserved for results that
# are not errors: a gate that says no-go, a drift alert.
EXIT_CODES: tuple[tuple[type[LoopMLError], int], ...] = (
    (SpecError, 2),
    (DataError, 2),
    (NotFoundError, 2),
    (ConflictError, 2),
    (IntegrityError, 3),
    (StorageError, 3),
    (StageError, 3),
    (LoopMLError, 3),
)


def exit_code_for(error: LoopMLError) -> int:
    """Return the CLI exit code for ``error`` (2 for bad input, 3 for failures)."""
    for cls, code in EXIT_CODES:
        if isinstance(error, cls):
            return code
    return 3
