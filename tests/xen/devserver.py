#!/usr/bin/env python3
# Command server of the Xen rig's development mode, run in dom0.
# tests/xen/dev.sh up copies it onto the work disk; dom0-init runs it
# (python3 /work/devserver.py) instead of scenario.sh when /work/devloop
# exists, after bringing up eth0.  tests/xen/devctl.py is the client.
#
# Protocol, one script per TCP connection on port 5555 (qemu forwards a
# host port to it): the client sends a bash script and half-closes; the
# server runs `bash FILE` in /work/out with stdin /dev/null and stdout and
# stderr on the connection, then sends "\nDEV-EXIT <status>\n" (status:
# bash's exit status, 128+N if a signal N killed it) and closes.  Each
# connection gets a thread, so a hung script does not block the next one.
# Prints "XEN-RIG: dev-ready" on the console once it listens (dev.sh up
# waits for it); runs until dom0 powers off.
import os
import socket
import subprocess
import tempfile
import threading

PORT = 5555


def serve(conn):
    with conn:
        fd, path = tempfile.mkstemp(prefix="dev-", suffix=".sh")
        try:
            with os.fdopen(fd, "wb") as f:
                while True:
                    b = conn.recv(65536)
                    if not b:
                        break
                    f.write(b)
            rc = subprocess.run(["bash", path], stdin=subprocess.DEVNULL,
                                stdout=conn, stderr=conn,
                                cwd="/work/out").returncode
            if rc < 0:
                rc = 128 - rc
            conn.sendall(b"\nDEV-EXIT %d\n" % rc)
            # shutdown, not just close: the script may have left children
            # that hold the socket open.
            conn.shutdown(socket.SHUT_RDWR)
        except OSError as e:
            print("devserver: %s" % e, flush=True)
        finally:
            os.unlink(path)


def main():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", PORT))
    s.listen(8)
    with open("/proc/uptime") as f:
        up = f.read().split()[0]
    print("XEN-RIG: dev-ready (dom0 uptime %s s, port %d)" % (up, PORT),
          flush=True)
    while True:
        conn, _ = s.accept()
        threading.Thread(target=serve, args=(conn,), daemon=True).start()


main()
