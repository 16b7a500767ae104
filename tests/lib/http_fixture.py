#!/usr/bin/env python3
"""An HTTP server on 127.0.0.1 for the ADD <url> tests: files from DIR, and
a few hostile answers.  Usage: http_fixture.py DIR PORT_FILE LOG_FILE
  /f/NAME        the file DIR/NAME
  /redirect/NAME 302 to /f/NAME          /loop      302 to itself
  /to-file       302 to file:///etc/passwd
  /huge          declares 3 GiB, sends a little, then stalls
  /endless       chunked, endless zeros
Every request path is appended to LOG_FILE."""
import os, sys, time

import httpd_common

d, port_file, log = sys.argv[1:4]


class H(httpd_common.Handler):
    def do_GET(self):
        with open(log, "a") as f:
            f.write(self.path + "\n")
        p = self.path
        if p.startswith("/f/"):
            fn = os.path.join(d, os.path.basename(p[3:].split("?")[0]))
            if not os.path.isfile(fn):
                return self.answer(404, b"no\n")
            return self.answer(200, open(fn, "rb").read())
        if p.startswith("/redirect/"):
            return self.redirect("/f/" + p[len("/redirect/"):])
        if p == "/loop":
            return self.redirect("/loop")
        if p == "/to-file":
            return self.redirect("file:///etc/passwd")
        if p == "/huge":
            self.send_response(200)
            self.send_header("Content-Length", str(3 << 30))
            self.end_headers()
            self.wfile.write(b"x" * 4096)
            time.sleep(5)
            return
        if p == "/endless":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            chunk = b"%x\r\n" % (1 << 20) + b"\0" * (1 << 20) + b"\r\n"
            try:
                while True:
                    self.wfile.write(chunk)
            except OSError:
                return
        self.answer(404, b"no\n")

    def redirect(self, to):
        self.send_response(302)
        self.send_header("Location", to)
        self.send_header("Content-Length", "0")
        self.end_headers()


s = httpd_common.server(H)
s.daemon_threads = True
httpd_common.serve(s, port_file)
