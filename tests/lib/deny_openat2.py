#!/usr/bin/env python3
# deny_openat2.py ERRNO CMD...: exec CMD under a seccomp filter that fails openat2 with ERRNO
import ctypes, errno, os, struct, sys
SYS_openat2 = 437
libc = ctypes.CDLL(None, use_errno=True)
e = getattr(errno, sys.argv[1])
# BPF: ld arch-independent nr; jeq openat2 -> ret ERRNO|e; ret ALLOW
BPF_LD, BPF_W, BPF_ABS, BPF_JMP, BPF_JEQ, BPF_K, BPF_RET = 0x00, 0x00, 0x20, 0x05, 0x10, 0x00, 0x06
def stmt(code, k): return struct.pack("HBBI", code, 0, 0, k)
def jump(code, k, jt, jf): return struct.pack("HBBI", code, jt, jf, k)
prog = (stmt(BPF_LD | BPF_W | BPF_ABS, 0) + jump(BPF_JMP | BPF_JEQ | BPF_K, SYS_openat2, 0, 1)
        + stmt(BPF_RET | BPF_K, 0x00050000 | e) + stmt(BPF_RET | BPF_K, 0x7fff0000))
buf = ctypes.create_string_buffer(prog)
class fprog(ctypes.Structure): _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]
p = fprog(len(prog) // 8, ctypes.addressof(buf))
if libc.prctl(38, 1, 0, 0, 0) != 0 or libc.prctl(22, 2, ctypes.byref(p), 0, 0) != 0:
    sys.exit("deny_openat2: prctl: " + os.strerror(ctypes.get_errno()))
os.execvp(sys.argv[2], sys.argv[2:])
