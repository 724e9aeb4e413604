"""Users of the team server, their roles, and the audit trail of what they did."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

# Each role may do what the ones before it may, plus its own (see interfaces/api/policy).
ROLES = ("viewer", "labeller", "editor", "approver", "operator", "admin")


@dataclass(frozen=True)
class User:
    """A person or a script allowed on the team server, with exactly one role."""

    name: str
    role: str
    created_at: datetime


@dataclass(frozen=True)
class AuditEntry:
    """Who did what, to what, from where, when, and how it ended.

    ``user`` is empty for an anonymous request; ``outcome`` is the HTTP status (or
    ``ok``/``denied`` for a local action); ``client`` the peer address.
    """

    entry_id: int
    at: datetime
    user: str
    action: str
    target: str
    client: str
    outcome: str
