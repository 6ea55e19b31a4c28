#!/usr/bin/env bash
# One PNG per policy from the value benchmark's own time series (value.csv of tests/node/node_value.py): memory limit, request and usage over time for each workload, drawn by gnuplot (Debian's gnuplot-nox).
#
# Usage: tests/node/value_plot.sh VALUE.CSV OUTDIR   (writes OUTDIR/value-<policy>.png)
set -euo pipefail
csv=$1 outdir=$2
command -v gnuplot >/dev/null || { echo "value_plot: no gnuplot (make deps installs gnuplot-nox)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$outdir"
# One file per policy and workload: minutes, then MiB of limit, request, usage; CPU in millicores.
awk -F, -v d="$tmp" 'NR > 1 {
	f = d "/" $2 "." $3
	printf "%.3f %.2f %.2f %.2f %.0f %.0f\n", $1 / 60, $5 / 1048576, $4 / 1048576, $6 / 1048576, $7 * 1000, $8 * 1000 >> f
	seen[$3] = 1; pol[$2] = 1
}
END {
	for (w in seen) print w > (d "/workloads")
	for (p in pol) print p > (d "/policies")
}' "$csv"
mapfile -t workloads < <(sort "$tmp/workloads")
while read -r policy; do
	{
		echo "set terminal pngcairo size 1500,850 font 'sans,9'"
		echo "set output '$outdir/value-$policy.png'"
		echo "set multiplot layout 2,$(((${#workloads[@]} + 1) / 2)) title 'snug value benchmark: policy $policy (memory, MiB, against minutes; from value.csv)'"
		echo "set grid; set key top left; set xlabel 'min'; set ylabel 'MiB'; set yrange [0:*]"
		for w in "${workloads[@]}"; do
			f=$tmp/$policy.$w
			[[ -s $f ]] || continue
			echo "set title '$w'"
			echo "plot '$f' using 1:2 with steps lw 2 title 'limit', '' using 1:3 with steps lw 2 title 'request', '' using 1:4 with lines lw 1 title 'usage'"
		done
		echo "unset multiplot"
	} >"$tmp/plot.gp"
	gnuplot "$tmp/plot.gp"
	echo "value_plot: $outdir/value-$policy.png"
done <"$tmp/policies"
