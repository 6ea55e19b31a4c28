#!/usr/bin/python3
"""One connection of a qemu `guestfwd=...-cmd:` rule: relays the guest's connection (qemu hands it over
as stdin, stdout and stderr, one process per connection) to HOST:PORT on the host's loopback."""

import os
import selectors
import socket
import sys


def main():
    # stderr is the guest's connection too: nothing may be written there.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    host, port = sys.argv[1], int(sys.argv[2])
    if host not in ("127.0.0.1", "::1", "localhost"):
        return 2  # only the host's loopback, never anything beyond it
    guest = socket.socket(fileno=0)
    try:
        up = socket.create_connection((host, port), timeout=10)
    except OSError:
        return 1
    up.settimeout(None)
    sel = selectors.DefaultSelector()
    peers = {guest: up, up: guest}
    for s in peers:
        sel.register(s, selectors.EVENT_READ)
    open_dirs = 2
    while open_dirs:
        for key, _ in sel.select():
            src = key.fileobj
            try:
                data = src.recv(65536)
            except OSError:
                data = b""
            if data:
                try:
                    peers[src].sendall(data)
                    continue
                except OSError:
                    return 0
            # One side finished sending: pass the half-close on, keep the other direction.
            sel.unregister(src)
            open_dirs -= 1
            try:
                peers[src].shutdown(socket.SHUT_WR)
            except OSError:
                pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
