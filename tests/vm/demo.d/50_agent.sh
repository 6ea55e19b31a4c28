# Demo piece: `snug-agent run` manages three opted-in pods of a fake API server inside the VM; the screen shows its /recommendations as a live table.
# shellcheck shell=bash
if command -v python3 >/dev/null && command -v openssl >/dev/null; then
	[[ -n ${SNUG_DEMO_SECONDS:-} ]] || DEMO_SECONDS=80
	demo_note ""
	demo_note "Then 'snug-agent run' manages three more pods of a fake API server (in this VM,"
	demo_note "on 127.0.0.1) that opted in with the annotation snug.io/mode:"
	demo_note "  web    in-place  burns CPU under cpu.max 200m -> throttled; snug raises the limit"
	demo_note "  cache  in-place  grows 8 MiB/s toward memory.max 64Mi; snug raises it before the OOM"
	demo_note "  batch  auto      idles on requests of 1 CPU / 512Mi; snug recommends less"
	demo_note "The table below is its /recommendations, refreshed every second."
	DEMO_VIEW=(python3 "$VMDIR/agent_node.py" demo $((DEMO_SECONDS - 25)))
fi
