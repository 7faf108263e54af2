#!/usr/bin/env bash
# Installs the OS packages some tests need, only where they are missing (Debian/Ubuntu, as root).
# chromium: the browser test (Playwright drives the system browser; no browser download).
# haproxy: the reverse proxy of the zero-downtime rehearsal.
# wrk: the HTTP load generator of `make bench` (C, so the server, not the client, sets the rate).
set -euo pipefail
need=()
command -v chromium >/dev/null 2>&1 || command -v google-chrome >/dev/null 2>&1 || need+=(chromium)
command -v haproxy >/dev/null 2>&1 || need+=(haproxy)
command -v wrk >/dev/null 2>&1 || need+=(wrk)
if [ ${#need[@]} -eq 0 ]; then
  echo "system packages present: chromium, haproxy, wrk"
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "warning: ${need[*]} missing and no apt-get here; the tests that need them will be skipped" >&2
  exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "installing ${need[*]} (apt-get)"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
echo "installed ${need[*]}"
