#!/usr/bin/env bash
# The test suite under AddressSanitizer (every suite) and ThreadSanitizer (the suites that run threads or
# processes), each in its own scratch directory (.build-asan, .build-tsan). Prints how long each pass took.
#
#   scripts/test-sanitizers.sh            both passes
#   scripts/test-sanitizers.sh asan|tsan  one pass
#
# Notes:
# - The server's suites (Seq2SeqServerTests: Hummingbird and SwiftNIO threads) run in both passes; with
#   SEQ2SEQ_SANITIZER set they send fewer requests (Tests/Seq2SeqServerTests/Support.swift, `Load`).
# - --disable-xctest: the package's tests are Swift Testing; the empty XCTest pass only trips LeakSanitizer
#   on XCTest's own allocations (libXCTest.so), which are not ours.
# - SWIFT_BACKTRACE=enable=no: should a test crash, Swift's backtracer reads the crashed process's memory in
#   a way AddressSanitizer reports as a stack-buffer-overflow in CrashHandlerLinux.cpp, hiding the real error.
# - OpenBLAS is not instrumented. See scripts/tsan.supp for what that means under ThreadSanitizer.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
passes=("${@:-asan tsan}")
# shellcheck disable=SC2206
passes=(${passes[*]})
export SWIFT_BACKTRACE=enable=no
export SEQ2SEQ_SANITIZER=1

run_pass() {
  local name=$1 sanitizer=$2
  shift 2
  local start=$SECONDS
  echo "== $name: building" >&2
  nice -n 19 swift build --build-tests --sanitize="$sanitizer" --scratch-path ".build-$name"
  echo "== $name: testing" >&2
  nice -n 19 swift test --skip-build --disable-xctest --sanitize="$sanitizer" --scratch-path ".build-$name" "$@" \
    --skip Seq2SeqServerTests 2>&1 | tee ".build-$name/swift-test.log"
  # The server's suites on their own (see scripts/test.sh: the other suites would hold the cooperative pool).
  nice -n 19 swift test --skip-build --disable-xctest --sanitize="$sanitizer" --scratch-path ".build-$name" \
    --filter Seq2SeqServerTests 2>&1 | tee -a ".build-$name/swift-test.log"
  echo "== $name: passed in $((SECONDS - start)) s" >&2
}

for pass in "${passes[@]}"; do
  case "$pass" in
    asan)
      # halt_on_error: the first report fails the run. Leak detection stays on (the default on Linux), with
      # two suppressions for leaks inside swift-corelibs-foundation itself (Swift 6.3, not our code):
      # Process.run leaves a weak-reference side table (not every run), and Data(contentsOf:) of an empty file its
      # 4 KiB buffer. The patterns are substrings of the mangled names without their leading `$`, which a
      # suppression pattern reads as an end anchor.
      mkdir -p .build-asan
      printf '%s\n' 'leak:s10Foundation7ProcessC3runyyKF' 'leak:FoundationEssentials17readBytesFromFile' > .build-asan/lsan.supp
      ASAN_OPTIONS="halt_on_error=1:detect_stack_use_after_return=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}" \
      LSAN_OPTIONS="suppressions=$PWD/.build-asan/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}" \
        run_pass asan address
      ;;
    tsan)
      # The suites with threads (Batches: eight threads sharing one model; BLAS layer: the thread count),
      # processes (Command line, Hostile input) and the rest; Parity, Golden cases and the embedded date
      # model's 2,000 dates are single-threaded sweeps that take most of the time under TSan and add nothing
      # here (they run under ASan).
      TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$PWD/scripts/tsan.supp${TSAN_OPTIONS:+:$TSAN_OPTIONS}" \
        run_pass tsan thread --skip ParityTests --skip GoldenTests --skip DemoTests
      ;;
    *) echo "unknown pass $pass (asan or tsan)" >&2; exit 2 ;;
  esac
done
