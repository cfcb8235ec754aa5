#!/usr/bin/env bash
# promtool, amtool and Alertmanager for the alert tests (tests/engines), linked into
# .tools/bin. Each is taken from, in order:
#   1. $PROMTOOL, $AMTOOL, $ALERTMANAGER (a path you give);
#   2. your PATH (apt install prometheus prometheus-alertmanager; brew install prometheus
#      alertmanager; or the release tarballs from prometheus.io);
#   3. Debian's or Ubuntu's packages, downloaded and unpacked into .tools (no root needed
#      once apt's package lists exist), whatever version the distribution carries.
# Then each is held to the oldest release the tests are written for. One line per problem.
set -u
cd "$(dirname "$0")/.."
TOOLS=.tools
MIN_PROMETHEUS=2.42.0
MIN_ALERTMANAGER=0.25.0
mkdir -p "$TOOLS/bin"

# version_of <binary>: the x.y.z it prints for --version
version_of() { "$1" --version 2>&1 | grep -Eo 'version [0-9]+\.[0-9]+\.[0-9]+' | head -n1 | cut -d' ' -f2; }
# at_least <have> <want>
at_least() { [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n1)" = "$2" ]; }

unpacked() {  # unpack Debian's/Ubuntu's packages once (no root), print nothing
  [ -x "$TOOLS/root/usr/bin/promtool" ] && [ -x "$TOOLS/root/usr/bin/amtool" ] && return 0
  command -v apt-get >/dev/null && command -v dpkg-deb >/dev/null || return 1
  rm -rf "$TOOLS/debs" && mkdir -p "$TOOLS/debs"
  (cd "$TOOLS/debs" && { apt-get download prometheus prometheus-alertmanager >/dev/null 2>&1 \
    || { apt-get update -qq >/dev/null 2>&1 && apt-get download prometheus prometheus-alertmanager >/dev/null 2>&1; }; }) || return 1
  for deb in "$TOOLS"/debs/*.deb; do dpkg-deb -x "$deb" "$TOOLS/root" || return 1; done
}

# find <name> <env value> <candidates on PATH…>: print the binary's path, or nothing
find_tool() {
  local given=$2; shift 2
  if [ -n "$given" ]; then echo "$given"; return; fi
  local c
  for c in "$@"; do command -v "$c" 2>/dev/null && return; done
  if unpacked; then
    for c in "$@"; do [ -x "$TOOLS/root/usr/bin/$c" ] && { echo "$TOOLS/root/usr/bin/$c"; return; }; done
  fi
}

failed=0
link() {  # link <name in .tools/bin> <path> <minimum> <how to get it>
  local name=$1 path=$2 min=$3 how=$4 have
  if [ -z "$path" ] || [ ! -x "$path" ]; then
    echo "$name: not found${path:+ at $path}; $how" >&2; failed=1; return
  fi
  have=$(version_of "$path")
  if [ -z "$have" ] || ! at_least "$have" "$min"; then
    echo "$name: $path is version ${have:-unknown}, the tests need $min or newer; $how" >&2
    failed=1; return
  fi
  ln -sf "$(cd "$(dirname "$path")" && pwd)/$(basename "$path")" "$TOOLS/bin/$name"
}

PROM_HOW="install Prometheus $MIN_PROMETHEUS+ (apt install prometheus, brew install prometheus) or set PROMTOOL=/path/to/promtool"
AM_HOW="install Alertmanager $MIN_ALERTMANAGER+ (apt install prometheus-alertmanager, brew install alertmanager) or set AMTOOL and ALERTMANAGER"
link promtool "$(find_tool promtool "${PROMTOOL:-}" promtool)" "$MIN_PROMETHEUS" "$PROM_HOW"
link amtool "$(find_tool amtool "${AMTOOL:-}" amtool)" "$MIN_ALERTMANAGER" "$AM_HOW"
link alertmanager "$(find_tool alertmanager "${ALERTMANAGER:-}" alertmanager prometheus-alertmanager)" \
  "$MIN_ALERTMANAGER" "$AM_HOW"
[ "$failed" = 0 ] || exit 1
for t in promtool amtool alertmanager; do echo "$t $(version_of "$TOOLS/bin/$t") ($(readlink "$TOOLS/bin/$t"))"; done
