"""Signed session cookies and their CSRF tokens, with HMAC-SHA256 from the stdlib.

A cookie is ``name.expiry.signature``: the user's name (base64url), when it stops being
valid (Unix seconds) and an HMAC of both under the store's session secret. Nothing else
is kept on the server; removing a user ends its sessions at the next request. The CSRF
token of a session is another HMAC of the cookie, so a page can send it back in the
``X-CSRF-Token`` header and a forged cross-site request cannot.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time

COOKIE = "loopml_session"
CSRF_HEADER = "x-csrf-token"
LIFETIME_S = 12 * 3600


def _sign(secret: bytes, message: str) -> str:
    return hmac.new(secret, message.encode(), hashlib.sha256).hexdigest()


def issue(secret: bytes, name: str, *, now: float | None = None) -> str:
    """A cookie value for ``name``, valid ``LIFETIME_S`` from ``now``."""
    expiry = int((time.time() if now is None else now) + LIFETIME_S)
    body = f"{base64.urlsafe_b64encode(name.encode()).decode()}.{expiry}"
    return f"{body}.{_sign(secret, body)}"


def verify(secret: bytes, value: str, *, now: float | None = None) -> str | None:
    """The user name a cookie value carries, or None when forged, malformed or expired."""
    body, _, signature = value.rpartition(".")
    encoded, _, expiry = body.partition(".")
    if not hmac.compare_digest(_sign(secret, body), signature) or not expiry.isdigit():
        return None
    if int(expiry) < (time.time() if now is None else now):
        return None
    try:
        return base64.urlsafe_b64decode(encoded.encode()).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None


def csrf_token(secret: bytes, cookie: str) -> str:
    """The CSRF token that goes with a session cookie."""
    return _sign(secret, f"csrf.{cookie}")


def csrf_ok(secret: bytes, cookie: str, sent: str | None) -> bool:
    """True when ``sent`` is the CSRF token of ``cookie`` (compared in constant time)."""
    return sent is not None and hmac.compare_digest(csrf_token(secret, cookie), sent)
