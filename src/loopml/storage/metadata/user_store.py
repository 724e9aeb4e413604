"""The team server's users, API tokens, audit log and secrets on SQL.

The store keeps hashes only: the service hashes passwords (argon2) and tokens (sha256)
before they reach it, so nothing here can recover a password or a token.
"""

from __future__ import annotations

import secrets

import sqlalchemy as sa

from loopml.domain.users import AuditEntry, User
from loopml.errors import ConflictError, NotFoundError
from loopml.storage.metadata import tables as t
from loopml.storage.metadata.base import StoreBase
from loopml.storage.metadata.codec import audit_from_row, user_from_row, utcnow


class UserStoreMixin(StoreBase):
    """Users by name, each with one role, a password hash and any number of tokens."""

    def add_user(self, name: str, role: str, password_hash: str) -> User:
        """Create a user; ConflictError when ``name`` is taken."""

        def add(conn: sa.Connection) -> User:
            values = {"name": name, "role": role, "password_hash": password_hash}
            taken = conn.execute(sa.select(t.users.c.id).where(t.users.c.name == name)).first()
            if taken is not None:  # a racing insert fails on the unique name: ConflictError
                raise ConflictError(
                    f"A user named '{name}' exists already. "
                    "Run `loopml users list`, or `loopml users remove` first."
                )
            conn.execute(sa.insert(t.users).values(**values, created_at=utcnow()))
            return _load_user(conn, name)

        return self._db.write(add)

    def get_user(self, name: str) -> User:
        """The user called ``name``; NotFoundError if there is none."""
        return self._db.read(lambda conn: _load_user(conn, name))

    def list_users(self) -> list[User]:
        """Every user, by name."""
        query = sa.select(t.users).order_by(t.users.c.name)
        return self._db.read(lambda conn: [user_from_row(r) for r in conn.execute(query)])

    def remove_user(self, name: str) -> None:
        """Delete a user and its tokens; NotFoundError if there is none."""

        def remove(conn: sa.Connection) -> None:
            _load_user(conn, name)
            conn.execute(sa.delete(t.api_tokens).where(t.api_tokens.c.user_name == name))
            conn.execute(sa.delete(t.users).where(t.users.c.name == name))

        self._db.write(remove)

    def find_password_hash(self, name: str) -> str | None:
        """The stored password hash of ``name``, or None for an unknown user."""
        query = sa.select(t.users.c.password_hash).where(t.users.c.name == name)
        return self._db.read(lambda conn: conn.execute(query).scalar())

    def add_token(self, name: str, token_hash: str) -> None:
        """Give ``name`` another API token (its hash); NotFoundError for an unknown user."""

        def add(conn: sa.Connection) -> None:
            _load_user(conn, name)
            values = {"token_hash": token_hash, "user_name": name, "created_at": utcnow()}
            conn.execute(sa.insert(t.api_tokens).values(**values))

        self._db.write(add)

    def find_user_by_token(self, token_hash: str) -> User | None:
        """The user holding the token with this hash, or None."""
        u, k = t.users, t.api_tokens
        query = sa.select(u).join(k, k.c.user_name == u.c.name).where(k.c.token_hash == token_hash)

        def find(conn: sa.Connection) -> User | None:
            row = conn.execute(query).first()
            return None if row is None else user_from_row(row)

        return self._db.read(find)


class AuditStoreMixin(StoreBase):
    """The append-only audit log, and the server's secrets."""

    def add_audit(self, user: str, action: str, target: str, client: str, outcome: str) -> None:
        """Append one entry (timestamped now)."""
        values = {
            "at": utcnow(),
            "user_name": user,
            "action": action,
            "target": target,
            "client": client,
            "outcome": outcome,
        }
        self._db.write(lambda conn: conn.execute(sa.insert(t.audit_log).values(**values)))

    def list_audit(self, *, limit: int = 100, offset: int = 0) -> list[AuditEntry]:
        """Entries newest first, ``limit`` of them after skipping ``offset``."""
        a = t.audit_log
        query = sa.select(a).order_by(a.c.id.desc()).limit(limit).offset(offset)
        return self._db.read(lambda conn: [audit_from_row(r) for r in conn.execute(query)])

    def server_secret(self, name: str) -> str:
        """The secret called ``name``, created at random (256 bits) on first use
        (race-safe: every process gets the same one)."""
        values = {"name": name, "value": secrets.token_hex(32)}
        query = sa.select(t.server_secrets.c.value).where(t.server_secrets.c.name == name)

        def ensure(conn: sa.Connection) -> str:
            self._insert_ignore(conn, t.server_secrets, values, keys=("name",))
            value: str = conn.execute(query).scalar_one()
            return value

        return self._db.write(ensure, retry_unique=True)


def _load_user(conn: sa.Connection, name: str) -> User:
    row = conn.execute(sa.select(t.users).where(t.users.c.name == name)).first()
    if row is None:
        raise NotFoundError(f"No user named '{name}'. Run `loopml users list` to see the users.")
    return user_from_row(row)
