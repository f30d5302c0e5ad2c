"""scoring — grading on 办结 and unit scoring (积分) by the rule set a deployment chooses.

``duban.scoring_rules`` names the rule set (``yunhe`` seed 004 by default,
``sanmenxia`` seed 001, ``suzhou`` seed 003, or one from the site profile's
``rules/`` folder).
"""

from __future__ import annotations

from ..definitions import DefinitionError
from .rules import DEFAULT_RULES, check_choice, load_scoring_rules


def includeme(config) -> None:
    from ..events import StateChanged
    from .grading import load_grading, on_close, register_grade_fields

    settings = config.get_settings()
    all_rules = load_scoring_rules(settings.get("duban.profile_dir") or None)
    chosen = (settings.get("duban.scoring_rules") or DEFAULT_RULES).strip()
    problem = check_choice(all_rules, chosen)
    if problem:
        raise DefinitionError("duban.scoring_rules", problem)
    config.registry.duban_scoring_rules_all = all_rules
    config.registry.duban_scoring_rules = all_rules[chosen]
    grading = load_grading(settings.get("duban.profile_dir") or None)
    config.registry.duban_grading = grading
    workflows = getattr(config.registry, "duban_workflows", None)
    if workflows is not None:
        register_grade_fields(workflows, grading)
    config.add_subscriber(on_close, StateChanged)
    # the /scores page: views/scoring.py


def scoring_rules(registry, name: str | None = None):
    if name:
        return registry.duban_scoring_rules_all[name]
    return registry.duban_scoring_rules
