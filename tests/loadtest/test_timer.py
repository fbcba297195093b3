"""The dispatcher's timer never wakes before the requested instant."""

import asyncio
import sys
import time

import pytest

from loadtest.timer import SleepTimer, TimerFd, make_timer


async def _wake_times(timer, offsets_ns: list[int]) -> list[int]:
    early = []
    for offset in offsets_ns:
        target = time.perf_counter_ns() + offset
        await timer.wait_until(target)
        early.append(target - time.perf_counter_ns())
    timer.close()
    return early


@pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="timerfd is Linux-only"
)
def test_timerfd_is_used_on_linux_and_never_wakes_early():
    async def run() -> list[int]:
        timer = make_timer(asyncio.get_running_loop())
        assert isinstance(timer, TimerFd)
        return await _wake_times(timer, [200_000, 50_000, 0, -1_000_000, 1_000_000])

    assert all(delta <= 0 for delta in asyncio.run(run()))


def test_sleep_fallback_never_wakes_early():
    async def run() -> list[int]:
        return await _wake_times(SleepTimer(), [200_000, 2_000_000])

    assert all(delta <= 0 for delta in asyncio.run(run()))
