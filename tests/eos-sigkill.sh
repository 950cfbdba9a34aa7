#!/usr/bin/env bash
# The exactly-once SIGKILL trials on Apache Kafka, 20 by default (CI's test runs 3):
# `sluice server` under processing.guarantee=exactly_once_v2 is SIGKILLed at random
# points while a producer streams into its input, and started again each time; the
# output, read with read_committed, must hold every record once, and the broker's
# segments must show aborted transactions. Prints one line per kill and the summary.
#   tests/eos-sigkill.sh [KILLS]
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/sluice/target}"
SLUICE_EOS_TRIALS="${1:-20}" cargo test -q -p sluice-cli --test kafka_exactly_once -- --nocapture 2>&1 |
  grep -E '^kill [0-9]+:|kills:|test result|panicked|lost|twice'
