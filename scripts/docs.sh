#!/usr/bin/env bash
# Builds the Seq2Seq library's DocC documentation (Sources/Seq2Seq/Seq2Seq.docc and every public symbol's doc
# comment) with warnings as errors, then checks that every public symbol has a summary: a symbol without one is
# listed and the script fails. The archive is written to .build/plugins/Swift-DocC/outputs/Seq2Seq.doccarchive;
# `swift package --disable-sandbox preview-documentation --target Seq2Seq` serves it locally.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
mkdir -p .build
swift package --disable-sandbox generate-documentation --target Seq2Seq --warnings-as-errors \
  --experimental-documentation-coverage --coverage-summary-level detailed > .build/docc.log 2>&1 || {
  cat .build/docc.log >&2
  exit 1
}
python3 - <<'PY'
import json, sys
entries = json.load(open(".build/plugins/Swift-DocC/outputs/Seq2Seq.doccarchive/documentation-coverage.json"))
# Members the compiler synthesizes (conformances) carry no comment of ours.
synthesized = {"hash(into:)", "hashValue", "description", "init(rawValue:)", "rawValue", "==(_:_:)", "!=(_:_:)",
               "init(from:)", "encode(to:)", "localizedDescription", "allCases", "AllCases", "RawValue"}
missing = sorted(e["referencePath"] for e in entries
                 if e["kind"].get("isSymbol") and not e["hasAbstract"] and e["title"] not in synthesized)
if missing:
    print(f"{len(missing)} public symbols have no documentation comment:", file=sys.stderr)
    for m in missing:
        print("  " + m.replace("doc://Seq2Seq/documentation/", ""), file=sys.stderr)
    sys.exit(1)
print(f"documentation: {sum(1 for e in entries if e['kind'].get('isSymbol'))} public symbols, every one documented; no warnings")
PY
