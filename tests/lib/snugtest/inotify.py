"""Watching files without polling them (inotify, through libc as Python has no binding): the order in
which cgroup limit files are written, and when a file is next written."""

import ctypes
import ctypes.util
import os
import select
import struct
import time

IN_MODIFY = 0x2


def _inotify(paths, flags=0):
    """An inotify fd watching each path for writes (IN_MODIFY), and {watch descriptor: path}."""
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    fd = libc.inotify_init1(os.O_CLOEXEC | flags)
    if fd < 0:
        raise OSError(ctypes.get_errno(), "inotify_init1")
    wds = {}
    for p in paths:
        wd = libc.inotify_add_watch(fd, os.fsencode(p), IN_MODIFY)
        if wd < 0:
            err = ctypes.get_errno()
            os.close(fd)
            raise OSError(err, "inotify_add_watch", p)
        wds[wd] = p
    return fd, wds


class LimitWrites:
    """Records, in order, the writes to cgroup limit files (cpu.max, cpu.weight, memory.max) under the
    directories given: which file of which cgroup was written first is what the safe order (grow: pod
    then container; shrink: container then pod) is about."""

    FILES = ("cpu.max", "cpu.weight", "memory.max")

    def __init__(self, dirs):
        self._fd, self._dirs = _inotify(dirs, os.O_NONBLOCK)
        self._seen = []

    def writes(self):
        """[(dir, file name)] in the order the kernel saw them; consecutive writes to one file are one."""
        while select.select([self._fd], [], [], 0)[0]:
            buf = os.read(self._fd, 65536)
            off = 0
            while off < len(buf):
                wd, _mask, _cookie, n = struct.unpack_from("iIII", buf, off)
                name = buf[off + 16:off + 16 + n].split(b"\0", 1)[0].decode()
                off += 16 + n
                item = (self._dirs.get(wd), name)
                if name in self.FILES and (not self._seen or self._seen[-1] != item):
                    self._seen.append(item)
        return list(self._seen)

    def close(self):
        os.close(self._fd)


class FileWatch:
    """Tells when a file is next written (inotify IN_MODIFY), on the caller's CLOCK_MONOTONIC, without
    polling it: arm before the action, then wait()."""

    def __init__(self, path):
        self.fd, _ = _inotify([path])

    def wait(self, timeout):
        """time.monotonic() when a write was seen, or None after timeout seconds."""
        r, _, _ = select.select([self.fd], [], [], timeout)
        if not r:
            return None
        t = time.monotonic()
        os.read(self.fd, 4096)
        return t

    def close(self):
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
