"""Group commit: the writes that arrive while a transaction is in flight share the next one.

Two writes happen on every call: the audit row of an evaluation (before its answer) and, in
production, the `jti` of the caller's token (replay protection, before anything else). One
transaction each cost ~0.6 ms of CPU on SQLite (the session, the driver's thread hand-offs,
the commit) and serialised concurrent calls on the database; a shared transaction costs
little more than one row's worth per call.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Generic, TypeVar

from cds_service.storage.repository import EvaluationRecord, SeenTokenRecord

Item = TypeVar("Item")
Result = TypeVar("Result")


class GroupCommit(Generic[Item, Result]):
    """One writer per process and event loop.

    `submit` returns once the item's transaction is committed, with the item's result;
    items submitted while a transaction is in flight are committed together in the next one
    (at most `max_batch`). If a shared transaction fails, its items are retried one by one, so
    that one bad item cannot fail the others.
    """

    def __init__(self, write_batch: Callable[[Sequence[Item]], Awaitable[Sequence[Result]]],
                 max_batch: int = 64) -> None:
        self._write_batch = write_batch
        self._max_batch = max_batch
        self._pending: list[tuple[Item, asyncio.Future[Result]]] = []
        self._task: asyncio.Task[None] | None = None

    async def submit(self, item: Item) -> Result:
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._pending.append((item, future))
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._drain())
        return await asyncio.shield(future)  # a cancelled request must not cancel its batch-mates' write

    async def _drain(self) -> None:
        while self._pending:
            batch, self._pending = self._pending[: self._max_batch], self._pending[self._max_batch:]
            try:
                results = await self._write_batch([item for item, _ in batch])
            except Exception as exc:
                if len(batch) == 1:
                    _fail(batch[0][1], exc)
                    continue
                for item, future in batch:
                    try:
                        (result,) = await self._write_batch([item])
                    except Exception as single:
                        _fail(future, single)
                    else:
                        _succeed(future, result)
                continue
            for (_, future), result in zip(batch, results, strict=True):
                _succeed(future, result)


class AuditWriter(GroupCommit[EvaluationRecord, None]):
    """The evaluation audit: `write` returns once the row is committed."""

    def __init__(self, write_batch: Callable[[Sequence[EvaluationRecord]], Awaitable[None]],
                 max_batch: int = 64) -> None:
        async def write(records: Sequence[EvaluationRecord]) -> list[None]:
            await write_batch(records)
            return [None] * len(records)

        super().__init__(write, max_batch)

    async def write(self, record: EvaluationRecord) -> None:
        await self.submit(record)


class SeenTokens(GroupCommit[SeenTokenRecord, bool]):
    """The replay store of the JWT verifier (`protocol.auth.ReplayStore`), over the database
    every instance shares: `remember_jti` is True the first time a token id is seen."""

    async def remember_jti(self, issuer: str, jti: str, expires_at: datetime) -> bool:
        return await self.submit(SeenTokenRecord(issuer, jti, expires_at))


def _succeed(future: asyncio.Future[Result], result: Result) -> None:
    if not future.done():
        future.set_result(result)


def _fail(future: asyncio.Future[Result], error: Exception) -> None:
    if not future.done():
        future.set_exception(error)
