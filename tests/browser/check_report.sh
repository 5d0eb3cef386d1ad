#!/bin/sh
# The review board's bundle in a real browser (headless Chromium): `accrue report` on three
# shipped scenarios, then
#  - report.html loads, every figure is an SVG with a non-empty drawing, and nothing is wider
#    than an A4 page (794 CSS pixels at 96 dpi, the page's margins included): a copy of the page
#    gets a small script that measures these and writes the verdict into the title, which
#    Chromium's --dump-dom prints (the report itself has no script);
#  - every figures/*.svg parses as XML (Chromium shows a <parsererror> otherwise).
# Usage: tests/browser/check_report.sh [BUILD_DIR]. Exit 0 when all holds, 1 otherwise.
set -eu
build=${1:-build}
browser=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$browser" ]; then
  echo "check_report: no chromium (make deps-browser installs it)"; exit 1
fi
dir=$(mktemp -d /tmp/accrue-browser-XXXXXX)
trap 'rm -rf "$dir"' EXIT
"$build/accrue" report scenarios/protocol-plan scenarios/self-pay scenarios/recent-pace \
  --trials 100000 --quiet --out "$dir/out" > /dev/null
run() {
  timeout 60 "$browser" --headless --no-sandbox --disable-gpu --no-first-run \
    --user-data-dir="$dir/profile" --window-size=794,1123 --virtual-time-budget=5000 \
    --dump-dom "$1" 2>/dev/null
}
# 3 scenarios x 4 figures + the overlay of the completion curves.
expected=13
sed 's#</body>#<script>(function(){var s=document.querySelectorAll("figure svg"),bad=[];\
for(var i=0;i<s.length;i++){var b=s[i].getBBox();if(!(b.width>10\&\&b.height>10))bad.push("empty figure "+i);\
if(s[i].getBoundingClientRect().right>window.innerWidth+0.5)bad.push("figure "+i+" overflows");}\
if(s.length!='"$expected"')bad.push(s.length+" figures");\
if(document.documentElement.scrollWidth>window.innerWidth)bad.push("page wider than A4: "+document.documentElement.scrollWidth);\
document.title=bad.length?"FAIL "+bad.join("; "):"OK "+s.length+" figures";})();</script></body>#' \
  "$dir/out/report.html" > "$dir/out/check.html"
verdict=$(run "file://$dir/out/check.html" | sed -n 's#.*<title>\(.*\)</title>.*#\1#p' | head -n 1)
echo "report.html: $verdict"
status=0
case "$verdict" in OK*) ;; *) status=1 ;; esac
n=0
for f in "$dir"/out/figures/*.svg; do
  n=$((n + 1))
  if run "file://$f" | grep -q parsererror; then
    echo "$(basename "$f"): not well-formed XML"; status=1
  fi
done
echo "figures/*.svg: $n files parsed"
[ "$n" -eq "$expected" ] || { echo "expected $expected figure files"; status=1; }
exit $status
