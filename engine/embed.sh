#!/bin/sh
# Prints a C file holding a scenario folder's trial.csv and sites.csv as byte arrays, for the
# built-in default scenario. Usage: embed.sh SCENARIO_DIR
set -eu
dir=$1
echo "/* Generated from $dir by engine/embed.sh: do not edit. */"
echo "#include <stddef.h>"
for f in trial sites; do
  echo "const char default_${f}_csv[] = {"
  od -An -v -tx1 "$dir/$f.csv" | sed -e 's/ *\([0-9a-f][0-9a-f]\)/0x\1,/g' -e 's/^/  /'
  echo "  0};"
  echo "const size_t default_${f}_len = sizeof default_${f}_csv - 1;"
done
