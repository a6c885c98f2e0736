#!/bin/sh
# qemu-bench.sh IMAGE - make qemu-bench: figures of the bare-metal image.
#   1. boot to the login prompt under TCG: 5 boots, from starting QEMU to
#      the first "username> " on the serial line (min / median / max ms);
#   2. the same under KVM when QEMU can use /dev/kvm here (else the reason);
#   3. the model's figures on metal (boot option bench: ring NOP, endpoint
#      round trip), under TCG.
# Never a test: figures only. Exit 1 only if QEMU or expect is missing or
# a boot fails.
set -u
image=$1
for tool in qemu-system-x86_64 expect; do
    command -v "$tool" >/dev/null 2>&1 || {
        echo "qemu-bench: $tool not found (tools/install-deps installs it)"
        exit 1
    }
done

# prompt_ms ACCEL...: ms from spawning QEMU to the login prompt, or FAIL.
prompt_ms() {
    expect -c "
        set timeout 60
        set start [clock milliseconds]
        spawn -noecho qemu-system-x86_64 -m 256M -display none -no-reboot \
            -chardev stdio,id=con,signal=off -serial chardev:con \
            -monitor none -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
            $* -kernel $image -append login
        log_user 0
        expect {
            \"username> \" { puts \"ms [expr {[clock milliseconds] - \$start}]\" }
            timeout { puts FAIL }
            eof { puts FAIL }
        }
        close
        wait
    " 2>&1 | sed -n 's/^ms //p; s/^FAIL$/FAIL/p'
}

# boots ACCEL...: five boots; prints min / median / max.
boots() {
    t=""
    for i in 1 2 3 4 5; do
        ms=$(prompt_ms "$@")
        [ -n "$ms" ] && [ "$ms" != FAIL ] || { echo "FAIL"; return 1; }
        t="$t $ms"
    done
    echo $t | tr ' ' '\n' | sort -n | awk '{v[NR]=$1} END {printf "%d / %d / %d ms (min / median / max of %d boots)\n", v[1], v[3], v[NR], NR}'
}

echo "qemu-bench: boot to login prompt, TCG: $(boots -accel tcg -cpu max)"
if [ -r /dev/kvm ] && [ -w /dev/kvm ]; then
    # In a child shell, so an abort of QEMU is not reported here.
    why=$(sh -c 'timeout 30 qemu-system-x86_64 -accel kvm -cpu host \
        -m 256M -display none -no-reboot -chardev stdio,id=con,signal=off \
        -serial chardev:con -monitor none \
        -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
        -kernel "$1" -append selftest </dev/null 2>&1; echo "rc $?"' sh "$image" 2>/dev/null)
    if echo "$why" | grep -q '^rc 1$'; then
        echo "qemu-bench: boot to login prompt, KVM: $(boots -accel kvm -cpu host)"
    else
        echo "qemu-bench: KVM not usable here: $(echo "$why" | grep -v '^capos-sim' | head -1)"
    fi
else
    echo "qemu-bench: KVM not usable here: no read-write /dev/kvm"
fi
timeout 120 qemu-system-x86_64 -m 256M -display none -no-reboot \
    -chardev stdio,id=con,signal=off -serial chardev:con -monitor none \
    -device isa-debug-exit,iobase=0xf4,iosize=0x04 -accel tcg -cpu max \
    -kernel "$image" -append bench </dev/null 2>&1 | tr -d '\r' |
    sed -n 's/^bench: /qemu-bench: metal (TCG): /p'
