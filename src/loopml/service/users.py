"""The team server's users, their tokens and the audit log, over the project's store.

Passwords are hashed with argon2id (argon2-cffi's defaults); an API token is 256 random
bits shown once, and only its sha256 is kept. There is no default user and no default
password: the first admin is made with `loopml users add NAME --role admin`.
"""

from __future__ import annotations

import functools
import hashlib
import re
import secrets

from loopml.domain.users import ROLES, AuditEntry, User
from loopml.errors import DataError
from loopml.service.base import ServiceBase

MIN_PASSWORD = 8
TOKEN_PREFIX = "lml_"  # noqa: S105 - a marker, not a secret
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")


@functools.cache
def _dummy_hash() -> str:
    """A hash to verify against when the user does not exist, so that a wrong name costs
    as long as a wrong password (no user enumeration by timing)."""
    from argon2 import PasswordHasher

    return PasswordHasher().hash(secrets.token_hex(16))


def hash_token(token: str) -> str:
    """The sha256 (hex) under which a token is stored."""
    return hashlib.sha256(token.encode()).hexdigest()


class UsersMixin(ServiceBase):
    """Users with one role each, API tokens, the audit log, the server's secret."""

    def add_user(self, name: str, role: str, password: str) -> User:
        """Create ``name`` with ``role`` and ``password`` (hashed, never stored as is).

        Raises DataError for an invalid name, an unknown role or a password shorter
        than ``MIN_PASSWORD``; ConflictError when the name is taken.
        """
        from argon2 import PasswordHasher

        if not _NAME.fullmatch(name):
            raise DataError(
                f"'{name}' is not a valid user name: 1 to 64 letters, digits or . _ @ -, "
                "starting with a letter or digit"
            )
        if role not in ROLES:
            raise DataError(f"'{role}' is not a role: use one of {', '.join(ROLES)}")
        if len(password) < MIN_PASSWORD:
            raise DataError(
                f"the password of '{name}' is too short: at least {MIN_PASSWORD} characters"
            )
        return self.store.add_user(name, role, PasswordHasher().hash(password))

    def list_users(self) -> list[User]:
        return self.store.list_users()

    def find_user(self, name: str) -> User | None:
        """The user called ``name``, or None."""
        from loopml.errors import NotFoundError

        try:
            return self.store.get_user(name)
        except NotFoundError:
            return None

    def remove_user(self, name: str) -> None:
        """Delete ``name`` and its tokens (NotFoundError if there is no such user)."""
        self.store.remove_user(name)

    def issue_token(self, name: str) -> str:
        """A new API token for ``name``: returned once, only its hash is kept."""
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        self.store.add_token(name, hash_token(token))
        return token

    def authenticate(self, name: str, password: str) -> User | None:
        """The user when ``password`` is theirs, else None (same cost either way)."""
        from argon2 import PasswordHasher
        from argon2.exceptions import InvalidHashError, VerificationError

        stored = self.store.find_password_hash(name)
        try:
            PasswordHasher().verify(stored or _dummy_hash(), password)
        except (VerificationError, InvalidHashError):
            return None
        return self.store.get_user(name) if stored else None

    def user_for_token(self, token: str) -> User | None:
        """The user holding API token ``token``, or None."""
        if not token.startswith(TOKEN_PREFIX):
            return None
        return self.store.find_user_by_token(hash_token(token))

    def audit(self, user: str, action: str, target: str, client: str, outcome: str) -> None:
        """Record who did what to what, from where, and how it ended."""
        self.store.add_audit(user, action, target, client, outcome)

    def list_audit(self, *, limit: int = 100, offset: int = 0) -> list[AuditEntry]:
        return self.store.list_audit(limit=limit, offset=offset)

    def session_secret(self) -> bytes:
        """The key that signs the team server's session cookies (kept in the store)."""
        return bytes.fromhex(self.store.server_secret("session"))
