"""The one refusal every layer shares: domain operations raise it, the UI and the API translate it.

A domain operation (``notifications.escalation``, ``scoring.adjustments``,
``catalog.saved_searches`` …) that will not do what it was asked raises
:class:`Refusal` *before* writing anything: a Chinese ``message``, Chinese
``fields`` (field name -> what is wrong with it) and a ``status`` saying what
kind of refusal it is, in HTTP's words because both callers speak HTTP:

=====  ==========================================================
400    the input is invalid (``fields`` says where)
401    nobody is logged in / the token is bad
403    not allowed for this user or in this state
404    the thing asked for does not exist (or may not be seen)
409    the state changed / the operation is no longer possible
=====  ==========================================================

Translations (never in the operation itself):

* the JSON API (``views/api/errors.py``) answers ``{"error": code, "message",
  "fields"}`` with ``status`` — API.md's error shape;
* an HTML view catches it around the operation and shows ``message`` and the
  ``fields`` on its form (``views/errors.py: refusal_notes``); one it does not
  catch becomes the error page with the same text (``views/errors.py``).

Either way the request's transaction is doomed: a refused request changes
nothing.  This module imports nothing of the application, so every package
may use it.
"""

from __future__ import annotations

from collections.abc import Mapping

#: the ``error`` code of each status (API.md); ``code=`` overrides it
CODES: dict[int, str] = {
    400: "invalid", 401: "unauthorized", 403: "forbidden", 404: "not_found",
    409: "conflict", 413: "too_large", 415: "unsupported_type", 429: "too_many_requests",
    507: "insufficient_storage",
}


class Refusal(Exception):
    """An operation refused: ``Refusal(message, fields=None, status=400, code=None, headers=None)``."""

    def __init__(self, message: str, fields: Mapping[str, str] | None = None, *, status: int = 400,
                 code: str | None = None, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fields: dict[str, str] = dict(fields or {})
        self.status = status
        self.code = code or CODES.get(status, "error")
        self.headers: dict[str, str] = dict(headers or {})

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.status}, {self.message!r}, fields={self.fields!r})"
