"""Group commit of the evaluation audit: one writer per process, committed before the answer."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence

from cds_service.storage.repository import EvaluationRecord

BatchWriter = Callable[[Sequence[EvaluationRecord]], Awaitable[None]]


class AuditWriter:
    """Group commit of evaluation audit rows, one writer per process and event loop.

    `write` returns once the record's transaction is committed (the audit stays synchronous);
    records submitted while a transaction is in flight are committed together in the next one.
    If a shared transaction fails, its records are retried one by one so that one bad row
    cannot lose the others.
    """

    def __init__(self, write_batch: BatchWriter, max_batch: int = 64) -> None:
        self._write_batch = write_batch
        self._max_batch = max_batch
        self._pending: list[tuple[EvaluationRecord, asyncio.Future[None]]] = []
        self._task: asyncio.Task[None] | None = None

    async def write(self, record: EvaluationRecord) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((record, future))
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._drain())
        await asyncio.shield(future)  # a cancelled request must not cancel its batch-mates' write

    async def _drain(self) -> None:
        while self._pending:
            batch, self._pending = self._pending[: self._max_batch], self._pending[self._max_batch:]
            try:
                await self._write_batch([record for record, _ in batch])
            except Exception as exc:
                if len(batch) == 1:
                    _settle(batch[0][1], exc)
                    continue
                for record, future in batch:
                    try:
                        await self._write_batch([record])
                    except Exception as single:
                        _settle(future, single)
                    else:
                        _settle(future)
                continue
            for _, future in batch:
                _settle(future)


def _settle(future: asyncio.Future[None], error: Exception | None = None) -> None:
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(None)
