#!/usr/bin/env bash
# The reports as a reviewer sees them: the reference run, retry-storm (a
# failing run), a sweep, a comparison, a capacity search and a validation
# (of the rig fixture), each rendered by headless Chromium at 1400 px. From the rendered page (tests/browser/check.js):
# nothing wider than the window, every image and inline SVG sized and inside
# the page (wide tables scroll in their own box), no text under 10 px.
# Screenshots are kept in $BROWSER_ARTIFACTS (default
# target/browser-artifacts) to look at. Installs Debian's chromium when
# missing (as root). About 30 s on 2 cores.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"

. tests/need.sh
browser=""
for b in chromium chromium-browser; do
  if command -v "$b" >/dev/null; then browser=$b; break; fi
done
if [ -z "$browser" ]; then
  need "the browser check" chromium -- chromium
  browser=chromium
fi

cargo build --release --locked --quiet
bin="$root/${CARGO_TARGET_DIR:-target}/release/stacksim"
art="${BROWSER_ARTIFACTS:-$root/target/browser-artifacts}"
mkdir -p "$art"
# A deliberately long folder name: the command line and paths a report
# quotes must wrap, whatever folder a checkout or a temporary directory has.
tmp=$(mktemp -d -t "stacksim-browser-check-a-long-folder-name-as-a-deep-checkout-or-ci-workspace-would-have-XXXXXX")
trap 'rm -rf "$tmp"' EXIT

quick=(--duration 30s --warmup 5s --replications 3 --quiet)
echo "== [$SECONDS s] the six reports"
"$bin" run "${quick[@]}" --out "$tmp/reference" >/dev/null
"$bin" run scenarios/retry-storm.toml "${quick[@]}" --out "$tmp/retry-storm" >/dev/null
"$bin" sweep scenarios/replica-sweep.toml --duration 20s --warmup 5s --replications 2 \
  --quiet --out "$tmp/sweep" >/dev/null
"$bin" compare scenarios/secured-web-stack.toml scenarios/secured-web-stack-improved.toml \
  "${quick[@]}" --out "$tmp/compare" >/dev/null
"$bin" capacity scenarios/secured-web-stack.toml --slo "p99<100ms" "${quick[@]}" --out "$tmp/capacity" >/dev/null
# The validation report, from the rig fixture (tests/data/rig/README.md):
# calibrated below 900 requests/s, held against the levels above.
(
  cd tests/data/rig
  fmt='$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" $request_time $upstream_response_time $msec $upstream_connect_time $upstream_header_time'
  logs=(--haproxy haproxy.log.gz --nginx web1-access.log.gz --nginx web2-access.log.gz
    --nginx-format "$fmt" --mysql-slow slow.log.gz --cpu cpu.csv --window 5s)
  "$bin" calibrate "${logs[@]}" --haproxy-config haproxy.cfg --nginx-config web1-nginx.conf \
    --cores 2 --workers app=4 --until 1796123828 --out "$tmp/rig.toml" --quiet >/dev/null
  "$bin" validate "$tmp/rig.toml" "${logs[@]}" --since 1796123828 --replications 3 \
    --out "$tmp/validation" --quiet >/dev/null
)

echo "== [$SECONDS s] rendered"
chrome() { # ARGS...: headless, no network, a fresh profile, at most a minute
  timeout 60 "$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --hide-scrollbars --user-data-dir="$tmp/profile" "$@" 2>/dev/null
}

status=0
for page in reference/report.html retry-storm/report.html sweep/report.html compare/compare.html \
  capacity/capacity.html validation/validation.html; do
  name=${page%%/*}
  checked="$tmp/$name.checked.html"
  # The report itself has no script; the copy gets the checker before </body>.
  python3 - "$tmp/$page" "$checked" tests/browser/check.js <<'PY'
import sys
page, out, js = sys.argv[1:4]
html = open(page, encoding="utf-8").read()
assert "</body>" in html, "no </body> in " + page
open(out, "w", encoding="utf-8").write(html.replace("</body>", "<script>" + open(js).read() + "</script></body>", 1))
PY
  start=$SECONDS
  if chrome --window-size=1400,900 --virtual-time-budget=5000 --dump-dom "file://$checked" |
    python3 tests/browser/verdict.py; then
    echo "ok   $page ($((SECONDS - start)) s)"
  else
    echo "FAIL $page" >&2
    status=1
  fi
  chrome --window-size=1400,5000 --screenshot="$art/$name.png" "file://$tmp/$page" >/dev/null || true
done
echo "screenshots: $art"
exit $status
