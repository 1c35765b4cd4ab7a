#!/usr/bin/env bash
# Rebuilds lame.wasm from LAME 3.100's source and lame_wasm.c (README.md: why, and how to check it).
#   apt-get install clang lld wasi-libc libclang-rt-dev-wasm32   (Debian 12: clang 14)
#   apt-get source lame   (needs a deb-src line), or the upstream lame-3.100.tar.gz: the same tarball,
#   sha256 ddfe36cab873794038ae2c1210557ad34857a4b6bdc515785d1da9e175b1da1e
#   worker/engine/lame/build.sh path/to/lame-3.100 [output, this folder's lame.wasm by default]
# check-build.sh runs it on Debian's copy of the source and compares the output with the committed file.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "${1:?usage: build.sh <the lame-3.100 source directory> [output]}" && pwd)
out=${2:-$here/lame.wasm}
outdir=$(cd "$(dirname "$out")" && pwd)
out=$outdir/$(basename "$out")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r "$src" "$work/lame"
cd "$work/lame"
# configure describes the build host (x86-64 Linux), with clang whichever C compiler is installed too;
# wasm32 has 4-byte longs and no SSE.
CC=clang ./configure --disable-frontend --disable-decoder --disable-shared --enable-static --disable-gtktest --disable-nasm >/dev/null
sed -i 's/^#define SIZEOF_LONG 8$/#define SIZEOF_LONG 4/; s/^#define SIZEOF_UNSIGNED_LONG 8$/#define SIZEOF_UNSIGNED_LONG 4/; s/^#define HAVE_XMMINTRIN_H 1$//' config.h
clang --target=wasm32-wasi --sysroot=/usr -O3 -msimd128 -DHAVE_CONFIG_H -I. -Iinclude -Ilibmp3lame -w \
  -mexec-model=reactor -Wl,--strip-all -Wl,-z,stack-size=1048576 \
  -o "$out" "$here/lame_wasm.c" $(ls libmp3lame/*.c | grep -v mpglib_interface) -lm
sha256sum "$out"
