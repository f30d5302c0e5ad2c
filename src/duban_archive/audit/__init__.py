"""The audit log: append-only, never truncated, per item and site-wide."""

from .log import AuditLog, audit_log, record  # noqa: F401


def includeme(config) -> None:  # nothing to configure; kept for symmetry
    pass
