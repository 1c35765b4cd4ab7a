#!/usr/bin/env bash
# Rebuilds lame.wasm from LAME 3.100's source, as Debian's archive holds it, and checks that the result is
# the committed file byte for byte (README.md). .ci/run runs it; it needs curl and build.sh's compiler:
#   apt-get install clang lld wasi-libc libclang-rt-dev-wasm32   (Debian 12)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# The upstream lame-3.100.tar.gz, which Debian ships unchanged as its .orig tarball.
url=http://deb.debian.org/debian/pool/main/l/lame/lame_3.100.orig.tar.gz
sha256=ddfe36cab873794038ae2c1210557ad34857a4b6bdc515785d1da9e175b1da1e
sha() { sha256sum <"$1" | cut -c1-64; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
curl -fsSL --retry 3 -o "$work/lame.tar.gz" "$url"
if ! echo "$sha256  $work/lame.tar.gz" | sha256sum -c --quiet; then
  echo "check-build: $url is not LAME 3.100's source (sha256 $sha256)" >&2
  exit 1
fi
tar xzf "$work/lame.tar.gz" -C "$work"
"$here/build.sh" "$work/lame-3.100" "$work/lame.wasm" >/dev/null
if ! cmp -s "$work/lame.wasm" "$here/lame.wasm"; then
  echo "check-build: lame.wasm rebuilt from source ($(sha "$work/lame.wasm")) is not the committed file ($(sha "$here/lame.wasm"))" >&2
  exit 1
fi
echo "check-build: lame.wasm rebuilt from LAME 3.100's source is the committed file ($(sha "$here/lame.wasm"))"
