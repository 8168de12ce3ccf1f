#!/usr/bin/env bash
# Builds a self-contained bundle of the command-line tools for a server or a container image:
#   scripts/bundle-server.sh OUT
# OUT/bin gets seq2seq-server and seq2seq (release, the Swift runtime and Foundation linked in statically,
# symbols stripped) and the embedded date model beside them (Seq2Seq_Seq2Seq.resources). What the binaries
# still load from the system is checked against Debian's runtime packages, libopenblas0-pthread (or
# libopenblas0) and libsentencepiece0 with their dependencies, so OUT runs on a Debian 12 machine (or
# debian:bookworm-slim, see Dockerfile) with only those two installed: no Swift toolchain, no -dev packages.
# Then OUT is tried from another working directory: seq2seq translates a date, seq2seq-server starts on a free
# port, answers /health/ready and /v1/translate, and exits 0 on SIGTERM.
# Build products go to .build-static (a release build takes about 9 minutes on 2 cores).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -ne 1 ]; then
  echo "usage: scripts/bundle-server.sh OUT" >&2
  exit 2
fi
out=$1
scripts/install-deps.sh
scratch=.build-static
for product in seq2seq-server seq2seq; do
  swift build -c release --static-swift-stdlib --scratch-path "$scratch" --product "$product"
done
bin=$(swift build -c release --static-swift-stdlib --scratch-path "$scratch" --show-bin-path)
mkdir -p "$out/bin"
rm -rf "$out/bin/Seq2Seq_Seq2Seq.resources"
for product in seq2seq-server seq2seq; do
  cp "$bin/$product" "$out/bin/$product"
  strip "$out/bin/$product"
done
cp -R "$bin/Seq2Seq_Seq2Seq.resources" "$out/bin/"

# Shared libraries: only the C/C++ runtime, OpenBLAS (with gfortran's), SentencePiece.
allowed='^(linux-vdso|libc|libm|libdl|libpthread|librt|libgcc_s|libstdc\+\+|ld-linux-x86-64|ld-linux-aarch64|libopenblas[a-z0-9_-]*|libgfortran|libquadmath|libsentencepiece|libsentencepiece_train)\.so'
for product in seq2seq-server seq2seq; do
  while read -r lib _; do
    name=$(basename "$lib")
    if ! [[ $name =~ $allowed ]]; then
      echo "bundle-server: $product needs $name, which the runtime packages do not provide" >&2
      exit 1
    fi
  done < <(ldd "$out/bin/$product" | awk '{print $1}')
done

# Smoke test, away from the checkout (the embedded model must be found beside the binary).
abs=$(cd "$out/bin" && pwd)
work=$(mktemp -d)
trap 'kill "${pid:-}" 2>/dev/null || true; rm -rf "$work"' EXIT
cd "$work"
got=$("$abs/seq2seq" translate "24/11/2026")
[ "$got" = "2026-11-24" ] || { echo "bundle-server: seq2seq translated 24/11/2026 as '$got'" >&2; exit 1; }
"$abs/seq2seq-server" --port 0 > server.out 2> server.err &
pid=$!
for _ in $(seq 1 300); do grep -q '^listening on ' server.out && break; sleep 0.1; done
url=$(sed -n 's/^listening on //p' server.out)
[ -n "$url" ] || { echo "bundle-server: seq2seq-server did not start:" >&2; cat server.err >&2; exit 1; }
ready=""
for _ in $(seq 1 100); do
  ready=$(curl -s -o /dev/null -w '%{http_code}' "$url/health/ready" || true)
  [ "$ready" = 200 ] && break
  sleep 0.1
done
[ "$ready" = 200 ] || { echo "bundle-server: /health/ready answered $ready" >&2; exit 1; }
answer=$(curl -s "$url/v1/translate" -d '{"text": ["nov 24 2026"]}')
case "$answer" in
  *'"text": "2026-11-24"'*) ;;
  *) echo "bundle-server: /v1/translate answered $answer" >&2; exit 1 ;;
esac
kill -TERM "$pid"
status=0
wait "$pid" || status=$?
pid=""
[ "$status" = 0 ] || { echo "bundle-server: seq2seq-server exited $status on SIGTERM" >&2; exit 1; }
echo "bundle-server: $abs holds seq2seq-server and seq2seq ($(du -sh "$abs" | cut -f1)); they need only libopenblas0-pthread and libsentencepiece0"
