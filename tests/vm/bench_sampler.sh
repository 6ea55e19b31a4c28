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
	"$BENCH_SAMPLER" --root "$CG/bench$n" ${SNUG_BENCH_SAMPLER_ARGS:-} || fail "bench-sampler failed at $n"
	cg_destroy bench$n || echo "warning: could not remove bench$n"
done
