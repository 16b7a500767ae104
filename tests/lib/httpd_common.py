"""What the tests' small HTTP servers (apt_replay.py, npm_registry.py,
http_fixture.py) share: a quiet HTTP/1.1 handler with one way to answer, and
the start that publishes the chosen port.  Imported from the script's own
directory (python puts it first on sys.path)."""
import http.server, os


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def answer(self, code, body, ctype=None):
        """A whole answer with its length; no body to a HEAD.  ctype None
        sends no Content-Type (http_fixture.py's answers have none)."""
        self.send_response(code)
        if ctype is not None:
            self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


def server(handler=Handler):
    """A threading server on 127.0.0.1 at a port the kernel picks."""
    return http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)


def serve(srv, port_file):
    """Write the port to port_file atomically (the callers poll for it), then serve."""
    with open(port_file + ".tmp", "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(port_file + ".tmp", port_file)
    srv.serve_forever()
