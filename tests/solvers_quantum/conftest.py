"""Small seeded instances shared by the quantum solver tests."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest


def euclidean(points: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Distance matrix of points in the plane."""
    return np.asarray(np.linalg.norm(points[:, None] - points[None], axis=-1))


@pytest.fixture
def city() -> npt.NDArray[np.float64]:
    """Distances between six random sites (seeded)."""
    return euclidean(np.random.default_rng(7).random((6, 2)) * 10)
