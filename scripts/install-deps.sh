#!/usr/bin/env bash
# Installs what the package needs from Debian when it is missing: OpenBLAS (CBLAS), LAPACKE, SentencePiece
# (libsentencepiece-dev, for Seq2SeqText), pkg-config.
set -euo pipefail
packages=(libopenblas-dev liblapacke-dev libsentencepiece-dev pkg-config)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing ${missing[*]} ..." >&2
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq "${missing[@]}" >/dev/null
