#!/bin/sh
# Re-pins the outputs that tests/test_pinned.c holds byte for byte: runs every case of
# tests/pinned/cases.txt with build/accrue into tests/pinned/expected/NAME/. Run it only in a
# commit that changes results on purpose, and say in that commit why they changed.
set -eu
mkdir -p "$(dirname "$0")/expected"
cd "$(dirname "$0")/../.."
grep -v '^#' tests/pinned/cases.txt | while read -r name dir trials seed; do
  rm -rf "tests/pinned/expected/$name"
  build/accrue run "$dir" --trials "$trials" --seed "$seed" --threads 1 --quiet \
    --out "tests/pinned/expected/$name" > /dev/null
  rm -r "tests/pinned/expected/$name/inputs"   # copies of the scenario: nothing to pin
done
