#!/usr/bin/env bash
# Boot a kernel and initramfs under QEMU (TCG), as arch/ARCH.conf says.
# usage: boot.sh ARCH KERNEL INITRD MODE LOGDIR TIMEOUT_SECONDS
# MODE check/run: the console goes to LOGDIR/console.log and the test port
# to LOGDIR/tests.log; exits 124 when the guest outlives TIMEOUT.
# MODE shell: the console is this terminal.
# Environment: BOOT_APPEND, extra kernel parameters (the benchmark passes
# its clock); BOOT_CPU, the guest CPU: check (the arch file's
# ARCH_CPU_CHECK, the default) or bench (ARCH_CPU_BENCH, the one for
# measurements, the default of MODE run).
set -euo pipefail
arch=$1 kernel=$2 initrd=$3 mode=$4 logs=$5 limit=$6
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/scripts/kernel.sh"
arch_load "$arch"
mkdir -p "$logs"

profile=${BOOT_CPU:-check}
[ "$mode" = run ] && profile=${BOOT_CPU:-bench}
if [[ ! "$profile" =~ ^(check|bench)$ ]]; then
	echo "boot: BOOT_CPU is check or bench, not $profile" >&2
	exit 1
fi
cpu=ARCH_CPU_${profile^^}
qemu=("$ARCH_QEMU" $ARCH_QEMU_ARGS -cpu "${!cpu}" -kernel "$kernel"
      -initrd "$initrd" -display none -no-reboot)
append="console=$ARCH_CONSOLE panic=-1 crossmem_mode=$mode ${BOOT_APPEND:-}"

if [ "$mode" = shell ]; then
	exec "${qemu[@]}" -serial mon:stdio -append "$append"
fi
rm -f "$logs/console.log" "$logs/tests.log"
set +e
timeout --foreground -k 10 "$limit" "${qemu[@]}" \
	-serial "file:$logs/console.log" -serial "file:$logs/tests.log" \
	-append "$append" </dev/null
rc=$?
set -e
exit $rc
