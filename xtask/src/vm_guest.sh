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

# How `record` is started for a mode: tp-btf and classic keep mm_page_alloc attached; fexit
# and auto let the loader choose (fexit programs where trampolines and BTF allow).
probe_args() {
  case $1 in
    fexit) echo "--alloc-probe fexit" ;;
    auto) echo "--alloc-probe auto" ;;
    on-pressure) echo "--alloc-probe on-pressure" ;;
    always) echo "--alloc-probe always" ;;
    *) echo "--alloc-probe always --probe-mode $1" ;;
  esac
}

# Waits (60 s at most) until FILE contains TEXT or process PID is gone.
wait_for() {
  i=0
  until grep -q "$2" "$1" 2>/dev/null; do
    sleep 0.2; i=$((i + 1))
    if [ $i -gt 300 ] || ! kill -0 "$3" 2>/dev/null; then return 1; fi
  done
}

# A fresh kubepods-shaped cgroup-v2 memory cgroup (memory enabled on every level) for one
# memcg charge failure; vm-fragment sets its limit just above its usage.
memcg_try() {
  dir=/sys/fs/cgroup
  for part in kubepods burstable "pod$1" "c$1"; do
    echo +memory > "$dir/cgroup.subtree_control" 2>/dev/null
    dir="$dir/$part"; mkdir -p "$dir"
  done
  # 32 MiB: the slot array is order 7, a 128-page charge, more than the per-CPU charge
  # stock (64 pages) can serve, so the limit is what decides.
  /vm-fragment memcg "$dir" 32
}
memcg_clean() { rmdir "/sys/fs/cgroup/kubepods/burstable/pod$1/c$1" "/sys/fs/cgroup/kubepods/burstable/pod$1" 2>/dev/null; }

# One isolated failure under a freshly started `record`: try_one LOAD MODE KIND T.
try_one() {
  id="$1-$2-$4"
  rm -f /tmp/m.ftr /tmp/m.err
  /fragtrace record $(probe_args "$2") -o /tmp/m.ftr 2>/tmp/m.err &
  rec=$!
  wait_for /tmp/m.err "recording to" $rec
  echo -1000 > /proc/$rec/oom_score_adj 2>/dev/null
  sleep 3
  if [ "$3" = memcg ]; then memcg_try "$id" > /tmp/trigger.out 2>&1; else /vm-fragment add-key-once > /tmp/trigger.out 2>&1; fi
  sleep 0.5
  kill -INT $rec; wait $rec
  memcg_clean "$id"
  block "trigger-$1-$2-$3-$4" cat /tmp/trigger.out
  block "try-$1-$2-$3-$4" /fragtrace report --json /tmp/m.ftr
}

# Every try of KIND, idle and with the guest's one CPU saturated by a busy loop.
tries_of() {
  for load in $(cat /loads); do
    spin=""
    if [ "$load" = busy ]; then sh -c 'while :; do :; done' & spin=$!; fi
    for mode in $(cat /modes); do
      t=0
      while [ $t -lt "$(cat /tries)" ]; do t=$((t + 1)); try_one "$load" "$mode" "$1" "$t"; done
    done
    [ -n "$spin" ] && kill $spin
  done
}

# `misses`: isolated failures, each under a freshly started `record` (the miss-rate bench).
# Memory-cgroup charge failures first, while high-order blocks still exist (so the page
# allocator succeeds and the charge is what fails); then the pinning that leaves no block of
# order >= 4, the keys that use up the rest, and one more add_key per try.
if [ "$(cat /scenario 2>/dev/null)" = misses ]; then
  echo "==KERNEL $(uname -r)=="
  tries_of memcg
  /vm-fragment pin 8 > /tmp/pin.out 2>&1 &
  until [ -e /tmp/pinned ]; do sleep 0.2; done
  /vm-fragment keyring > /tmp/keys.out 2>&1 &
  until grep -q add_key_errno /tmp/keys.out 2>/dev/null; do sleep 0.2; done
  block keyring cat /tmp/keys.out
  tries_of keyring
  echo "==DONE=="
  poweroff -f
fi

echo "==KERNEL $(uname -r)=="
block btf ls /sys/kernel/btf/vmlinux
MODES=$(cat /modes)
for mode in $MODES; do
  rm -f /tmp/rec.err /tmp/pinned /tmp/keys.out /tmp/pin.out
  /fragtrace record $(probe_args "$mode") -o "/tmp/$mode.ftr" --zones-interval 1s 2>/tmp/rec.err &
  rec=$!
  i=0
  until grep -q "recording to" /tmp/rec.err 2>/dev/null; do
    sleep 0.2; i=$((i + 1))
    if [ $i -gt 600 ] || ! kill -0 $rec 2>/dev/null; then break; fi
  done
  echo -1000 > /proc/$rec/oom_score_adj 2>/dev/null
  # The kernel's own trace of direct compaction runs, the truth for the stall check: a zone
  # whose compaction failed defers the next ones (mm/compaction.c defer_compaction), and the
  # modes share this boot, so a later mode may have none to record.
  T=/sys/kernel/tracing
  echo 0 > $T/tracing_on; echo > $T/trace
  echo 1 > $T/events/compaction/mm_compaction_begin/enable; echo 1 > $T/tracing_on
  # Before the pinning: the page allocator still has the block, the charge is what fails.
  block "memcg-$mode" memcg_try "$mode"
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
  block "direct-compactions-$mode" sh -c "grep mm_compaction_begin $T/trace | grep -vc kcompactd"
  kill -INT $rec
  wait $rec
  block "record-$mode" cat /tmp/rec.err
  kill $pin $keys
  wait $pin $keys 2>/dev/null
  block "report-$mode" /fragtrace report --json "/tmp/$mode.ftr"
  memcg_clean "$mode"
done
dmesg > /tmp/kernel.log
block dmesg /fragtrace dmesg --json /tmp/kernel.log
echo "==DONE=="
poweroff -f
