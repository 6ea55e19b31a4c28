#!/bin/bash
# Benchmark: sampling cost per container per tick at 100 and 1000 real container cgroups (io_uring batch, pread, open/read/close).
. "$(dirname "$0")/lib.sh"
need "$BENCH_SAMPLER" "$WORKLOAD"

for n in 100 1000; do
	kube_bulk_tree bench$n $n || fail "cannot build $n container cgroups"
	# A few live containers, so some files change between ticks as on a real node.
	for i in 0 1 2; do
		cg_spawn "${BULK_CTRS[$i]#"$CG/"}" "$WORKLOAD" idle >/dev/null
	done
	cg_spawn "${BULK_CTRS[3]#"$CG/"}" "$WORKLOAD" burn >/dev/null
	echo "bench: $n container cgroups under $CG/bench$n"
	# Under TCG a tick of 1000 containers costs seconds: fewer ticks there, same medians.
	if ((n >= 1000)); then args=(--ticks 3 --rounds 3); else args=(--ticks 10 --rounds 5); fi
	# shellcheck disable=SC2086
	"$BENCH_SAMPLER" --root "$CG/bench$n" "${args[@]}" ${SNUG_BENCH_SAMPLER_ARGS:-} || fail "bench-sampler failed at $n"
	cg_destroy bench$n || echo "warning: could not remove bench$n"
done
