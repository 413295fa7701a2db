#!/usr/bin/env bash
# Run a command in a private network namespace that has only the loopback interface, so
# nothing a test starts (Chromium, SIP servers, peers) can send a packet off this machine.
# Where namespaces are not available (not root, no unshare), run it as is: the tests still
# confine ICE to 127.0.0.1 on every peer.
set -euo pipefail
if [ "$(id -u)" = 0 ] && command -v unshare >/dev/null && unshare -n true 2>/dev/null; then
  exec unshare -n -- bash -c 'ip link set lo up && exec "$@"' isolated "$@"
fi
echo "isolated.sh: no private network namespace here; running with loopback-only ICE" >&2
exec "$@"
