#!/usr/bin/env bash
# Fuzz every parser.
#
#   bash scripts/fuzz.sh            # each target for 60 s (FUZZ_SECONDS to change)
#   bash scripts/fuzz.sh --smoke    # each target once over its seed corpus (what CI runs)
#   bash scripts/fuzz.sh TARGET...  # only these targets
#
# Needs cargo-fuzz (`cargo install cargo-fuzz`, installed by this script when missing). The
# machine's stable toolchain is used with RUSTC_BOOTSTRAP=1 for the sanitizer flags. New inputs
# go to a scratch corpus; the seed corpus in fuzz/corpus/ only changes by hand. A crash leaves its
# input in fuzz/artifacts/TARGET/: add it to the seed corpus and a regression test.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"

smoke=false
targets=()
for arg in "$@"; do
    case "$arg" in
        --smoke) smoke=true ;;
        *) targets+=("$arg") ;;
    esac
done
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked --quiet
export RUSTC_BOOTSTRAP=1
[ ${#targets[@]} -gt 0 ] || mapfile -t targets < <(cargo fuzz list)

seconds=${FUZZ_SECONDS:-60}
for target in "${targets[@]}"; do
    seeds="corpus/$target"
    mkdir -p "$seeds"
    if $smoke; then
        echo "==> fuzz smoke: $target over $(find "$seeds" -type f | wc -l) seed inputs"
        cargo fuzz run --sanitizer none "$target" "$seeds" -- -runs=0
    else
        scratch=$(mktemp -d)
        echo "==> fuzz: $target for ${seconds}s"
        cargo fuzz run "$target" "$scratch" "$seeds" -- -max_total_time="$seconds"
        rm -rf "$scratch"
    fi
done
