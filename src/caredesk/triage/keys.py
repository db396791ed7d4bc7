"""Looking feature hashes up in a model's sorted key table (every triage model stores its
features as sorted CRC-32 keys with one row each)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

U32 = npt.NDArray[np.uint32]


def as_hashes(hashes: Sequence[int]) -> U32:
    return np.fromiter(hashes, dtype=np.uint32, count=len(hashes))


def find_rows(keys: U32, hashes: U32, missing: int = -1) -> npt.NDArray[np.intp]:
    """The row of each hash in ``keys`` (sorted, unique), ``missing`` where it is absent."""
    if not len(keys):
        return np.full(hashes.shape, missing, dtype=np.intp)
    pos = np.searchsorted(keys, hashes)
    pos[pos >= len(keys)] = 0
    return np.where(keys[pos] == hashes, pos, missing)


def check_sorted_unique(keys: U32, what: str) -> None:
    """Model files must hold strictly increasing keys: a lookup by binary search would
    silently pick one of two rows for a repeated key."""
    if len(keys) > 1 and not bool(np.all(keys[1:] > keys[:-1])):
        raise ValueError(f"{what}: feature keys are not sorted and unique")
