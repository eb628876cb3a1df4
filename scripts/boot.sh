#!/usr/bin/env bash
# Boot a kernel and initramfs under QEMU (TCG).
# usage: boot.sh ARCH KERNEL INITRD MODE LOGDIR TIMEOUT_SECONDS
# MODE check/run: the console goes to LOGDIR/console.log and the test port
# to LOGDIR/tests.log; exits 124 when the guest outlives TIMEOUT.
# MODE shell: the console is this terminal.
set -euo pipefail
arch=$1 kernel=$2 initrd=$3 mode=$4 logs=$5 limit=$6
mkdir -p "$logs"

# BOOT_APPEND: extra kernel parameters (the benchmark passes its clock).
append="panic=-1 crossmem_mode=$mode ${BOOT_APPEND:-}"
case "$arch" in
x86_64)
	# Two sockets, not two cores: without ACPI tables Linux finds only the
	# boot CPU of a multi-core socket.
	qemu=(qemu-system-x86_64 -M pc -cpu max -smp 2,sockets=2,cores=1,threads=1
	      -m 2G -kernel "$kernel" -initrd "$initrd" -display none -no-reboot)
	append="console=ttyS0 $append"
	;;
ppc64)
	# pseries makes one spapr-vty (hvc0, hvc1) per -serial. POWER9 for the
	# radix MMU: under TCG it gives THP and hugetlb with 64 KiB pages, and
	# KASAN, none of which a POWER8 (hash MMU) guest has. The spectre
	# mitigation caps are ones TCG cannot provide: turn them off instead of
	# having qemu warn about each on every boot.
	pseries=pseries,cap-cfpc=broken,cap-sbbc=broken,cap-ibs=broken,cap-ccf-assist=off
	qemu=(qemu-system-ppc64 -M "$pseries" -cpu power9 -smp 2 -m 2G
	      -kernel "$kernel" -initrd "$initrd" -display none -no-reboot)
	append="console=hvc0 $append"
	;;
*) echo "boot: unknown ARCH $arch" >&2; exit 1 ;;
esac

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
