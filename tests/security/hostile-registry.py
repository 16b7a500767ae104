#!/usr/bin/env python3
"""A hostile registry for tests/security/registry.bats, on 127.0.0.1.

It speaks just enough of the distribution API to be believed, and each
repository name picks one way of lying:

  good            a valid image (the control)
  wrongdigest     the layer blob's bytes do not hash to its digest
  truncated       the layer blob stops half-way (Content-Length promised more)
  oversize        the layer blob is longer than its descriptor says
  hugemanifest    a 16 MiB manifest
  redirectloop    the layer blob redirects to itself, forever
  selfindex       an index whose linux/amd64 entry names the index itself
  nestedindex     an index whose linux/amd64 entry is another index
  badtype         a manifest with an unknown media type
  badjson         a manifest that is not JSON
  flaky           the manifest answers 503 twice, then works
  forbidden       the manifest answers 403 (must not be retried)
  ansi            a 404 whose error message carries terminal escapes
  chunky          push: a monolithic PUT is refused (413); PATCH chunks work
  badrealm        a 401 whose Bearer realm is a file:// URL
  flakyblob       the layer blob answers 500 with a 1 MiB body twice, then works
  noblob          the layer blob answers 404 BLOB_UNKNOWN
  nohead          push: every HEAD answers 405 (a registry or proxy that serves no HEAD)
  foreign         wants Basic auth; its layer is non-distributable, the registry answers 404 for it, and
                  its urls are file://, ftp:// and http://localhost:PORT/ext/layer (which serves it)
  foreignnohttp   the same, with only file:// and gopher:// urls
  foreignmany     the same, with 17 urls
  foreignplain    the same, with only the http url and no auth
  longloc         answers an upload POST with a 3000-byte Location whose state must come back whole
  hugeloc         the same with 9000 bytes
  urlsgzip        an ordinary (distributable) gzip layer with urls the registry answers 404 for
  redirblob       wants Basic auth; its layer blob answers 307 to http://localhost:PORT/ext/layer (another host,
                  as a registry redirects to its storage)
  relloc          push: upload Locations are path-relative references ("uN", then "../uploads/./uN?c=K"),
                  resolved against the request URL (RFC 3986); a monolithic PUT is refused (413)
  leak            wants Basic auth, and hands out upload Locations on another host name
                  (localhost): a client must not send its credentials there
  stall           the layer blob sends half, then nothing for 120 s (to kill a pull mid-way)

Multi-platform indexes (for pull --all-platforms; "B" is an arm64 image on the same layer):
  multiok         [arm64 B, amd64 A]: the control
  multinest       an entry that is an index, served as the index itself (a loop)
  multiloop       an entry named as an image manifest whose digest serves the index again
  multimany       65 entries
  multibig        an index padded to 5 MiB
  multidup        A listed twice (amd64 and arm64), consistently: pulled once
  multidupbad     A listed twice with different sizes
  multinoamd      [arm64 B] only
  multinoplat     [B without a platform, amd64 A]: kept, shown as "unknown"
  multimissing    [amd64 A, arm64 whose manifest is 404]
  multibadblob    [amd64 A, arm64 C whose layer is 404]: fails after A's layer was fetched
  multiattest     [amd64 A, an attestation manifest (unknown/unknown, an in-toto layer)], as buildx writes

Every request is appended to the --log file as "METHOD PATH".  The port is
written to --port-file.
"""
import gzip
import hashlib
import io
import json
import sys
import tarfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

args = dict(zip(sys.argv[1::2], sys.argv[2::2]))
LOG = args["--log"]
lock = threading.Lock()


def sha(b):
    return "sha256:" + hashlib.sha256(b).hexdigest()


def make_layer():
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as t:
        data = b"hostile registry layer\n" * 4096
        ti = tarfile.TarInfo("hello.txt")
        ti.size = len(data)
        ti.mtime = 0
        t.addfile(ti, io.BytesIO(data))
    tar = raw.getvalue()
    gz = gzip.compress(tar, mtime=0)
    return tar, gz


TAR, LAYER = make_layer()
CONFIG = json.dumps({"architecture": "amd64", "os": "linux", "config": {"Cmd": ["true"]},
                     "rootfs": {"type": "layers", "diff_ids": [sha(TAR)]}}, sort_keys=True).encode()
MT_MAN = "application/vnd.oci.image.manifest.v1+json"
MT_IDX = "application/vnd.oci.image.index.v1+json"


def manifest(layer_size=None):
    return json.dumps({"schemaVersion": 2, "mediaType": MT_MAN,
                       "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                  "digest": sha(CONFIG), "size": len(CONFIG)},
                       "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                                   "digest": sha(LAYER), "size": layer_size or len(LAYER)}]},
                      sort_keys=True).encode()


MANIFEST = manifest()
CONFIG_B = json.dumps({"architecture": "arm64", "os": "linux", "config": {"Cmd": ["true"]},
                       "rootfs": {"type": "layers", "diff_ids": [sha(TAR)]}}, sort_keys=True).encode()
MANIFEST_B = MANIFEST.replace(sha(CONFIG).encode(), sha(CONFIG_B).encode()).replace(
    b'"size": %d}, "layers"' % len(CONFIG), b'"size": %d}, "layers"' % len(CONFIG_B))
MANIFEST_C = MANIFEST_B.replace(sha(LAYER).encode(), sha(b"no such layer").encode())
ATTEST = b'{"_type":"https://in-toto.io/Statement/v0.1","predicateType":"https://spdx.dev/Document"}'
CONFIG_D = json.dumps({"architecture": "unknown", "os": "unknown", "config": {},
                       "rootfs": {"type": "layers", "diff_ids": [sha(ATTEST)]}}, sort_keys=True).encode()
MANIFEST_D = json.dumps({"schemaVersion": 2, "mediaType": MT_MAN,
                         "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                    "digest": sha(CONFIG_D), "size": len(CONFIG_D)},
                         "layers": [{"mediaType": "application/vnd.in-toto+json", "digest": sha(ATTEST),
                                     "size": len(ATTEST)}]}, sort_keys=True).encode()
OVERSIZE_MANIFEST = manifest(layer_size=len(LAYER) - 100)


def foreign_manifest(urls, mt="application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"):
    m = json.loads(MANIFEST)
    m["layers"][0].update(mediaType=mt, urls=urls)
    return json.dumps(m, sort_keys=True).encode()

counts = {}
uploads = {}


class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def send(self, code, body=b"", ctype="application/json", headers=None, length=None):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        self.send_header("Docker-Distribution-API-Version", "registry/2.0")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def handle_one(self):
        with lock:
            with open(LOG, "a") as f:
                f.write("%s %s%s\n" % (self.command, self.path, " AUTH" if self.headers.get("Authorization") else ""))
            counts[self.path] = counts.get(self.path, 0) + 1
            n = counts[self.path]
        p = self.path.split("?")[0]
        if p == "/v2/":
            return self.send(200, b"{}")
        if p == "/ext/layer":  # where the foreign* layers' http url points
            return self.send(200, LAYER, "application/octet-stream")
        parts = p.split("/")
        k = next((i for i, x in enumerate(parts) if i > 2 and x in ("manifests", "blobs")), 3)
        repo, kind, ref = parts[2], parts[k], "/".join(parts[k + 1:])
        if repo == "nohead" and self.command == "HEAD":
            return self.send(405, b"")
        if repo in ("leak", "foreign", "redirblob") and not self.headers.get("Authorization") and not (
                self.command == "PUT" and "/uploads/" in p):
            self.body()
            return self.send(401, b'{"errors":[{"code":"UNAUTHORIZED"}]}',
                             headers={"WWW-Authenticate": 'Basic realm="leak"'})
        if repo == "badrealm":
            return self.send(401, b'{"errors":[{"code":"UNAUTHORIZED"}]}',
                             headers={"WWW-Authenticate": 'Bearer realm="file:///etc/passwd",service="x"'})
        if kind == "manifests":
            return self.manifest(repo, ref, n)
        if kind == "blobs" and ref.startswith("uploads"):
            return self.upload(repo, ref)
        if kind == "blobs":
            return self.blob(repo, ref, n)
        return self.send(404)

    def manifest(self, repo, ref, n):
        if self.command == "PUT":
            self.body()
            return self.send(201, headers={"Docker-Content-Digest": ""})
        if repo == "hugemanifest":
            return self.send(200, b" " * (16 << 20) + MANIFEST, MT_MAN)
        if repo == "badjson":
            return self.send(200, b"<html>not json", MT_MAN)
        if repo == "badtype":
            return self.send(200, json.dumps({"schemaVersion": 2, "mediaType": "text/evil"}).encode(), "text/evil")
        if repo == "flaky" and n <= 2:
            return self.send(503, b'{"errors":[{"code":"UNAVAILABLE"}]}')
        if repo == "forbidden":
            return self.send(403, b'{"errors":[{"code":"DENIED","message":"no"}]}')
        if repo == "ansi":
            return self.send(404, b'{"errors":[{"code":"MANIFEST_UNKNOWN","message":"\\u001b[31mred\\u001b]0;title\\u0007"}]}')
        if repo == "oversize":
            return self.send(200, OVERSIZE_MANIFEST, MT_MAN)
        if repo.startswith("foreign"):
            ext = "http://localhost:%d/ext/layer" % self.server.server_address[1]
            urls = {"foreign": ["file:///etc/passwd", "ftp://127.0.0.1/layer", ext],
                    "foreignplain": [ext],
                    "foreignnohttp": ["file:///etc/passwd", "gopher://127.0.0.1/layer"],
                    "foreignmany": [ext] * 17}[repo]
            return self.send(200, foreign_manifest(urls), MT_MAN)
        if repo == "urlsgzip":
            ext = "http://localhost:%d/ext/layer" % self.server.server_address[1]
            return self.send(200, foreign_manifest([ext], "application/vnd.oci.image.layer.v1.tar+gzip"), MT_MAN)
        if repo.startswith("multi"):
            if ref == sha(MANIFEST_B):
                return self.send(200, MANIFEST_B, MT_MAN)
            if ref == sha(MANIFEST_C):
                return self.send(200, MANIFEST_C, MT_MAN)
            if ref == sha(MANIFEST_D):
                return self.send(200, MANIFEST_D, MT_MAN)
            if ref == sha(MANIFEST):
                return self.send(200, MANIFEST, MT_MAN)
            if ref.startswith("sha256:") and repo == "multimissing":
                return self.send(404, b'{"errors":[{"code":"MANIFEST_UNKNOWN"}]}')
            return self.send(200, self.server.idx[repo], MT_IDX)
        if repo in ("selfindex", "nestedindex"):
            if ref.startswith("sha256:"):
                # asked for the "image" the index named: the index again
                return self.send(200, self.server.idx[repo], MT_IDX)
            return self.send(200, self.server.idx[repo], MT_IDX)
        return self.send(200, MANIFEST, MT_MAN)

    def blob(self, repo, digest, n=0):
        if digest == sha(CONFIG):
            return self.send(200, CONFIG, "application/octet-stream")
        if digest == sha(CONFIG_B):
            return self.send(200, CONFIG_B, "application/octet-stream")
        if digest in (sha(CONFIG_D), sha(ATTEST)):
            return self.send(200, CONFIG_D if digest == sha(CONFIG_D) else ATTEST, "application/octet-stream")
        if digest != sha(LAYER) or repo.startswith("foreign") or repo == "urlsgzip":
            return self.send(404, b'{"errors":[{"code":"BLOB_UNKNOWN"}]}')
        if self.command == "HEAD":
            return self.send(404 if repo == "chunky" else 200, length=len(LAYER))
        if repo == "wrongdigest":
            bad = bytearray(LAYER)
            bad[len(bad) // 2] ^= 0xFF
            return self.send(200, bytes(bad), "application/octet-stream")
        if repo == "truncated":
            self.send_response(200)
            self.send_header("Content-Length", str(len(LAYER)))
            self.end_headers()
            self.wfile.write(LAYER[: len(LAYER) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        if repo == "oversize":
            return self.send(200, LAYER, "application/octet-stream")
        if repo == "stall":
            self.send_response(200)
            self.send_header("Content-Length", str(len(LAYER)))
            self.end_headers()
            self.wfile.write(LAYER[: len(LAYER) // 2])
            self.wfile.flush()
            time.sleep(120)
            return
        if repo == "flakyblob" and n <= 2:
            return self.send(500, b"E" * (1 << 20), "text/plain")
        if repo == "noblob":
            return self.send(404, b'{"errors":[{"code":"BLOB_UNKNOWN","message":"blob unknown to registry"}]}')
        if repo == "redirectloop":
            return self.send(307, headers={"Location": self.path})
        if repo == "redirblob":
            return self.send(307, headers={"Location": "http://localhost:%d/ext/layer" % self.server.server_address[1]})
        return self.send(200, LAYER, "application/octet-stream")

    def upload(self, repo, ref):
        base = self.path.split("/blobs/")[0]
        if self.command == "POST":
            uid = "u%d" % len(uploads)
            uploads[uid] = b""
            if repo == "relloc":
                return self.send(202, headers={"Location": uid, "Range": "0-0"})
            if repo in ("longloc", "hugeloc"):  # upload state in the Location: it must come back whole
                return self.send(202, headers={"Location": "%s/blobs/uploads/%s?state=%s" % (
                    base, uid, "S" * (3000 if repo == "longloc" else 9000)), "Range": "0-0"})
            if repo == "leak":
                return self.send(202, headers={"Location": "http://localhost:%d%s/blobs/uploads/%s" % (
                    self.server.server_address[1], base, uid), "Range": "0-0"})
            return self.send(202, headers={"Location": "%s/blobs/uploads/%s" % (base, uid), "Range": "0-0"})
        uid = ref.split("/")[1]
        data = self.body()
        if repo in ("longloc", "hugeloc") and "state=" + "S" * (3000 if repo == "longloc" else 9000) not in self.path:
            return self.send(400, b'{"errors":[{"code":"BLOB_UPLOAD_INVALID","message":"state cut"}]}')
        if self.command == "PATCH":
            uploads[uid] += data
            if repo == "relloc":
                return self.send(202, headers={"Location": "../uploads/./%s?c=%d" % (uid, len(uploads[uid])),
                                               "Range": "0-%d" % (len(uploads[uid]) - 1)})
            return self.send(202, headers={"Location": "%s/blobs/uploads/%s" % (base, uid),
                                           "Range": "0-%d" % (len(uploads[uid]) - 1)})
        if self.command == "PUT":
            if data and repo in ("chunky", "relloc"):
                return self.send(413, b'{"errors":[{"code":"SIZE_INVALID","message":"use chunks"}]}')
            uploads[uid] += data
            want = self.path.split("digest=")[1].split("&")[0].replace("%3A", ":")
            if sha(uploads[uid]) != want:
                return self.send(400, b'{"errors":[{"code":"DIGEST_INVALID"}]}')
            return self.send(201, headers={"Docker-Content-Digest": want})
        return self.send(405)

    do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = handle_one


def main():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
    srv.daemon_threads = True

    def index(entry_mt, digest):
        return json.dumps({"schemaVersion": 2, "mediaType": MT_IDX, "manifests": [
            {"mediaType": entry_mt, "digest": digest, "size": 100,
             "platform": {"os": "linux", "architecture": "amd64"}}]}, sort_keys=True).encode()

    # selfindex: the entry names (as an image manifest) the digest of what is served for it: the index
    # itself cannot contain its own digest, so it names the digest of the index as first served
    # and is then served for that digest: a loop the client must not follow.
    first = index(MT_MAN, sha(b"placeholder"))
    srv.idx = {"selfindex": index(MT_MAN, sha(first)), "nestedindex": index(MT_IDX, sha(MANIFEST))}
    def ent(man, plat, mt=MT_MAN, size=None):
        e = {"mediaType": mt, "digest": sha(man) if isinstance(man, bytes) else man,
             "size": size if size is not None else (len(man) if isinstance(man, bytes) else 100)}
        if plat:
            e["platform"] = {"os": "linux", "architecture": plat}
        return e

    def multi(entries, pad=b""):
        return json.dumps({"schemaVersion": 2, "mediaType": MT_IDX, "manifests": entries},
                          sort_keys=True).encode() + pad

    A, B = ent(MANIFEST, "amd64"), ent(MANIFEST_B, "arm64")
    first = multi([A, ent(sha(b"placeholder"), "arm64")])
    srv.idx.update({
        "multiok": multi([B, A]),
        "multinest": multi([ent(sha(multi([B, A])), "arm64", MT_IDX), A]),
        "multiloop": multi([A, ent(sha(first), "arm64", size=len(first))]),
        "multimany": multi([A] + [ent(sha(b"%d" % i), "arm64") for i in range(64)]),
        "multibig": multi([B, A], b" " * (5 << 20)),
        "multidup": multi([A, ent(MANIFEST, "arm64")]),
        "multidupbad": multi([A, ent(MANIFEST, "arm64", size=len(MANIFEST) + 1)]),
        "multinoamd": multi([B]),
        "multinoplat": multi([ent(MANIFEST_B, None), A]),
        "multimissing": multi([A, ent(sha(b"missing"), "arm64")]),
        "multibadblob": multi([A, ent(MANIFEST_C, "arm64")]),
        "multiattest": multi([A, dict(ent(MANIFEST_D, None), platform={"os": "unknown", "architecture": "unknown"},
                                      annotations={"vnd.docker.reference.type": "attestation-manifest",
                                                   "vnd.docker.reference.digest": sha(MANIFEST)})]),
    })
    with open(args["--port-file"], "w") as f:
        f.write(str(srv.server_address[1]))
    srv.serve_forever()


if __name__ == "__main__":
    main()
