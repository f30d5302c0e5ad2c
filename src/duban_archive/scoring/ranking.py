"""Ranking a period on a site: facts + stored adjustments -> ordered unit scores."""

from __future__ import annotations

from datetime import date

from .book import get_book
from .engine import Period, UnitScore, parse_period, score_units, site_facts
from .rules import ScoringRules


def rank(site, rules: ScoringRules, period_text: str, as_of: date | None = None) -> tuple[Period, list[UnitScore]]:
    period = parse_period(period_text)
    units = {u.unit_id: u.title for u in site["units"].values()}
    adjustments = get_book(site).adjustments(rules.name) if "scoring" in site else []
    return period, score_units(rules, period, site_facts(site), adjustments, units, as_of)
