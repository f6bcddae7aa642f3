"""``python -m benchmarks.w1.profiled OUT.prof ARGS...``: ``python -m okrsync ARGS...``
under cProfile in every thread (the connections read and write in worker threads, which
``python -m cProfile`` does not see); the threads' profiles are merged into OUT.prof."""

from __future__ import annotations

import cProfile
import pstats
import runpy
import sys
import threading
from typing import Any

__all__ = ["main"]


def main() -> None:
    out = sys.argv[1]
    sys.argv = ["okrsync", *sys.argv[2:]]
    profiles: list[cProfile.Profile] = []
    lock = threading.Lock()
    original = threading.Thread.run

    def run(self: threading.Thread) -> None:
        profile = cProfile.Profile()
        with lock:
            profiles.append(profile)
        profile.enable()
        try:
            original(self)
        finally:
            profile.disable()

    threading.Thread.run = run  # type: ignore[method-assign]
    main_profile = cProfile.Profile()
    code: Any = 0
    main_profile.enable()
    try:
        runpy.run_module("okrsync", run_name="__main__", alter_sys=True)
    except SystemExit as exc:
        code = exc.code
    finally:
        main_profile.disable()
        stats = pstats.Stats(main_profile)
        with lock:
            for profile in profiles:
                profile.create_stats()
                if profile.stats:
                    stats.add(profile)
        stats.dump_stats(out)
    raise SystemExit(code)


if __name__ == "__main__":
    main()
