import os
import sys

import numpy as np
import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)


@pytest.fixture(autouse=True)
def seeded():
    """Every test starts from the same global random state, so failures reproduce."""
    np.random.seed(1234)
