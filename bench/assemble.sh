#!/usr/bin/env bash
# Joins the parts in bench/results/ (one per capability, each written by its
# own benchmark script) into bench/RESULTS.md, in file-name order, so that
# rerunning one capability's benchmark refreshes its part and keeps the rest.
set -euo pipefail
cd "$(dirname "$0")"
{
  echo "# Benchmark results"
  echo
  echo "Each capability is measured beside its reference in the same run by its own script in bench/;"
  echo "each section says when it was run. The parts live in bench/results/ and this file is joined"
  echo "from them by bench/assemble.sh."
  for f in results/*.md; do
    echo
    cat "$f"
  done
} > RESULTS.md
echo "wrote bench/RESULTS.md"
