"""People and security: users, units, roles, the Pyramid security policy."""

from __future__ import annotations


def includeme(config) -> None:
    from pyramid.csrf import SessionCSRFStoragePolicy
    from pyramid.events import ContextFound
    from pyramid.session import SignedCookieSessionFactory

    from .policy import SESSION_MAX_AGE, SecurityPolicy, csrf_applies, password_change_gate

    settings = config.get_settings()
    secret = settings["duban.secret"]
    config.set_session_factory(
        SignedCookieSessionFactory(
            secret + "-session",
            cookie_name="duban_session",
            httponly=True,
            samesite="Lax",
            secure=settings.get("duban.secure_cookies", "false").lower() == "true",
            timeout=int(settings.get("duban.session_timeout", 8 * 3600)),
            reissue_time=600,
        )
    )
    config.set_csrf_storage_policy(SessionCSRFStoragePolicy())
    # Forms and cookie-authenticated requests need the CSRF token; bearer-token
    # API clients cannot be driven by a foreign page, so they are exempt.
    config.set_default_csrf_options(require_csrf=True, callback=csrf_applies)
    max_age = int(settings.get("duban.session_max_age", SESSION_MAX_AGE))
    config.set_security_policy(SecurityPolicy(secret, session_max_age=max_age))
    # after an admin reset, every page but 修改密码 (and logout, /me) is closed
    config.add_subscriber(password_change_gate, ContextFound)
