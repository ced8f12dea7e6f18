"""Reads the DOM Chromium dumped (stdin), prints what check.js found, and
exits 1 on any problem or when the checker did not run."""
import html
import json
import re
import sys

m = re.search(r'data-check="([^"]*)"', sys.stdin.read())
if not m:
    print("  the checker did not run")
    sys.exit(1)
r = json.loads(html.unescape(m.group(1)))
print(
    f"  {len(r['problems'])} problems, {r['images']} images/SVGs, {r['texts']} texts, "
    f"smallest text {r['smallest']} px, page {r['width']} px wide"
)
for p in r["problems"]:
    print("  -", p)
sys.exit(1 if r["problems"] or r["images"] == 0 else 0)
