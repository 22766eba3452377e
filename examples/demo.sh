#!/bin/sh
# femtojit demo: disassemble, verify and run the bundled Fletcher-32 container.
# Usage: sh examples/demo.sh PATH/TO/femtojit
# fletcher32.bin was packed from fletcher32.o (clang -target bpf -mcpu=v2 -O2) with
# `femtojit pack`; both are committed, so the demo needs no compiler.
set -eu

if [ $# -ne 1 ]; then
    echo "usage: $0 PATH/TO/femtojit" >&2
    exit 2
fi
FEMTOJIT=$1
HERE=$(cd "$(dirname "$0")" && pwd)
BIN=$HERE/fletcher32.bin
EXPECTED=0x5bac8c3d

step() {
    echo
    echo "== $1"
    echo "\$ femtojit $2"
}

echo "Fletcher-32 over a 360-character string held in the container's .rodata"
echo "(the benchmark of the Femto-Containers paper); expected result: $EXPECTED"

step "disassemble the container" "disasm $BIN"
"$FEMTOJIT" disasm "$BIN"

step "check it statically (verifier)" "verify $BIN"
"$FEMTOJIT" verify "$BIN"

check() {
    # $1: JSON printed by `femtojit run --json`; $2: what ran it
    if echo "$1" | grep -q "\"result\": $(printf '%d' "$EXPECTED")"; then
        echo "$2: result $EXPECTED as expected"
    else
        echo "demo FAILED: $2 did not give $EXPECTED" >&2
        exit 1
    fi
}

step "run it on the reference interpreter" "run --json $BIN"
OUTPUT=$("$FEMTOJIT" run --json "$BIN")
echo "$OUTPUT"
check "$OUTPUT" "interpreter"

OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
for TARGET in armv7m rv32imc; do
    step "translate it for $TARGET (checks and budget compiled in)" \
        "translate $BIN --target $TARGET --stats -o fletcher32.$TARGET.fjit"
    "$FEMTOJIT" translate "$BIN" --target "$TARGET" --stats -o "$OUT/fletcher32.$TARGET.fjit"
    step "run the translation under emulation (insns = retired native instructions)" \
        "run --engine $TARGET --json $BIN"
    OUTPUT=$("$FEMTOJIT" run --engine "$TARGET" --json "$BIN")
    echo "$OUTPUT"
    check "$OUTPUT" "$TARGET translation"
done
echo
echo "demo finished: the interpreter and every translation agree"
