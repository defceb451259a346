"""Worker processes for the CPU half of ingest, so a node uses every core it has.

Parsing, de-identifying and encoding an instance is pure Python and holds
the GIL for most of its ~6 ms; threads cannot overlap it. A small pool of
worker processes, each with its own :class:`~node.dicom.prepare.InstancePreparer`
built from the same site secret and options, can. The serving process keeps
the store: workers never open the database; they only stage each encoded file
in the blob store's temporary directory, which the serving process renames into
place when its rows commit. A worker that dies loses nothing, and a kill -9 of
the node leaves at worst a staged file, swept at the next start (its workers
exit when their pipe to it closes).

Workers start on first use, or all at once with :meth:`IngestWorkerPool.start`
(``harmonia-node serve`` does, before it answers), always by ``spawn``, never
``fork``: the node has threads.
"""

from __future__ import annotations

import multiprocessing
import threading
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from node.dicom.deid import Deidentifier, DeidOptions, RelinkSealer
from node.dicom.outcome import IngestOutcome
from node.dicom.prepare import InstancePreparer, PreparedInstance

__all__ = ["IngestWorkerPool", "PreparerConfig"]


@dataclass(frozen=True)
class PreparerConfig:
    """Everything a worker needs to build its preparer; picklable."""

    site_secret: bytes
    options: DeidOptions
    max_instance_bytes: int
    relink_public_key: bytes | None = None
    staging_root: Path | None = None
    fsync: bool = True

    def build(self) -> InstancePreparer:
        """The preparer this configuration describes."""
        sealer = RelinkSealer(self.relink_public_key) if self.relink_public_key else None
        return InstancePreparer(
            Deidentifier(self.site_secret, self.options),
            max_instance_bytes=self.max_instance_bytes,
            relink_sealer=sealer,
            staging_root=self.staging_root,
            fsync=self.fsync,
        )


_worker_preparer: InstancePreparer | None = None


def _start_worker(config: PreparerConfig) -> None:
    global _worker_preparer
    _worker_preparer = config.build()


def _worker_ready() -> bool:
    return _worker_preparer is not None


def _prepare_in_worker(
    data: bytes, source: str, expected_study_uid: str | None, require_part10: bool
) -> PreparedInstance | IngestOutcome:
    assert _worker_preparer is not None, "worker started without its initializer"
    return _worker_preparer.prepare(
        data,
        source=source,
        expected_study_uid=expected_study_uid,
        require_part10=require_part10,
    )


class IngestWorkerPool:
    """A lazily started pool of preparer processes.

    Parameters
    ----------
    config
        How each worker builds its preparer.
    workers
        Number of worker processes (at least 1).
    """

    def __init__(self, config: PreparerConfig, workers: int) -> None:
        if workers < 1:
            raise ValueError("an ingest worker pool needs at least one worker")
        self._config = config
        self._workers = workers
        self._executor: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    @property
    def workers(self) -> int:
        """How many worker processes the pool runs."""
        return self._workers

    def submit(
        self,
        data: bytes,
        *,
        source: str,
        expected_study_uid: str | None,
        require_part10: bool,
    ) -> Future[PreparedInstance | IngestOutcome]:
        """Prepare ``data`` in a worker; the future holds what the preparer returned."""
        return self._pool().submit(
            _prepare_in_worker, data, source, expected_study_uid, require_part10
        )

    def start(self) -> None:
        """Start every worker now and wait until each has built its preparer.

        Each submission finds no idle worker and so starts one; waiting on all
        of them keeps the first received instances from paying for the start.
        """
        pool = self._pool()
        warming = [pool.submit(_worker_ready) for _ in range(self._workers)]
        for ready in warming:
            if not ready.result():
                raise RuntimeError("an ingest worker started without its preparer")

    def _pool(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._executor is None:
                self._executor = ProcessPoolExecutor(
                    max_workers=self._workers,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=_start_worker,
                    initargs=(self._config,),
                )
            return self._executor

    def close(self) -> None:
        """Stop the workers; work not yet started is cancelled."""
        with self._lock:
            if self._executor is not None:
                self._executor.shutdown(wait=True, cancel_futures=True)
                self._executor = None
