"""Status calls packed to the protocol's limit (issue 11, item 9).

A drip-feed parent travels with its runs (child order ids), so a page of 200 orders can hold more
than 200 ids. Cutting calls at page boundaries made 4 calls for 471 ids (200, 5, 200, 66). Here
the ids of consecutive pages form one stream, cut into calls of exactly `size` ids (the last one
shorter); an order is handed on once every one of its ids has been asked. A cycle thus makes
exactly ceil(ids / size) calls, whatever the mix of orders.

Protocol only in spirit: no models, no Django. Callers give the pages, the ids of an order and
the call; polling per provider (one stream per provider) can reuse it as it is.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from panel.upstream import OrderStatus, UpstreamError

logger = logging.getLogger(__name__)


@dataclass
class Packed[T]:
    """Orders whose ids have all been asked, with the answers and the ids whose call failed."""

    items: list[T]
    answers: dict[int, OrderStatus]
    failed: set[int] = field(default_factory=set)
    calls: int = 0
    failed_calls: int = 0


def packed_statuses[T](
    pages: Iterable[list[T]],
    *,
    ids_of: Callable[[T], list[int]],
    call: Callable[..., dict[int, OrderStatus]],
    size: int = 200,
) -> Iterator[Packed[T]]:
    """For each page, yield the items that are ready (all their ids asked) after asking every
    full call's worth of ids; after the last page, the rest in one last short call."""
    waiting: list[tuple[T, list[int]]] = []
    queue: list[int] = []
    seen: set[int] = set()
    # Answers and failures are kept for the whole cycle: an order's ids may span two calls.
    answers: dict[int, OrderStatus] = {}
    failed: set[int] = set()
    for page in _with_end(iter(pages)):
        last = page is None
        for item in page or []:
            ids = [i for i in dict.fromkeys(ids_of(item)) if i not in seen]
            seen.update(ids)
            waiting.append((item, ids))
            queue.extend(ids)
        packed: Packed[T] = Packed(items=[], answers=answers, failed=failed)
        while len(queue) >= size or (last and queue):
            chunk, queue = queue[:size], queue[size:]
            packed.calls += 1
            try:
                answers.update(call(orders=chunk))
            except UpstreamError as exc:
                logger.warning(
                    "status call of %s ids failed, retried next cycle: %s", len(chunk), exc
                )
                failed.update(chunk)
                packed.failed_calls += 1
        unasked = set(queue)
        packed.items = [item for item, ids in waiting if not unasked.intersection(ids)]
        waiting = [(item, ids) for item, ids in waiting if unasked.intersection(ids)]
        if packed.items or packed.calls:
            yield packed
        if last:
            return


def _with_end[T](pages: Iterator[list[T]]) -> Iterator[list[T] | None]:
    yield from pages
    yield None
