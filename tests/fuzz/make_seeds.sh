#!/bin/sh
# Writes the fuzzer's seed corpus: one file per scenario folder of tests/bad-input,
# tests/odd-input, scenarios and bench/reference, holding its trial.csv, one NUL byte, then its
# sites.csv (a missing file counts as empty), and when the folder holds an overrides.csv, one
# more NUL byte and its text: the input format of tests/fuzz/fuzz_scenario.c.
# Usage, from the repository root: sh tests/fuzz/make_seeds.sh [OUT_DIR]
# OUT_DIR defaults to tests/fuzz/seeds; seeds this script wrote before are replaced.
set -eu
out=${1:-tests/fuzz/seeds}
mkdir -p "$out"
rm -f "$out"/bad-* "$out"/odd-* "$out"/scenario-* "$out"/bench-*

# seed PREFIX DIR: writes OUT/PREFIX-NAME for the scenario folder DIR.
seed() {
  [ -d "$2" ] || return 0
  f="$out/$1-$(basename "$2")"
  {
    if [ -f "$2/trial.csv" ]; then cat "$2/trial.csv"; fi
    printf '\000'
    if [ -f "$2/sites.csv" ]; then cat "$2/sites.csv"; fi
    if [ -f "$2/overrides.csv" ]; then printf '\000'; cat "$2/overrides.csv"; fi
  } > "$f"
}

for d in tests/bad-input/*/; do seed bad "${d%/}"; done
for d in tests/odd-input/*/; do seed odd "${d%/}"; done
for d in scenarios/*/; do seed scenario "${d%/}"; done
seed bench bench/reference
# An --out folder's inputs/, overrides.csv included (as accrue writes it).
in=$(mktemp -d)
build/accrue run scenarios/self-pay --trials 1000 --quiet --set rate_factor=1.5 \
  --set extra_sites=1 --like new-site-1 --set name='=quoted' --out "$in/out" > /dev/null
seed scenario "$in/out/inputs"
rm -rf "$in"
echo "make_seeds.sh: $(ls "$out" | wc -l) seeds in $out"
