#!/usr/bin/env bash
# Redraws the pictures in docs/pictures/ (shown in README.md) from examples/.  Run from
# the repository root.  PYTHON names the interpreter that has s2s installed (default
# python3); the SVGs need Graphviz's dot (apt-get install graphviz).
#   bash docs/pictures/regenerate.sh            (writes NAME.dot and NAME.svg)
#   bash docs/pictures/regenerate.sh --check    (exit 1 if a .dot is stale; used by the tests)
set -euo pipefail
check=false
if [[ "${1:-}" == "--check" ]]; then check=true; fi
status=0
while read -r name target at; do
  [[ -z "$name" || "$name" == \#* ]] && continue
  dot_file="docs/pictures/$name.dot"
  if $check; then
    if ! "${PYTHON:-python3}" -m s2s graph "$target" --at "$at" | cmp -s - "$dot_file"; then
      echo "stale: $dot_file (run: bash docs/pictures/regenerate.sh)" >&2
      status=1
    fi
  else
    "${PYTHON:-python3}" -m s2s graph "$target" --at "$at" -o "$dot_file"
    "${PYTHON:-python3}" -m s2s graph "$target" --at "$at" -o "docs/pictures/$name.svg"
  fi
done <<'PICTURES'
graph_J examples/graph.py:J a=5,b=3,c=2
neuron examples/neuron.py:neuron w0=2,w1=-3,w2=-3,x0=-1,x1=-2
newton_loss examples/newton.py:loss a=8
PICTURES
exit $status
