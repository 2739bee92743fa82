#!/usr/bin/env bash
# Regenerates docs/report.png, the picture of the marketer's report in the README: the
# `report` example writes the HTML page from generated data, headless Chromium photographs it.
#
#   scripts/screenshot-report.sh            # 10,000 generated people
#   PEOPLE=2000 scripts/screenshot-report.sh
#
# Needs Chromium (Debian's `chromium` package); as root the script installs it when missing.
set -euo pipefail
cd "$(dirname "$0")/.."

target="${CARGO_TARGET_DIR:-target}"
people="${PEOPLE:-10000}"
page="$target/report.html"

cargo run --release --features report --example report -- --people "$people" --out "$page"

if ! command -v chromium >/dev/null 2>&1; then
    if [ "$(id -u)" -eq 0 ]; then
        apt-get update -qq
        apt-get install -y -qq chromium
    else
        echo "chromium is missing: sudo apt-get install chromium" >&2
        exit 1
    fi
fi

mkdir -p docs
log="$target/chromium.log"
# The page needs no network and runs no script; the window is as wide as a laptop screen and
# tall enough for the four charts. Chromium's complaints about D-Bus go to the log.
if ! chromium --headless --no-sandbox --disable-gpu --hide-scrollbars \
    --window-size=1280,2400 --screenshot="$PWD/docs/report.png" \
    "file://$(realpath "$page")" >"$log" 2>&1; then
    cat "$log" >&2
    exit 1
fi
echo "docs/report.png from $page"
