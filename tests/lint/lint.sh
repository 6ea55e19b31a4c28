#!/usr/bin/env bash
# The code-shape checks of `make check` (check-lint): no two product files calling each other, no
# product file or function over its size, docs/metrics.md matching what the code exports. Writes
# "lint passed failed 0" to $SNUG_RESULTS when set.
set -u
obj=${1:?usage: lint.sh OBJ_DIR}
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/../.." || exit 1
pass=0 fail=0
for check in "call_cycles.py $obj" "code_shape.py" "docs_metrics.py"; do
	# shellcheck disable=SC2086
	if python3 "$here"/$check; then
		pass=$((pass + 1))
	else
		echo "lint: FAIL ${check%% *}"
		fail=$((fail + 1))
	fi
done
[[ -n ${SNUG_RESULTS:-} ]] && echo "lint $pass $fail 0" >"$SNUG_RESULTS"
((fail == 0))
