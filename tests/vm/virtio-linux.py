#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""virtio-linux.py recv IFNAME COUNT | send IFNAME COUNT DSTMAC

The Linux side of virtio-linux.sh: an AF_PACKET socket on the kernel
virtio_net interface receives, or sends, COUNT frames in zdk-virtio-pair's
format (ethertype 0x88b5, magic, sequence number, payload keyed to it, sizes
60..1514 varying with the sequence number). recv prints "ready" once bound,
checks length and every payload byte, and exits 0 only when each of the COUNT
frames arrived once and intact. Frames out of order are counted but allowed:
when the kernel's receive ring runs dry, QEMU's hub queues frames in two
places and delivers a later one first (qemu_flush_or_purge_queued_packets
flushes the other hub ports before the receiver's own queue).
"""
import socket
import struct
import sys
import time

ETHERTYPE = 0x88B5
MAGIC = 0x7A646B21
HDR = 14
BASE = bytes((i * 13) & 0xFF for i in range(1514))


def frame_size(seq):
    return 60 + seq * 37 % (1514 - 60 + 1)


def payload(seq, n):
    """Bytes HDR+8..n-1 of frame seq: (seq + i * 13) & 0xff."""
    shift = bytes((b + seq) & 0xFF for b in range(256))
    return BASE[HDR + 8:n].translate(shift)


def recv(ifname, count):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETHERTYPE))
    s.setsockopt(socket.SOL_SOCKET, 33, 64 << 20)  # SO_RCVBUFFORCE
    s.bind((ifname, ETHERTYPE))
    print("ready", flush=True)
    s.settimeout(30)
    got = bad = reorder = dup = 0
    expect = 0
    seen = set()
    while got < count:
        try:
            f = s.recv(2048)
        except socket.timeout:
            break
        s.settimeout(5)
        magic, seq = struct.unpack_from("<II", f, HDR)
        if magic != MAGIC:
            continue
        if seq in seen:
            dup += 1
            continue
        seen.add(seq)
        got += 1
        if seq != expect:
            reorder += 1
        expect = seq + 1
        n = frame_size(seq)
        if len(f) != n or f[HDR + 8:] != payload(seq, n):
            bad += 1
    print(f"linux received {got} of {count}, duplicates {dup}, out of order {reorder}, "
          f"bad length or payload {bad}")
    return 0 if got == count and not bad and not dup else 1


def send(ifname, count, dst):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((ifname, 0))
    src = s.getsockname()[4]
    dst = bytes(int(x, 16) for x in dst.split(":"))
    for seq in range(count):
        n = frame_size(seq)
        f = dst + src + struct.pack("!H", ETHERTYPE) + struct.pack("<II", MAGIC, seq)
        f += payload(seq, n)
        while True:
            try:
                s.send(f)
                break
            except OSError:  # ENOBUFS: the device queue is full
                time.sleep(0.001)
    print(f"linux sent {count}")
    return 0


def main():
    if len(sys.argv) >= 4 and sys.argv[1] == "recv":
        return recv(sys.argv[2], int(sys.argv[3]))
    if len(sys.argv) >= 5 and sys.argv[1] == "send":
        return send(sys.argv[2], int(sys.argv[3]), sys.argv[4])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
