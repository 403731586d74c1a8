"""Run code that starts its own event loop (``asyncio.run``) on a thread of its own.

Playwright's sync API (the browser tests) leaves an event loop running in the
main thread for the rest of the session, and ``asyncio.run`` refuses to start
inside one. The service never meets this: callback deliveries run on the
delivery worker's threads and token checks on the API's loop. The tests call
such code from a thread too.
"""

import asyncio
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")


def in_a_thread(call: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """``call(*args, **kwargs)`` on a new thread; its result (or its exception)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(call, *args, **kwargs).result()


def run_coroutine(coroutine: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(coroutine)`` on a new thread."""
    return in_a_thread(asyncio.run, coroutine)
