# qemu-common.sh - sourced by tests/integration/qemu-*.test: find QEMU,
# boot the bare-metal image (metal/x86_64/capos-metal) with a time limit
# and decode its exit status.
#
# qemu_need: exit 77 (skipped) with the reason when qemu-system-x86_64 or
# the image is missing (tools/install-deps installs qemu-system-x86, so CI
# never skips).
# qemu_boot OUT APPEND [SECONDS]: boot under TCG (the emulator, so the
# result does not depend on /dev/kvm; CPU model $qemu_cpu, default max:
# everything TCG emulates, RDRAND included) with the serial line on stdin and
# OUT (CRs removed); sets qemu_rc (QEMU's exit status) and qemu_status
# (the status the system gave isa-debug-exit: QEMU exits with
# status * 2 + 1; -1 if QEMU ended any other way, e.g. the time limit).

image=./metal/x86_64/capos-metal${EXEEXT:-}
: "${QEMU:=qemu-system-x86_64}"

qemu_need() {
    if ! command -v "$QEMU" >/dev/null 2>&1; then
        echo "SKIP: $QEMU not found; install qemu-system-x86 (tools/install-deps)"
        exit 77
    fi
    if [ ! -f "$image" ]; then
        echo "SKIP: no $image (the metal port builds on x86_64 hosts only)"
        exit 77
    fi
}

qemu_boot() {
    out=$1 append=$2 limit=${3:-120}
    timeout "$limit" "$QEMU" -m 256M -display none -no-reboot \
        -serial stdio -monitor none -accel tcg -cpu "${qemu_cpu:-max}" \
        -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
        -kernel "$image" -append "$append" >"$out.raw" 2>&1
    qemu_rc=$?
    tr -d '\r' <"$out.raw" >"$out"
    rm -f "$out.raw"
    if [ $((qemu_rc % 2)) = 1 ] && [ "$qemu_rc" -lt 256 ]; then
        qemu_status=$(((qemu_rc - 1) / 2))
    else
        qemu_status=-1
    fi
}
