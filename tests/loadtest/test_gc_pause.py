"""Workers of one process (analysis arms are threads) share one GC pause."""

import gc
import threading

from loadtest.engine import cyclic_gc_paused


def test_collection_stays_off_until_the_last_worker_leaves():
    assert gc.isenabled()
    first_in, second_in, first_out = (threading.Event() for _ in range(3))
    seen = {}

    def first():
        with cyclic_gc_paused():
            first_in.set()
            second_in.wait(10)
        first_out.set()

    def second():
        first_in.wait(10)
        with cyclic_gc_paused():
            second_in.set()
            first_out.wait(10)
            seen["after_first_left"] = gc.isenabled()
            seen["frozen"] = gc.get_freeze_count()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert seen["after_first_left"] is False
    assert seen["frozen"] > 0
    assert gc.isenabled()
    assert gc.get_freeze_count() == 0


def test_the_pause_ends_when_the_body_raises():
    try:
        with cyclic_gc_paused():
            raise RuntimeError("worker failed")
    except RuntimeError:
        pass
    assert gc.isenabled()
    assert gc.get_freeze_count() == 0
