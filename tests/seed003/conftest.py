"""Seed 003 (宿州 “宿事速办”) tests: every one starts and ends with a clean thread transaction."""

import pytest
import transaction


@pytest.fixture(autouse=True)
def _clean_transaction():
    transaction.abort()
    yield
    transaction.abort()
