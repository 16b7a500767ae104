#!/usr/bin/env python3
"""Write small (also hostile) tar layers for the runtime tests.
usage: mktar.py OUT.tar KIND   (see the KINDS table)"""
import io
import sys
import tarfile


def reg(name, data=b"x\n", mode=0o644):
    ti = tarfile.TarInfo(name)
    ti.size = len(data)
    ti.mode = mode
    return ti, io.BytesIO(data)


def typed(name, kind, **kw):
    ti = tarfile.TarInfo(name)
    ti.type = kind
    for k, v in kw.items():
        setattr(ti, k, v)
    return ti, None


KINDS = {
    "dotdot": [reg("../../etc/nrun-test-evil")],
    "absolute": [reg("/etc/nrun-test-evil")],
    "symlink-parent": [typed("a", tarfile.SYMTYPE, linkname="/etc"), reg("a/nrun-test-evil")],
    "symlink-rel-parent": [typed("b", tarfile.SYMTYPE, linkname="../../../../etc"), reg("b/nrun-test-evil")],
    "hardlink-abs": [typed("shadow", tarfile.LNKTYPE, linkname="/etc/shadow")],
    "hardlink-dotdot": [typed("shadow", tarfile.LNKTYPE, linkname="../../../../etc/shadow")],
    "hardlink-via-symlink": [typed("e", tarfile.SYMTYPE, linkname="/etc"),
                             typed("shadow", tarfile.LNKTYPE, linkname="e/shadow")],
    "chardev00": [typed("etc", tarfile.DIRTYPE, mode=0o755),
                  typed("etc/passwd", tarfile.CHRTYPE, devmajor=0, devminor=0)],
    "blockdev": [typed("sda", tarfile.BLKTYPE, devmajor=8, devminor=0)],
    "lower": [typed("dir", tarfile.DIRTYPE, mode=0o755), reg("dir/a", b"a\n"), reg("dir/b", b"b\n"),
              typed("opq", tarfile.DIRTYPE, mode=0o755), reg("opq/x", b"x\n"),
              typed("keep", tarfile.DIRTYPE, mode=0o755), reg("keep/c", b"c\n"),
              reg("hl-src", b"same\n"), typed("hl-dst", tarfile.LNKTYPE, linkname="hl-src"),
              typed("lnk", tarfile.SYMTYPE, linkname="/keep/c"),
              reg("suid", b"#!/bin/sh\n", mode=0o4755)],
    "upper": [reg("dir/.wh.a", b""), reg("opq/.wh..wh..opq", b""), reg("opq/y", b"y\n"), reg("./keep/d", b"d\n")],
}

with tarfile.open(sys.argv[1], "w", format=tarfile.PAX_FORMAT) as t:
    for ti, data in KINDS[sys.argv[2]]:
        t.addfile(ti, data)
