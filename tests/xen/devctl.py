#!/usr/bin/env python3
# Client of the Xen rig's development mode (tests/xen/dev.sh runs it):
# sends the bash script it reads on stdin to devserver.py in dom0 through
# qemu's forwarded port, copies what the script prints to stdout as it
# comes, and exits with the script's exit status.
#
# Usage: devctl.py [-t IDLE_SECONDS] < script
# Env:   XEN_DEV_PORT (15555: the host end of qemu's hostfwd)
# Exit:  the script's status; 2 (and a message) when there is no server
#        or the connection ended without the server's "DEV-EXIT <status>",
#        or nothing arrived for IDLE_SECONDS.
import os
import re
import socket
import sys

MARK = b"\nDEV-EXIT "
END = re.compile(rb"\nDEV-EXIT (\d+)\n")


def maybe_end(held):
    """Where the part of held that may begin the final DEV-EXIT line
    starts (len(held) if none): all before it can be shown at once."""
    last = held.rfind(b"\n")
    before = held.rfind(b"\n", 0, last) if last > 0 else -1
    if before >= 0 and re.fullmatch(rb"\nDEV-EXIT \d*\n", held[before:]):
        return before
    if last >= 0 and (MARK.startswith(held[last:]) or
                      re.fullmatch(rb"\nDEV-EXIT \d*", held[last:])):
        return last
    return len(held)


def fail(msg):
    print("devctl: " + msg, file=sys.stderr)
    return 2


def main():
    idle = None
    if sys.argv[1:2] == ["-t"] and len(sys.argv) == 3:
        idle = float(sys.argv[2])
    elif len(sys.argv) != 1:
        return fail("usage: devctl.py [-t IDLE_SECONDS] < script")
    port = int(os.environ.get("XEN_DEV_PORT", "15555"))
    script = sys.stdin.buffer.read()
    out = sys.stdout.buffer
    held = b""
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        s.settimeout(idle)
        s.sendall(script)
        s.shutdown(socket.SHUT_WR)
        while True:
            b = s.recv(65536)
            if not b:
                break
            held += b
            k = maybe_end(held)
            out.write(held[:k])
            out.flush()
            held = held[k:]
    except socket.timeout:
        out.write(held)
        return fail("no answer from dom0 for %g s" % idle)
    except OSError as e:
        out.write(held)
        return fail("127.0.0.1:%d: %s (is the rig up? tests/xen/dev.sh "
                    "status)" % (port, e))
    end = END.fullmatch(held)
    if not end:
        out.write(held)
        return fail("the connection to dom0 ended without the script's exit "
                    "status (rig not up, or dom0 went away)")
    return int(end.group(1))


try:
    sys.exit(main())
except KeyboardInterrupt:
    sys.exit(130)
