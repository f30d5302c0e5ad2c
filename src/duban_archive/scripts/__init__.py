"""Command line: ``duban-archive <command> INI ...``."""
