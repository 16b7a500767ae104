#!/usr/bin/env python3
"""An HTTP proxy on 127.0.0.1 that records what apt fetches, then replays it.

    apt_replay.py record DIR PORT_FILE [UPSTREAM_PROXY]
    apt_replay.py replay DIR PORT_FILE LOG_FILE

apt inside a build step reaches it through Docker's predefined http_proxy
build argument (apt's http method honours http_proxy).  In record mode
(`make deps`, tests/lib/apt_replay.sh) each GET is fetched from the URL it
names -- through UPSTREAM_PROXY when the host's apt has one -- answered, and
kept: DIR/files/<sha256 of the URL> and DIR/index.json ({url: {"status",
"sha256", "type"}}).  In replay mode (the tests) nothing is fetched from
anywhere: a recorded URL gets the recorded answer, any other gets 404, and
every request line is appended to LOG_FILE.  The bytes are apt's own
(InRelease files with their signatures), so apt verifies them as it would
from the archive.  The chosen port is written to PORT_FILE (atomically)."""
import hashlib, json, os, sys, threading, urllib.error, urllib.request

import httpd_common

mode, rdir, port_file = sys.argv[1:4]
if mode not in ("record", "replay"):
    sys.exit("apt_replay.py: mode must be record or replay, not %r" % mode)
upstream = sys.argv[4] if mode == "record" and len(sys.argv) > 4 else None
log_file = sys.argv[4] if mode == "replay" else None
files = os.path.join(rdir, "files")
os.makedirs(files, exist_ok=True)
index_path = os.path.join(rdir, "index.json")
index = json.load(open(index_path)) if os.path.exists(index_path) else {}
lock = threading.Lock()
opener = urllib.request.build_opener(urllib.request.ProxyHandler({"http": upstream} if upstream else {}))


def save_index():
    with open(index_path + ".tmp", "w") as f:
        json.dump(index, f, indent=1, sort_keys=True)
    os.rename(index_path + ".tmp", index_path)


def fetch(url):
    """(status, body, content type) from the URL's own server."""
    try:
        with opener.open(urllib.request.Request(url, headers={"User-Agent": "nrun-apt-record"}), timeout=120) as r:
            return r.status, r.read(), r.headers.get("Content-Type", "application/octet-stream")
    except urllib.error.HTTPError as e:
        return e.code, e.read(), e.headers.get("Content-Type", "text/plain")


class H(httpd_common.Handler):
    def do_GET(self):
        url = self.path
        if not url.startswith("http://"):
            return self.answer(400, b"a proxy request names an http:// URL\n", "text/plain")
        key = hashlib.sha256(url.encode()).hexdigest()
        if mode == "record":
            code, body, ctype = fetch(url)
            with lock:
                with open(os.path.join(files, key + ".tmp"), "wb") as f:
                    f.write(body)
                os.rename(os.path.join(files, key + ".tmp"), os.path.join(files, key))
                index[url] = {"status": code, "sha256": key, "type": ctype}
                save_index()
            return self.answer(code, body, ctype)
        with lock, open(log_file, "a") as f:
            f.write("%s %s %s\n" % (self.command, url, "hit" if url in index else "miss"))
        e = index.get(url)
        if e is None:
            return self.answer(404, b"not recorded\n", "text/plain")
        with open(os.path.join(files, e["sha256"]), "rb") as f:
            self.answer(e["status"], f.read(), e["type"])

    do_HEAD = do_GET

    def do_CONNECT(self):
        self.answer(405, b"no tunnels: only plain http is recorded\n", "text/plain")


httpd_common.serve(httpd_common.server(H), port_file)
