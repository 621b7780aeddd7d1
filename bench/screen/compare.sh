#!/usr/bin/env bash
# Compares modelgate-screen with detect-secrets on the same labelled corpus.
#
#   bench/screen/compare.sh [OUT_DIR]      (default: bench/screen/out)
#
# 1. generates the corpus and our evaluation (cargo example `corpus`);
# 2. installs detect-secrets 1.5.0 from PyPI into bench/screen/.venv (first run);
# 3. scores detect-secrets on the same samples, prints the side-by-side
#    Markdown table and writes it to OUT_DIR/compare.md.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="${1:-$here/out}"
mkdir -p "$out"

echo "==> corpus and modelgate-screen evaluation" >&2
(cd "$root" && cargo run --release --quiet -p modelgate-screen --example corpus -- "$out") > "$out/ours.txt"

venv="$here/.venv"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import detect_secrets' 2>/dev/null; then
    echo "==> installing detect-secrets 1.5.0 into $venv" >&2
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check 'detect-secrets==1.5.0'
fi

echo "==> detect-secrets on the same corpus" >&2
"$venv/bin/python" "$here/detect_secrets_eval.py" "$out/corpus.jsonl" "$out/report.json" "$out/compare.md"
