#!/usr/bin/env bash
# Fuzz every parser (fuzz/README.md lists the targets).
#
#   bash scripts/fuzz.sh                 # every target for 60 s, then a table of executions
#   bash scripts/fuzz.sh --seconds 10 T  # only target T, 10 s (FUZZ_SECONDS works too)
#   bash scripts/fuzz.sh --smoke         # CI: every target over its seed corpus, no libFuzzer
#   bash scripts/fuzz.sh --regressions   # the known crashes in fuzz/regressions/ (fails while any
#                                        # still crashes)
#   bash scripts/fuzz.sh --strict ...    # fuzz without masking the known bugs
#
# Fuzzing needs cargo-fuzz (installed by this script when missing) and runs on the machine's
# stable toolchain with RUSTC_BOOTSTRAP=1 for the sanitizer-coverage flags. All targets are built
# in one cargo invocation, then each runs over a scratch corpus seeded from fuzz/corpus/TARGET/
# (new inputs go to the scratch corpus; the seed corpus only changes by hand). The sanitizer is
# `none` (the crates forbid unsafe code; FUZZ_SANITIZER=address to change). A crash leaves its
# input in fuzz/artifacts/TARGET/: minimise it (`cargo fuzz tmin`), put it in
# fuzz/regressions/TARGET/ until the owning crate is fixed, then in fuzz/corpus/TARGET/. The
# known bugs (fuzz/README.md) are masked while fuzzing (HSM_FUZZ_MASK=all) so that a run explores
# past them; --strict turns that off.
#
# --smoke builds the target functions as a plain test (fuzz/tests/corpus.rs, dev profile, no
# instrumentation, no cargo-fuzz) and runs each once over every seed input: that is what CI runs.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"

mode=fuzz
seconds=${FUZZ_SECONDS:-60}
sanitizer=${FUZZ_SANITIZER:-none}
targets=()
while [ $# -gt 0 ]; do
    case "$1" in
        --smoke) mode=smoke ;;
        --regressions) mode=regressions ;;
        --seconds) seconds=$2; shift ;;
        --strict) export HSM_FUZZ_MASK= ;;
        -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
        -*) echo "unknown option $1" >&2; exit 2 ;;
        *) targets+=("$1") ;;
    esac
    shift
done

case "$mode" in
    smoke|regressions) unset HSM_FUZZ_MASK ;;
esac
case "$mode" in
    smoke)
        echo "==> fuzz smoke: every target over its seed corpus ($(find corpus -type f | wc -l) inputs)"
        exec cargo test --no-default-features --tests -- --nocapture
        ;;
    regressions)
        echo "==> known crashes: $(find regressions -type f 2>/dev/null | wc -l) inputs"
        exec cargo test --no-default-features --test corpus -- --include-ignored known_bugs
        ;;
esac

command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked --quiet
export RUSTC_BOOTSTRAP=1
export HSM_FUZZ_MASK=${HSM_FUZZ_MASK-all}
[ ${#targets[@]} -gt 0 ] || mapfile -t targets < <(cargo fuzz list)

echo "==> building ${#targets[@]} fuzz targets (sanitizer: $sanitizer)"
cargo fuzz build --sanitizer "$sanitizer"

summary=$(mktemp)
trap 'rm -f "$summary"' EXIT
status=0
for target in "${targets[@]}"; do
    seeds="corpus/$target"
    mkdir -p "$seeds"
    scratch=$(mktemp -d)
    log=$(mktemp)
    echo "==> fuzz: $target for ${seconds}s from $(find "$seeds" -type f | wc -l) seeds"
    rc=0
    cargo fuzz run --sanitizer "$sanitizer" "$target" "$scratch" "$seeds" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        >"$log" 2>&1 || rc=$?
    grep -E '^(#[0-9]+ +(INITED|DONE)|Done [0-9]+ runs|==[0-9]+== ERROR|SUMMARY|thread .* panicked|artifact_prefix|Test unit written)' "$log" || true
    if [ $rc -eq 0 ]; then
        result="no crash"
    else
        result="CRASH (exit $rc): see fuzz/artifacts/$target/"
        status=1
        tail -40 "$log"
    fi
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1 | cut -d' ' -f2)
    printf '| `%s` | %s | %s | %s |\n' "$target" "${execs:-?}" "${cov:-?}" "$result" >>"$summary"
    rm -rf "$scratch" "$log"
done

echo
echo "| target | executions in ${seconds}s | coverage (edges) | result |"
echo "|---|---|---|---|"
cat "$summary"
exit $status
