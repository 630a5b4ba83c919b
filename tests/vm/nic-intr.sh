#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# nic-intr.sh BUILD_DIR: issue 14 on the igb ports, through the real VFIO and
# MSI-X. pktgen on igb 1 and 4, l2fwd on igb 2 and 3 (cabled 1<->2, 3<->4).
#  1. l2fwd --interrupt, 200,000 frames at 25k pps: none lost, duplicated or
#     corrupted, MACs rewritten (as nic-l2fwd), and l2fwd slept between them.
#  2. 1k pps for 6 s, polling then --interrupt: all frames arrive; the
#     interrupt-mode l2fwd uses far less CPU, and igb's MSI-X vectors fire
#     (/proc/interrupts). Latency percentiles from pktgen are printed.
#  3. Two lcores, two rx queues per port spread by RSS (pktgen --flows 64),
#     polling and --interrupt: both lcores forward, nothing corrupted,
#     duplicated or (beyond 1%) lost.
# The IOMMU backend is ZDK_IOMMU (default iommufd). The CPU bounds asserted
# are loose (TCG, a shared host): buildtools/bench-l2fwd gives the figures.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

IOMMU=${ZDK_IOMMU:-iommufd}
read -r PG0 FW0 FW1 PG1 _ <<<"$IGB_BDFS" || true
[ -n "${PG1:-}" ] || skip "need 4 igb ports, found: $IGB_BDFS"
[ "$IOMMU" != iommufd ] || [ -e /dev/iommu ] || skip "no /dev/iommu in this guest"
for b in $PG0 $FW0 $FW1 $PG1; do vfio_bind "$b"; done

L2FWD=$ZDK_BUILD/examples/l2fwd/zdk-l2fwd
PKTGEN=$ZDK_BUILD/examples/pktgen/zdk-pktgen
LOG=$(mktemp -d)
L2PID=
trap '[ -z "$L2PID" ] || kill -INT $L2PID 2>/dev/null || true; rm -rf "$LOG"' EXIT

msix_count() { # BDF: interrupts so far on the MSI-X vectors VFIO holds for it
	awk -v pat="vfio-msix\\[[0-9]+\\]\\($1\\)" 'NR == 1 { n = NF }
		$0 ~ pat { for (i = 2; i <= n + 1; i++) s += $i } END { print s + 0 }' /proc/interrupts
}

l2fwd_start() { # NAME LCORES L2FWD-ARGS...
	local name=$1 lcores=$2
	shift 2
	"$L2FWD" -l "$lcores" --iommu "$IOMMU" --file-prefix l2fwd -a "$FW0" -a "$FW1" -- \
		-p 0x3 -T 2 "$@" >"$LOG/$name" 2>&1 &
	L2PID=$!
	wait_for 60 grep -q "polls port 1" "$LOG/$name" || { cat "$LOG/$name"; fail "$name: l2fwd did not start"; }
}

l2fwd_stop() { # NAME
	kill -INT $L2PID
	wait $L2PID || { cat "$LOG/$1"; fail "$1: l2fwd exited with $?"; }
	L2PID=
}

pktgen() { # NAME COUNT RATE [ARGS...]
	local name=$1 count=$2 rate=$3
	shift 3
	"$PKTGEN" -l 0 --iommu "$IOMMU" --file-prefix pktgen -a "$PG0" -a "$PG1" -- \
		--tx-port 0 --rx-port 1 -s 64 -r "$rate" -n "$count" --drain-ms 2000 \
		--expect-src 52:54:00:5a:01:01 --expect-dst 02:00:00:00:00:01 "$@" >"$LOG/$name" 2>&1 || true
	grep -q RESULT "$LOG/$name" || { cat "$LOG/$name"; fail "$name: pktgen printed no result"; }
}

val() { sed -n "s/.* $2=\([0-9]*\).*/\1/p" <<<"$(grep RESULT "$LOG/$1")"; }

# the CPU share of the 2-second periods while frames flowed (the median)
l2fwd_cpu() {
	awk '/rx [0-9]+ pps/ { split($0, a, "rx "); if (a[3] + 0 > pps) pps = a[3] + 0 }
		/l2fwd: cpu .* of a core over/ { if (pps > 0) print $3 + 0; pps = 0 }' "$LOG/$1" |
		sort -g | awk '{ v[NR] = $1 } END { print NR ? v[int((NR + 1) / 2)] : -1 }'
}

# 1. Interrupt mode, lossless at 25k pps (l2fwd on pktgen's vCPU, as nic-l2fwd).
l2fwd_start intr25k 0 -q 2 --interrupt
pktgen pg25k 200000 25000
l2fwd_stop intr25k
for k in rx dup corrupt badmac; do echo -n "$k=$(val pg25k $k) "; done
echo
[ "$(val pg25k rx)" = 200000 ] || fail "interrupt mode at 25k pps: received $(val pg25k rx) of 200000"
[ "$(val pg25k dup)$(val pg25k corrupt)$(val pg25k badmac)" = 000 ] || fail "dup/corrupt/badmac: $(grep RESULT "$LOG/pg25k")"
grep -q "total rx 200000 tx 200000 dropped 0" "$LOG/intr25k" || fail "l2fwd totals: $(grep total "$LOG/intr25k" | tail -1)"
sleeps=$(sed -n 's/^l2fwd: lcore 0 rx .* sleeps \([0-9]*\)$/\1/p' "$LOG/intr25k")
[ "${sleeps:-0}" -gt 0 ] || fail "interrupt mode: l2fwd never slept"
ok "interrupt mode: 200000 frames at 25k pps, none lost, $sleeps sleeps"

# 2. 1k pps: polling, then interrupt mode (l2fwd alone on vCPU 1).
for mode in poll intr; do
	extra=()
	[ $mode = intr ] && extra=(--interrupt)
	l2fwd_start k1-$mode 1 -q 2 "${extra[@]}"
	pktgen pg1k-$mode 6000 1000 &
	pg=$!
	sleep 4
	i0=$(msix_count "$FW0")
	sleep 1
	i1=$(msix_count "$FW0")
	wait $pg
	l2fwd_stop k1-$mode
	[ "$(val pg1k-$mode rx)" = 6000 ] || fail "1k pps $mode: received $(val pg1k-$mode rx) of 6000"
	cpu=$(l2fwd_cpu k1-$mode)
	echo "1k pps $mode: cpu $cpu% of a core, MSI-X on $FW0 in 1 s: $((i1 - i0)); $(grep latency "$LOG/pg1k-$mode")"
	eval "cpu_$mode=\$cpu irq_$mode=\$((i1 - i0))"
done
awk -v p="$cpu_poll" -v i="$cpu_intr" 'BEGIN { exit !(p > 70 && i >= 0 && i < 50 && i < p / 2) }' ||
	fail "1k pps: cpu polling $cpu_poll%, interrupt $cpu_intr%: interrupt mode should use far less"
[ "$irq_intr" -gt 100 ] || fail "1k pps, interrupt mode: $irq_intr MSI-X interrupts of $FW0 in 1 s"
[ "$irq_poll" = 0 ] || fail "polling l2fwd took $irq_poll interrupts"
ok "1k pps: l2fwd polling uses $cpu_poll% of a core, interrupt mode $cpu_intr% ($irq_intr MSI-X/s)"

# 3. Two lcores, RSS over two rx queues per port.
for mode in poll intr; do
	extra=()
	[ $mode = intr ] && extra=(--interrupt)
	l2fwd_start rss-$mode 0,1 -q 2 --rxq 2 "${extra[@]}"
	grep -q "lcore 1 polls port 0 queue 1" "$LOG/rss-$mode" || { cat "$LOG/rss-$mode"; fail "rss-$mode: queue 1 is not on lcore 1"; }
	pktgen pgrss-$mode 100000 20000 --flows 64
	l2fwd_stop rss-$mode
	rx=$(val pgrss-$mode rx)
	[ "$(val pgrss-$mode dup)$(val pgrss-$mode corrupt)$(val pgrss-$mode badmac)" = 000 ] ||
		fail "rss-$mode: $(grep RESULT "$LOG/pgrss-$mode")"
	[ "$rx" -ge 99000 ] || fail "rss-$mode: received $rx of 100000"
	r0=$(sed -n 's/^l2fwd: lcore 0 rx \([0-9]*\) .*/\1/p' "$LOG/rss-$mode")
	r1=$(sed -n 's/^l2fwd: lcore 1 rx \([0-9]*\) .*/\1/p' "$LOG/rss-$mode")
	[ "${r0:-0}" -gt 10000 ] && [ "${r1:-0}" -gt 10000 ] ||
		fail "rss-$mode: RSS did not spread: lcore 0 rx ${r0:-?}, lcore 1 rx ${r1:-?}"
	ok "two lcores, RSS ($mode): $rx of 100000 frames, lcore 0 forwarded $r0, lcore 1 $r1"
done
