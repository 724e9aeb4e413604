"""The team server: a versioned REST API under ``/api/v1`` over the project service.

``build_app(service)`` returns the ASGI app ``loopml ui`` serves. Every route declares
who may call it (``policy.allow``); a route without a policy is refused when the app is
built (fail-closed). See ``security`` for cookies, CSRF, Host/Origin checks and headers.
"""

from loopml.interfaces.api.app import build_app

__all__ = ["build_app"]
