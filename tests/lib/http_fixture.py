#!/usr/bin/env python3
"""An HTTP server on 127.0.0.1 for the ADD <url> tests: files from DIR, and
a few hostile answers.  Usage: http_fixture.py DIR PORT_FILE LOG_FILE
  /f/NAME        the file DIR/NAME
  /redirect/NAME 302 to /f/NAME          /loop      302 to itself
  /to-file       302 to file:///etc/passwd
  /huge          declares 3 GiB, sends a little, then stalls
  /endless       chunked, endless zeros
Every request path is appended to LOG_FILE."""
import http.server, os, sys, time

d, port_file, log = sys.argv[1:4]


class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def do_GET(self):
        with open(log, "a") as f:
            f.write(self.path + "\n")
        p = self.path
        if p.startswith("/f/"):
            fn = os.path.join(d, os.path.basename(p[3:].split("?")[0]))
            if not os.path.isfile(fn):
                return self.reply(404, b"no\n")
            return self.reply(200, open(fn, "rb").read())
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
        self.reply(404, b"no\n")

    def reply(self, code, body):
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def redirect(self, to):
        self.send_response(302)
        self.send_header("Location", to)
        self.send_header("Content-Length", "0")
        self.end_headers()


s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
s.daemon_threads = True
with open(port_file + ".tmp", "w") as f:
    f.write(str(s.server_address[1]))
os.rename(port_file + ".tmp", port_file)
s.serve_forever()
