"""Sub-millisecond wake-ups for the dispatcher with a Linux timerfd.

asyncio's timers (and uvloop's) have millisecond resolution, so a dispatcher
that sleeps with ``asyncio.sleep`` fires up to 1-2 ms late or has to spin. A
timerfd armed at the absolute ``CLOCK_MONOTONIC`` time of the next arrival (the
clock behind ``time.perf_counter_ns`` on Linux) becomes readable on time, and
the event loop wakes for it like for any socket. Elsewhere the timer falls back
to ``asyncio.sleep`` with a 1 ms floor.

Typical usage example:

    timer = make_timer(asyncio.get_running_loop())
    await timer.wait_until(time.perf_counter_ns() + 300_000)
    timer.close()
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
import os
import sys
import time

from loadtest import constants

log = logging.getLogger(__name__)

_CLOCK_MONOTONIC = 1
_TFD_NONBLOCK = os.O_NONBLOCK
_TFD_CLOEXEC = os.O_CLOEXEC
_TFD_TIMER_ABSTIME = 1


class _Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


class _Itimerspec(ctypes.Structure):
    _fields_ = [("it_interval", _Timespec), ("it_value", _Timespec)]


class SleepTimer:
    """Portable fallback: ``asyncio.sleep`` with a 1 ms floor (never spins)."""

    async def wait_until(self, t_ns: int) -> None:
        """Return at or after ``t_ns`` (``perf_counter_ns`` clock)."""
        delay = (t_ns - time.perf_counter_ns()) / 1e9
        await asyncio.sleep(max(delay, constants.DISPATCH_MIN_SLEEP_S))

    def close(self) -> None:
        """Nothing to release."""


class TimerFd:
    """A timerfd registered with the running loop.

    Args:
        loop: the running event loop.
        libc: the C library (``ctypes.CDLL``) providing timerfd_*.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, libc: ctypes.CDLL):
        self._libc = libc
        self._loop = loop
        fd = libc.timerfd_create(_CLOCK_MONOTONIC, _TFD_NONBLOCK | _TFD_CLOEXEC)
        if fd < 0:
            raise OSError(ctypes.get_errno(), "timerfd_create failed")
        self._fd = fd
        self._waiter: asyncio.Future | None = None
        loop.add_reader(fd, self._on_ready)

    def _on_ready(self) -> None:
        try:
            os.read(self._fd, 8)
        except BlockingIOError:
            return
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def wait_until(self, t_ns: int) -> None:
        """Return at or after ``t_ns`` (``perf_counter_ns`` clock)."""
        if t_ns <= time.perf_counter_ns():
            await asyncio.sleep(0)
            return
        spec = _Itimerspec()
        spec.it_value.tv_sec, spec.it_value.tv_nsec = divmod(t_ns, 1_000_000_000)
        if self._libc.timerfd_settime(
            self._fd, _TFD_TIMER_ABSTIME, ctypes.byref(spec), None
        ):
            raise OSError(ctypes.get_errno(), "timerfd_settime failed")
        self._waiter = self._loop.create_future()
        await self._waiter

    def close(self) -> None:
        """Unregister and close the timerfd."""
        self._loop.remove_reader(self._fd)
        os.close(self._fd)


def make_timer(loop: asyncio.AbstractEventLoop) -> TimerFd | SleepTimer:
    """A TimerFd on Linux when the perf_counter clock is CLOCK_MONOTONIC, else sleep."""
    clock = time.get_clock_info("perf_counter").implementation
    if sys.platform.startswith("linux") and "CLOCK_MONOTONIC" in clock:
        try:
            return TimerFd(loop, ctypes.CDLL(None, use_errno=True))
        except (OSError, AttributeError) as exc:
            log.warning("timerfd unavailable (%s); using asyncio.sleep", exc)
    return SleepTimer()
