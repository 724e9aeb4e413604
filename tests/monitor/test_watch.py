"""`repeat`: the --watch loop runs checks until stopped, by an event or by SIGTERM."""

from __future__ import annotations

import os
import signal
import threading

from loopml.monitor.watch import repeat


def test_it_runs_until_the_stop_event_and_survives_a_failing_check() -> None:
    stop = threading.Event()
    results, errors = [], []

    def check() -> int:
        if len(results) == 1 and not errors:
            raise ValueError("store briefly down")
        if len(results) == 3:
            stop.set()
        return len(results)

    runs = repeat(check, 0.01, on_result=results.append, on_error=errors.append, stop=stop)
    assert results == [0, 1, 2, 3] and runs == 5
    assert [str(e) for e in errors] == ["store briefly down"]


def test_sigterm_ends_the_loop_after_the_check_in_progress() -> None:
    seen: list[int] = []
    timer = threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGTERM))
    timer.start()
    before = signal.getsignal(signal.SIGTERM)
    runs = repeat(lambda: 1, 0.05, on_result=seen.append, on_error=lambda exc: None)
    timer.join()
    assert runs == len(seen) and 2 <= runs <= 10
    assert signal.getsignal(signal.SIGTERM) is before  # the handler is put back
