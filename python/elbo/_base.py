"""Helpers shared by the estimators."""

import numbers

import numpy as np
from sklearn.utils import check_random_state


def check_count(value, name, minimum=0):
    """Return ``value`` as an int after checking it is an integer >= ``minimum``.

    Zero is passed on to the Rust code, whose checks give elbo's message
    (for example ``k = 0: at least 1``); negative values and non-integers
    are rejected here, before they could overflow Rust's unsigned types.
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be at least {max(minimum, 1)}, got {value}")
    return int(value)


def check_real(value, name):
    """Return ``value`` as a float, or raise ``ValueError`` naming it."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a real number, got {value!r}")
    return float(value)


def optional_real(value, name):
    """``None`` or ``value`` as a float (see :func:`check_real`)."""
    return None if value is None else check_real(value, name)


def seed_from(random_state):
    """The u64 seed of the Rust fit: the integer itself, or one drawn from a
    ``numpy.random.RandomState`` (``None``: numpy's global generator)."""
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        if random_state < 0:
            raise ValueError(f"random_state must be >= 0, got {random_state}")
        return int(random_state)
    rng = check_random_state(random_state)
    return int(rng.randint(np.iinfo(np.int64).max, dtype=np.int64))
