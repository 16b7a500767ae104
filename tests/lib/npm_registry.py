#!/usr/bin/env python3
"""A read-only npm registry on 127.0.0.1 for the tests and benchmarks.

    npm_registry.py TARBALL_DIR PORT_FILE [CERT KEY]

Serves every package tarball (*.tgz, as `npm pack` writes them) found in
TARBALL_DIR: GET /<name> (scoped: /@scope%2fname or /@scope/name) is the
packument (each version's package.json plus dist.tarball and dist.integrity,
computed here from the bytes served), GET /<name>/-/<file>.tgz the tarball.
With CERT and KEY it speaks HTTPS.  The chosen port is written to PORT_FILE
(atomically) once the server listens.  Nothing is fetched from anywhere."""
import base64, hashlib, json, os, ssl, sys, tarfile, urllib.parse

import httpd_common

tdir, port_file = sys.argv[1], sys.argv[2]
tls = sys.argv[3:5] if len(sys.argv) >= 5 else None

srv = httpd_common.server()
port = srv.server_address[1]
base = "%s://127.0.0.1:%d/" % ("https" if tls else "http", port)

packs, files = {}, {}
for f in sorted(os.listdir(tdir)):
    if not f.endswith(".tgz"):
        continue
    path = os.path.join(tdir, f)
    with tarfile.open(path, "r:gz") as t:
        m = next((x for x in t.getmembers() if x.name.count("/") == 1 and x.name.endswith("/package.json")), None)
        if m is None:
            continue
        pj = json.load(t.extractfile(m))
    data = open(path, "rb").read()
    name, ver = pj["name"], pj["version"]
    short = name.split("/")[-1]
    url_path = "%s/-/%s-%s.tgz" % (name, short, ver)
    files[url_path] = path
    pj["_id"] = "%s@%s" % (name, ver)
    pj["dist"] = {
        "tarball": base + url_path,
        "integrity": "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode(),
        "shasum": hashlib.sha1(data).hexdigest(),
    }
    p = packs.setdefault(name, {"name": name, "versions": {}, "dist-tags": {}})
    p["versions"][ver] = pj
    p["dist-tags"]["latest"] = ver


class H(httpd_common.Handler):
    def do_GET(self):
        p = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path).lstrip("/")
        if p in files:
            with open(files[p], "rb") as f:
                return self.answer(200, f.read(), "application/octet-stream")
        if p in packs:
            return self.answer(200, json.dumps(packs[p]).encode(), "application/json")
        self.answer(404, b'{"error":"not found"}', "application/json")

    do_HEAD = do_GET


srv.RequestHandlerClass = H
if tls:
    c = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    c.load_cert_chain(tls[0], tls[1])
    srv.socket = c.wrap_socket(srv.socket, server_side=True)
httpd_common.serve(srv, port_file)
