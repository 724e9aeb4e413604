"""Replace ``${VAR}`` references in spec strings with values from an environment mapping."""

from __future__ import annotations

import re
from collections.abc import Mapping

from loopml.errors import DataError

# ${NAME} where NAME is a valid environment variable name; anything else inside ${...}
# is reported rather than left in place.
_REFERENCE = re.compile(r"\$\{([^}]*)\}")
_VALID_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def interpolate(text: str, env: Mapping[str, str], field: str) -> str:
    """Return ``text`` with every ``${VAR}`` replaced by ``env[VAR]``.

    Args:
        text: a string from the spec (a URL, a header value, a parameter).
        env: the environment to read (the caller passes ``os.environ`` or a test mapping).
        field: where ``text`` comes from, for messages (``source 'api' headers.Authorization``).

    Raises:
        DataError: a referenced variable is not set, or a reference is not a valid name.

    Substituted values are not scanned again, so a password may contain ``${``.
    """
    return _REFERENCE.sub(lambda match: _lookup(match.group(1), env, field), text)


def has_reference(text: str) -> bool:
    """Whether ``text`` holds a ``${...}`` reference (its value may be a secret)."""
    return _REFERENCE.search(text) is not None


def _lookup(name: str, env: Mapping[str, str], field: str) -> str:
    if not _VALID_NAME.match(name):
        raise DataError(
            f"{field}: '${{{name}}}' is not a valid environment variable reference; "
            "write ${NAME} with letters, digits and underscores"
        )
    if name not in env:
        raise DataError(
            f"{field}: environment variable '{name}' is not set; set it before running "
            f"(for example `export {name}=...`)"
        )
    return env[name]
