#!/bin/sh
# The entrypoint of the node base images, with the semantics of Docker's
# node image: when the first argument is an option ("-e ...", "--version"),
# names no command in PATH, or is a plain (non-executable) file, the
# arguments are node's (`docker run node:20 app.js` runs `node app.js`);
# otherwise the command runs as given (`npm start`, `bash`).  No arguments at
# all: node.  Kept in this shape (set -e / if / set -- node / fi / exec) so
# nrun's supervisor recognises it and serves the node process it would exec.
set -e
if [ "${1#-}" != "${1-}" ] || [ -z "$(command -v "${1-}")" ] || { [ -f "${1-}" ] && [ ! -x "${1-}" ]; }; then
    set -- node "$@"
fi
exec "$@"
