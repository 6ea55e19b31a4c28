#!/usr/bin/env bash
# Sums the per-tier result lines ("tier passed failed skipped") into the closing line of `make check`.
set -u
dir=${1:-build/results}
p=0 f=0 s=0
for r in "$dir"/*; do
	[[ -f $r ]] || continue
	read -r tier tp tf ts < "$r" || continue
	printf '  %-10s %4d passed %4d failed %4d skipped\n' "$tier" "$tp" "$tf" "$ts"
	p=$((p + tp)) f=$((f + tf)) s=$((s + ts))
done
echo "$p passed, $f failed, $s skipped"
((f == 0))
