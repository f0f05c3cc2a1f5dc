#!/usr/bin/env bash
# Regenerates every module in generated/ from examples/.  Run from the repository root
# (PYTHON names the interpreter that has s2s installed; default python3):
#   bash generated/regenerate.sh            (writes the modules)
#   bash generated/regenerate.sh --check    (exit 1 if any module is stale; used by the tests)
set -euo pipefail
status=0
# Each line: PATH.py:FUNCTION WRT [MODE [OPTION...]] (MODE: grad, the default, jvp,
# vjp or hvp; OPTION: more options of s2s generate, such as --has-aux).
# A line may read a module written by an earlier line (a gradient of a gradient).
while read -r target wrt mode options; do
  [[ -z "$target" || "$target" == \#* ]] && continue
  # shellcheck disable=SC2086  # the options are words
  "${PYTHON:-python3}" -m s2s generate "$target" --wrt "$wrt" --mode "${mode:-grad}" \
    ${options:-} -o generated "$@" || status=1
done <<'TARGETS'
examples/graph.py:J a,b,c
examples/chain_rule.py:f x,y,z
examples/neuron.py:neuron w0,w1,w2,x0,x1
examples/logistic.py:sigmoid_loss w1,w2,b
examples/logistic.py:batch_loss w,b
examples/mlp.py:J W1,W2
examples/rnn.py:loss Wx,Wh,b
examples/rnn.py:loss_all_states Wx,Wh,b
examples/newton.py:loss a
examples/newton_scalar.py:energy x
examples/newton_scalar.py:energy x hvp
generated/newton_scalar_energy.py:energy_grad x
examples/newton_logistic.py:loss w
examples/newton_logistic.py:loss w hvp
examples/mlp_dict.py:loss params grad --has-aux
examples/ode.py:loss k,c grad --checkpoint 20
TARGETS
exit $status
