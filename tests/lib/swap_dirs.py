#!/usr/bin/env python3
# swap_dirs.py A B [PAUSE_S]: exchange the paths A and B atomically
# (renameat2 RENAME_EXCHANGE) over and over until killed, pausing PAUSE_S
# seconds between swaps (default none); the race probes' hostile context.
import ctypes, os, sys, time
libc = ctypes.CDLL(None, use_errno=True)
a, b = (os.fsencode(p) for p in sys.argv[1:3])
pause = float(sys.argv[3]) if len(sys.argv) > 3 else 0
AT_FDCWD, RENAME_EXCHANGE = -100, 2
while True:
    if libc.renameat2(AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE) != 0:
        sys.exit("renameat2: " + os.strerror(ctypes.get_errno()))
    if pause:
        time.sleep(pause)
