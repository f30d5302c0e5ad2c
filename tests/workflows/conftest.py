"""Every workflow test starts and ends with a clean thread transaction.

(Subscribers that queue work on ``transaction.get()`` must not leak a
half-planned transaction from one test into the next test's fixtures.)
"""

import pytest
import transaction


@pytest.fixture(autouse=True)
def _clean_transaction():
    transaction.abort()
    yield
    transaction.abort()
