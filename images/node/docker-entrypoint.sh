#!/bin/sh
# The entrypoint of the node base images, with the semantics of Docker's
# node image: when the first argument is an option ("-e ...", "--version"),
# or names neither a command in PATH nor an executable file, the arguments
# are node's (`docker run node:20 app.js` runs `node app.js`); otherwise the
# command runs as given (`npm start`, `bash`).  No arguments at all: node.
set -e
case ${1-} in
-*) set -- node "$@" ;;
*)
    if [ -z "$(command -v "${1-}")" ] || { [ -f "${1-}" ] && ! [ -x "${1-}" ]; }; then
        set -- node "$@"
    fi
    ;;
esac
exec "$@"
