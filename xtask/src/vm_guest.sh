#!/bin/busybox sh
# /init of the `cargo xtask vm-test` guest: fragment memory on purpose, provoke real
# allocation failures under `fragtrace record`, and print every result between markers on the
# serial console for the host to check. The host decides pass or fail.
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mkdir -p /tmp && mount -t tmpfs tmpfs /tmp
mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
mkdir -p /sys/fs/cgroup && mount -t cgroup2 cgroup2 /sys/fs/cgroup 2>/dev/null
# Pinned (mlocked) pages must stay where they are: compaction may not move them.
echo 0 > /proc/sys/vm/compact_unevictable_allowed
echo always > /sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null
# Room for the keys that use up the last blocks of order >= 4 (64 KiB each).
echo 200000000 > /proc/sys/kernel/keys/root_maxbytes
echo 100000 > /proc/sys/kernel/keys/root_maxkeys

block() { name=$1; shift; echo "==BEGIN $name=="; "$@" 2>&1; echo "==END $name=="; }

echo "==KERNEL $(uname -r)=="
block btf ls /sys/kernel/btf/vmlinux
MODES=$(cat /modes)
for mode in $MODES; do
  rm -f /tmp/rec.err /tmp/pinned /tmp/keys.out /tmp/pin.out
  /fragtrace record --alloc-probe always --probe-mode "$mode" -o "/tmp/$mode.ftr" --zones-interval 1s 2>/tmp/rec.err &
  rec=$!
  i=0
  until grep -q "recording to" /tmp/rec.err 2>/dev/null; do
    sleep 0.2; i=$((i + 1))
    if [ $i -gt 600 ] || ! kill -0 $rec 2>/dev/null; then break; fi
  done
  echo -1000 > /proc/$rec/oom_score_adj 2>/dev/null
  /vm-fragment pin 8 > /tmp/pin.out 2>&1 &
  pin=$!
  i=0
  until [ -e /tmp/pinned ]; do
    sleep 0.2; i=$((i + 1))
    if [ $i -gt 600 ] || ! kill -0 $pin 2>/dev/null; then break; fi
  done
  block "pin-$mode" cat /tmp/pin.out
  block "buddyinfo-$mode" cat /proc/buddyinfo
  /vm-fragment keyring > /tmp/keys.out 2>&1 &
  keys=$!
  i=0
  until grep -q add_key_errno /tmp/keys.out 2>/dev/null; do
    sleep 0.2; i=$((i + 1))
    if [ $i -gt 600 ] || ! kill -0 $keys 2>/dev/null; then break; fi
  done
  block "keyring-$mode" cat /tmp/keys.out
  block "thp-$mode" /vm-fragment thp 64
  echo 16 > /proc/sys/vm/nr_hugepages
  block "hugetlb-$mode" cat /proc/sys/vm/nr_hugepages
  echo 0 > /proc/sys/vm/nr_hugepages
  block "doctor-$mode" /fragtrace doctor --json --duration 1s
  kill -INT $rec
  wait $rec
  block "record-$mode" cat /tmp/rec.err
  kill $pin $keys
  wait $pin $keys 2>/dev/null
  block "report-$mode" /fragtrace report --json "/tmp/$mode.ftr"
done
dmesg > /tmp/kernel.log
block dmesg /fragtrace dmesg --json /tmp/kernel.log
echo "==DONE=="
poweroff -f
