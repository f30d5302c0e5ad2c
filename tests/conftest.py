"""Fixtures come from the ``duban_archive.testing`` pytest plugin (see setup.py)."""


def _let_pkg_resources_read_rewritten_modules() -> None:
    """pytest loads the plugin's package through its assertion-rewriting hook, which
    pkg_resources (used by pyramid_chameleon to find templates) does not know; tell it
    those modules live in ordinary files.
    """
    import pkg_resources
    from _pytest.assertion.rewrite import AssertionRewritingHook

    pkg_resources.register_loader_type(AssertionRewritingHook, pkg_resources.DefaultProvider)


_let_pkg_resources_read_rewritten_modules()
