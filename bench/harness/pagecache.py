"""Dropping a file from the page cache and checking what stayed, for the
cold-cache scenario. Needs no root: posix_fadvise(DONTNEED) drops the
file's clean pages that no process maps; mapped (and dirty) pages stay."""

import ctypes
import mmap
import os

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mmap.restype = ctypes.c_void_p
_libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                       ctypes.c_int, ctypes.c_long]
_libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
_libc.mincore.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_char_p]
_MAP_FAILED = ctypes.c_void_p(-1).value


def cached_pct(fd):
    """The share of the open file's pages in the page cache (mincore), in
    percent; None when it cannot tell. Mapping the file reads nothing."""
    size = os.fstat(fd).st_size
    if size == 0:
        return None
    addr = _libc.mmap(None, size, mmap.PROT_READ, mmap.MAP_SHARED, fd, 0)
    if addr in (None, _MAP_FAILED):
        return None
    try:
        pages = (size + mmap.PAGESIZE - 1) // mmap.PAGESIZE
        vec = ctypes.create_string_buffer(pages)
        if _libc.mincore(addr, size, vec) != 0:
            return None
        return 100.0 * sum(b & 1 for b in vec.raw) / pages
    finally:
        _libc.munmap(addr, size)


def evict(path):
    """Drops `path` from the page cache; returns the share (percent) that
    stayed cached (pages some process still maps), or None. Writes dirty
    pages back first (a freshly generated file), which DONTNEED would keep."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fdatasync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        return cached_pct(fd)
    finally:
        os.close(fd)
