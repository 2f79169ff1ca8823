"""glibc's allocator, set for the production server's workers (issue 9: ≤ 100 MB resident each).

glibc gives every thread that allocates an arena of its own, and a worker's request threads
each kept about 1.4 MB in theirs after a soak of logins. With fewer arenas the threads share
them and their freed memory is reused instead of held apart. Measured figures are in
docs/performance.md ("Memory"). Elsewhere than glibc (musl, macOS) nothing is changed.
"""

import ctypes

# glibc's malloc.h: mallopt's parameter for the most arenas the process may have.
M_ARENA_MAX = -8


def _glibc() -> ctypes.CDLL | None:
    libc = ctypes.CDLL(None)  # the C library the interpreter itself runs on
    return libc if hasattr(libc, "mallopt") else None


def limit_arenas(count: int) -> bool:
    """At most ``count`` malloc arenas from now on, for this process and the ones it forks
    (what ``MALLOC_ARENA_MAX`` sets when a process starts); whether glibc took it."""
    libc = _glibc()
    return bool(libc and libc.mallopt(M_ARENA_MAX, count))

