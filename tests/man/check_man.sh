#!/bin/sh
# The manual page (man/accrue.1) against the program and the install:
#  - `man -l` renders it at 80 columns with no warning from groff (--warnings) and no line
#    wider than 80 columns;
#  - it describes every command and every option of `accrue --help` (the text it is written
#    from), and no option that --help does not list;
#  - `make install` into a scratch DESTDIR installs the program, the page and every shipped
#    scenario (PREFIX/share/accrue/scenarios/NAME/), the installed page renders, and
#    `make uninstall` then leaves no file behind.
# Usage: tests/man/check_man.sh [BUILD_DIR]. Exit 0 when all holds, 1 otherwise.
set -eu
build=${1:-build}
page=man/accrue.1
status=0
fail() { echo "check_man: $*"; status=1; }
command -v man >/dev/null || { echo "check_man: no man (make deps-check installs man-db)"; exit 1; }
dir=$(mktemp -d /tmp/accrue-man-XXXXXX)
trap 'rm -rf "$dir"' EXIT

MANWIDTH=80 LC_ALL=C.UTF-8 man --warnings -l "$page" > "$dir/page.txt" 2> "$dir/warnings.txt" ||
  fail "man -l failed"
[ -s "$dir/warnings.txt" ] && { fail "warnings:"; cat "$dir/warnings.txt"; }
[ -s "$dir/page.txt" ] || fail "rendered nothing"
wide=$(awk 'length > 80' "$dir/page.txt" | wc -l)
[ "$wide" -eq 0 ] || fail "$wide rendered lines wider than 80 columns"

"$build/accrue" --help > "$dir/help.txt"
# Commands: every "accrue NAME" of the usage has an entry under COMMANDS (".B NAME").
for c in $(sed -n 's/^ *\(usage: \)\{0,1\}accrue \([a-z][a-z]*\).*/\2/p' "$dir/help.txt"); do
  sed -n '/^\.SH COMMANDS/,/^\.SH OPTIONS/p' "$page" | grep -qx "\.B $c" ||
    fail "command '$c' of --help is not described under COMMANDS"
done
# Options, both ways: --help's set of --words equals the page's (written \-\- in roff).
grep -o -- '--[a-z][a-z-]*' "$dir/help.txt" | sort -u > "$dir/help-options"
sed 's/\\-/-/g' "$page" | grep -o -- '--[a-z][a-z-]*' | sort -u > "$dir/page-options"
if ! cmp -s "$dir/help-options" "$dir/page-options"; then
  fail "options differ between --help (<) and the page (>):"
  diff "$dir/help-options" "$dir/page-options" || true
fi
for o in $(cat "$dir/help-options"); do
  sed -n '/^\.SH OPTIONS/,/^\.SH FILES/p' "$page" | sed 's/\\-/-/g' |
    grep -Eq -- "^\.BR? .*$o([^a-z-]|\$)" ||
    fail "option '$o' has no entry under OPTIONS"
done

# make install / uninstall into a scratch root.
root="$dir/root"
make -s install DESTDIR="$root" PREFIX=/usr BUILD="$build" > /dev/null || fail "make install failed"
[ -x "$root/usr/bin/accrue" ] || fail "no usr/bin/accrue installed"
[ -f "$root/usr/share/man/man1/accrue.1" ] || fail "no man page installed"
MANWIDTH=80 man -l "$root/usr/share/man/man1/accrue.1" 2>/dev/null | grep -q '^NAME' ||
  fail "the installed page does not render"
for s in scenarios/*/; do
  name=$(basename "$s")
  for f in "$s"*; do
    cmp -s "$f" "$root/usr/share/accrue/scenarios/$name/$(basename "$f")" ||
      fail "scenario file $f not installed as it is"
  done
done
cmp -s scenarios/README.md "$root/usr/share/accrue/scenarios/README.md" ||
  fail "scenarios/README.md not installed"
"$root/usr/bin/accrue" run "$root/usr/share/accrue/scenarios/self-pay" --trials 4096 --quiet \
  > /dev/null || fail "the installed program cannot run an installed scenario"
make -s uninstall DESTDIR="$root" PREFIX=/usr > /dev/null || fail "make uninstall failed"
left=$(find "$root" -type f | wc -l)
[ "$left" -eq 0 ] || { fail "make uninstall left $left files:"; find "$root" -type f | head; }
[ -d "$root/usr/share/accrue" ] && fail "make uninstall left usr/share/accrue"
[ $status -eq 0 ] && echo "man page: renders without warnings, every command and option of --help; install and uninstall clean"
exit $status
