#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# nonroot-granted.sh BUILD_DIR: issue 11 section 3, way a (doc/nonroot.md).
# Root runs zdk-devbind --grant=1000 once; then nvme-perf --verify and
# pktgen -> l2fwd run as uid 1000 with no capability in any set, under
# ZDK_IOMMU (iommufd or type1). Checked on the way:
# - before the grant, the refusal names the file, the missing right and the
#   grant command (the hugetlbfs directory first, then the VFIO node);
# - the grant makes the nodes and <mount>/zdk-1000 the user's and says the
#   memlock figure; zdk-doctor --user=1000 then finds granted access ready;
# - with the default 8 MiB memlock the refusal gives the figure, 131072 KiB
#   for the 128 MiB arena, and the fix; 4 KiB less is refused too, and with
#   exactly that figure the run passes (the arithmetic is exact);
# - the accounting: iommufd adds up the pins of the user's processes (pktgen
#   beside l2fwd is refused at one arena's worth, with the per-user note,
#   and runs at two); type1 counts each process alone (one arena's worth
#   each is enough).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/nonroot-lib.sh"

IOMMU=${ZDK_IOMMU:-iommufd}
ARENA_KIB=131072 # the default arena: 128 MiB on the node of -l 0 = 32768 pages of 4 KiB
[ -n "$NVME_BDF" ] || skip "no QEMU NVMe controller in this guest"
read -r PG0 FW0 FW1 PG1 _ <<<"$IGB_BDFS" || true
[ -n "${PG1:-}" ] || skip "need 4 igb ports, found: $IGB_BDFS"
[ -n "$(ls /sys/class/iommu)" ] || skip "no IOMMU: VFIO's no-IOMMU mode needs CAP_SYS_RAWIO"
[ "$IOMMU" != iommufd ] || [ -e /dev/iommu ] || skip "no /dev/iommu in this guest"
DEVS=("$NVME_BDF" "$PG0" "$FW0" "$FW1" "$PG1")
for b in "${DEVS[@]}"; do vfio_bind "$b"; done
TMP=$(mktemp -d)
L2PID=
trap '[ -z "$L2PID" ] || kill -INT $L2PID 2>/dev/null; rm -rf "$TMP"' EXIT
EAL=(-l 0 --iommu="$IOMMU")
PERF_ARGS=(-- -q 16 -o 4096 -w randrw -M 70 -t 3 --verify)

# 1. Nothing granted: the first node zdk opens is refused, named with the
#    right that is missing and the grant (with no device, --iommu=auto opens
#    /dev/iommu at init; zdk falls back to a hugetlb memfd when the mount is
#    not writable, so the mount alone stops nothing), then the VFIO nodes.
rc=0
out=$(as_user $ARENA_KIB "$PERF" -l 0 --iommu=auto "${PERF_ARGS[@]}" 2>&1) || rc=$?
[ $rc -ne 0 ] || fail "uid $NR_UID ran nvme-perf before any grant"
expect "$out" ": Permission denied (uid $NR_UID ($NR_NAME) has no read-write access to /dev/"
expect "$out" "as root run zdk-devbind --grant=$NR_NAME BDF..."
rc=0
out=$(as_user $ARENA_KIB "$PERF" "${EAL[@]}" --no-huge -m 8 -a "$NVME_BDF" "${PERF_ARGS[@]}" 2>&1) || rc=$?
[ $rc -ne 0 ] || fail "uid $NR_UID opened $NVME_BDF before any grant"
expect "$out" ": Permission denied (uid $NR_UID ($NR_NAME) has no read-write access to /dev/"
expect "$out" ": as root run zdk-devbind --grant=$NR_NAME "
ok "before the grant: $(grep -o 'cannot open [^:]*' <<<"$out" | head -1) refused, naming the right and the grant"

# 2. The grant, once, as root.
out=$("$DEVBIND" --grant="$NR_UID" "${DEVS[@]}") || fail "zdk-devbind --grant failed:"$'\n'"$out"
echo "$out"
for b in "${DEVS[@]}"; do
	g=$(vfio_group "$b") || fail "$b has no VFIO group node"
	c=$(vfio_cdev "$b") || fail "$b has no VFIO cdev"
	[ "$(stat -c %u "$g")" = "$NR_UID" ] || fail "$g is not uid $NR_UID's after the grant"
	[ "$(stat -c %u "$c")" = "$NR_UID" ] || fail "$c is not uid $NR_UID's after the grant"
done
[ "$(stat -c %u:%a /dev/iommu)" = "$NR_UID:660" ] || fail "/dev/iommu: $(stat -c %u:%a /dev/iommu)"
[ "$(stat -c %u:%a "/dev/hugepages/zdk-$NR_UID")" = "$NR_UID:700" ] || fail "no /dev/hugepages/zdk-$NR_UID of theirs"
expect "$out" "memlock: $NR_NAME needs RLIMIT_MEMLOCK >= $ARENA_KIB KiB: 1 process x 128 MiB of arena = 32768 pinned pages of 4 KiB"
ok "granted: the VFIO nodes of ${DEVS[*]}, /dev/iommu and /dev/hugepages/zdk-$NR_UID are uid $NR_UID's"

# 3. zdk-doctor --user agrees (limits.d read from a copy: the guest's /etc is read-only).
mkdir -p "$TMP/etc/security/limits.d"
echo "$NR_UID:$NR_UID - memlock $((2 * ARENA_KIB))" >"$TMP/etc/security/limits.d/zdk.conf"
out=$("$DOCTOR" --user="$NR_UID" --procs 2 --etc-root "$TMP/etc" -a "$NVME_BDF" -a "$FW0") || true
expect "$out" "[ OK ] user $NR_NAME, granted access: $NVME_BDF: $NR_NAME may read and write"
expect "$out" "[ OK ] user $NR_NAME, granted access: memlock: $((2 * ARENA_KIB)) KiB ($TMP/etc/security/limits.d/zdk.conf:1) covers the $((2 * ARENA_KIB)) KiB needed"
expect "$out" "[ OK ] user $NR_NAME can run zdk without root by granted access"
ok "zdk-doctor --user=$NR_UID: granted access ready"

# 4. RLIMIT_MEMLOCK at the default 8 MiB: the figure and the fix.
rc=0
out=$(as_user 8192 "$PERF" "${EAL[@]}" -a "$NVME_BDF" "${PERF_ARGS[@]}" 2>&1) || rc=$?
[ $rc -ne 0 ] || fail "nvme-perf ran with 8 MiB of RLIMIT_MEMLOCK"
expect "$out" "pinning the arena (128 MiB) for DMA needs RLIMIT_MEMLOCK >= $ARENA_KIB KiB, yours is 8192 KiB: as root, prlimit --pid "
expect "$out" " --memlock=$((ARENA_KIB * 1024)):$((ARENA_KIB * 1024)) raises it"
expect "$out" " - memlock $ARENA_KIB' in /etc/security/limits.d/zdk.conf"
[ "$IOMMU" != iommufd ] || expect "$out" "iommufd charges the pins of every process of uid $NR_UID together"
# One page short of the figure is short.
rc=0
out=$(as_user $((ARENA_KIB - 4)) "$PERF" "${EAL[@]}" -a "$NVME_BDF" "${PERF_ARGS[@]}" 2>&1) || rc=$?
[ $rc -ne 0 ] || fail "nvme-perf ran with $((ARENA_KIB - 4)) KiB of RLIMIT_MEMLOCK"
expect "$out" "needs RLIMIT_MEMLOCK >= $ARENA_KIB KiB, yours is $((ARENA_KIB - 4)) KiB: "
ok "$IOMMU: memlock too low is refused before pinning (8192 KiB, and one page short), naming $ARENA_KIB KiB and how to set it"

# 5. nvme-perf --verify as uid 1000, no capability, exactly the figure given.
perf_run out as_user $ARENA_KIB "$PERF" "${EAL[@]}" -a "$NVME_BDF" "${PERF_ARGS[@]}"
expect "$out" "IOMMU backend: $IOMMU"
ok "$IOMMU: nvme-perf --verify as uid $NR_UID with no capability, RLIMIT_MEMLOCK $ARENA_KIB KiB: $(perf_ok "$out") reads verified"

# 6. pktgen -> l2fwd as uid 1000.
l2fwd_start "$TMP/l2fwd" as_user $ARENA_KIB "$L2FWD" "${EAL[@]}" --file-prefix l2fwd -a "$FW0" -a "$FW1" -- "${L2FWD_ARGS[@]}"
no_caps "$L2PID"
PG=("$PKTGEN" "${EAL[@]}" --file-prefix pktgen -a "$PG0" -a "$PG1" -- "${PKTGEN_ARGS[@]}")
if [ "$IOMMU" = iommufd ]; then
	# l2fwd's pins count against pktgen's limit: one arena's worth is refused.
	rc=0
	out=$(as_user $ARENA_KIB "${PG[@]}" 2>&1) || rc=$?
	[ $rc -ne 0 ] || fail "iommufd let uid $NR_UID pin two arenas under one arena's RLIMIT_MEMLOCK"
	expect "$out" "the kernel refused to pin the arena (128 MiB): RLIMIT_MEMLOCK ($ARENA_KIB KiB) is used up by the processes of this user"
	expect "$out" " - memlock $((2 * ARENA_KIB))' in /etc/security/limits.d/zdk.conf"
	ok "iommufd: pktgen beside l2fwd is refused at $ARENA_KIB KiB, the message says $((2 * ARENA_KIB))"
	PG_KIB=$((2 * ARENA_KIB))
else
	PG_KIB=$ARENA_KIB # type1: each process alone
fi
out=$(as_user $PG_KIB "${PG[@]}" 2>&1) || true
echo "$out" | tail -3
l2fwd_check "$TMP/l2fwd" "$out" "$NR_COUNT"
L2PID=
ok "$IOMMU: $NR_COUNT frames pktgen -> l2fwd as uid $NR_UID with no capability (pktgen's RLIMIT_MEMLOCK $PG_KIB KiB)"
