"""An exact nearest-neighbour index over face descriptors: a float32 matrix per partition, in numpy.

Squared L2 distances come from one matrix-vector product: ``|x - q|² = |x|² - 2 x·q + |q|²`` with the
rows' squared norms kept beside the matrix, so a query over n templates is one pass over n x 128 float32
values (512 bytes a template; memory-bandwidth bound) plus a sort of the few hits. Exact, no training, no extra
dependency; ``bench/faces.py`` measures it against a plain ``np.linalg.norm(matrix - q)`` baseline.

Partitions (the portal uses one per partner) keep a query's cost proportional to the partition it
searches; searching several partitions searches each. Rows are appended in place (the matrix grows by
doubling) and removed by swapping the last row into the hole, so both are O(1) amortised per row.
No Django here: the service layer (liveness/services/faces.py) loads it from the database and keeps it current.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np

DIMENSIONS = 128


@dataclass(frozen=True)
class Hit:
    key: int
    partition: Hashable
    distance: float


class _Partition:
    """One growable float32 matrix with its row keys and squared norms."""

    def __init__(self) -> None:
        self.size = 0
        self.matrix = np.empty((0, DIMENSIONS), dtype=np.float32)
        self.norms = np.empty(0, dtype=np.float32)
        self.keys = np.empty(0, dtype=np.int64)
        self.rows: dict[int, int] = {}

    def _reserve(self, extra: int) -> None:
        needed = self.size + extra
        if needed <= len(self.matrix):
            return
        capacity = max(needed, 2 * len(self.matrix), 64)
        matrix = np.empty((capacity, DIMENSIONS), dtype=np.float32)
        matrix[: self.size] = self.matrix[: self.size]
        norms = np.empty(capacity, dtype=np.float32)
        norms[: self.size] = self.norms[: self.size]
        keys = np.empty(capacity, dtype=np.int64)
        keys[: self.size] = self.keys[: self.size]
        self.matrix, self.norms, self.keys = matrix, norms, keys

    def add(self, keys: Sequence[int], vectors: np.ndarray) -> None:
        fresh = [i for i, key in enumerate(keys) if int(key) not in self.rows]
        if not fresh:
            return
        vectors = vectors[fresh]
        self._reserve(len(fresh))
        start, end = self.size, self.size + len(fresh)
        self.matrix[start:end] = vectors
        self.norms[start:end] = np.einsum("ij,ij->i", vectors, vectors)
        for offset, i in enumerate(fresh):
            key = int(keys[i])
            self.keys[start + offset] = key
            self.rows[key] = start + offset
        self.size = end

    def remove(self, key: int) -> bool:
        row = self.rows.pop(key, None)
        if row is None:
            return False
        last = self.size - 1
        if row != last:
            self.matrix[row] = self.matrix[last]
            self.norms[row] = self.norms[last]
            moved = int(self.keys[last])
            self.keys[row] = moved
            self.rows[moved] = row
        self.size = last
        return True

    def within(self, query: np.ndarray, query_norm: float, radius_sq: float) -> tuple[np.ndarray, np.ndarray]:
        """Rows whose squared distance to ``query`` is at most ``radius_sq``: (keys, squared distances)."""
        if not self.size:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
        # einsum's own loop, not BLAS gemv: single-threaded, so a busy worker host does not stall it on
        # BLAS thread hand-offs (measured: 30 ms vs 0.5 ms at 10k templates on a loaded 2-core machine).
        products = np.einsum("ij,j->i", self.matrix[: self.size], query)
        distances = self.norms[: self.size] - 2.0 * products + query_norm
        hits = np.flatnonzero(distances <= radius_sq)
        return self.keys[hits], np.maximum(distances[hits], 0.0)


class FaceIndex:
    """Exact radius search over partitioned float32 descriptors, keyed by integer ids (template ids)."""

    def __init__(self) -> None:
        self._partitions: dict[Hashable, _Partition] = {}
        self._where: dict[int, Hashable] = {}

    def __len__(self) -> int:
        return len(self._where)

    def __contains__(self, key: object) -> bool:
        return key in self._where

    @property
    def nbytes(self) -> int:
        """Memory held by the matrices, norms and keys (capacity included)."""
        return sum(p.matrix.nbytes + p.norms.nbytes + p.keys.nbytes for p in self._partitions.values())

    def reserve(self, partition: Hashable, rows: int) -> None:
        """Make room for ``rows`` more rows in ``partition`` at once (a full load knows its size: no regrowth)."""
        self._partitions.setdefault(partition, _Partition())._reserve(rows)

    def add(self, partition: Hashable, keys: Sequence[int], vectors: np.ndarray) -> None:
        """Add rows (a key already present anywhere is skipped, so re-adding is harmless)."""
        vectors = np.asarray(vectors, dtype=np.float32).reshape(-1, DIMENSIONS)
        if len(keys) != len(vectors):
            raise ValueError(f"{len(keys)} keys for {len(vectors)} vectors")
        fresh = [i for i, key in enumerate(keys) if int(key) not in self._where]
        if not fresh:
            return
        part = self._partitions.setdefault(partition, _Partition())
        part.add([int(keys[i]) for i in fresh], vectors[fresh])
        for i in fresh:
            self._where[int(keys[i])] = partition

    def remove(self, keys: Iterable[int]) -> int:
        removed = 0
        for key in keys:
            partition = self._where.pop(int(key), None)
            if partition is not None and self._partitions[partition].remove(int(key)):
                removed += 1
        return removed

    def search(
        self,
        query: np.ndarray,
        *,
        radius: float,
        partitions: Iterable[Hashable] | None = None,
        exclude: Iterable[int] = (),
        limit: int = 50,
    ) -> list[Hit]:
        """Every row within ``radius`` (Euclidean) of ``query``, nearest first, at most ``limit``.

        ``partitions`` None searches all of them; ``exclude`` drops keys (e.g. the case's own templates).
        """
        q = np.asarray(query, dtype=np.float32).reshape(DIMENSIONS)
        q_norm = float(q @ q)
        radius_sq = radius * radius
        excluded = {int(k) for k in exclude}
        names = list(self._partitions) if partitions is None else [p for p in partitions if p in self._partitions]
        hits: list[Hit] = []
        for name in names:
            keys, distances = self._partitions[name].within(q, q_norm, radius_sq)
            for key, distance_sq in zip(keys.tolist(), distances.tolist(), strict=True):
                if key not in excluded:
                    hits.append(Hit(key, name, float(np.sqrt(distance_sq))))
        hits.sort(key=lambda hit: hit.distance)
        return hits[:limit]
