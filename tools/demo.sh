#!/usr/bin/env bash
# The demo: installs what is missing, builds, starts a kernel, runs two example CE programs that
# share a named mapping, and shows what cedump sees while they run.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/build.sh build >/dev/null

export CEK_INSTANCE=demo
export CEK_ROOT="$PWD/build/demo-root"
export CEK_RUNTIME_DIR="$PWD/build/demo-run"
mkdir -p "$CEK_RUNTIME_DIR"
chmod 700 "$CEK_RUNTIME_DIR"
status=0
build/kernel/cekernel --instance demo --root "$CEK_ROOT" --idle-exit 5 || status=$?
case $status in
    0) echo "== kernel started (instance demo, CE root $CEK_ROOT)" ;;
    3) echo "== the demo's kernel from a previous run is still up (it exits 5 s after its last client)" ;;
    *) echo "the kernel did not start (status $status); see $CEK_RUNTIME_DIR/demo.log" >&2; exit 1 ;;
esac

fifo=$(mktemp -u)
mkfifo "$fifo" "$fifo.2"
build/examples/shared_writer >"$fifo" &
writer=$!
exec 3<"$fifo"
read -r line <&3 && echo "$line"   # the writer has created and filled the mapping
echo "== cedump while the writer holds the mapping:"
build/tools/cedump/cedump all
echo "== the reader opens the same name:"
build/examples/shared_reader
cat <&3
wait "$writer"
exec 3<&-
echo
echo "== CE 5's CreateFileForMapping sequence: a file in the CE root, mapped by two processes"
build/examples/file_seed first >"$fifo.2" &
seed=$!
exec 4<"$fifo.2"
read -r line <&4 && echo "$line"
read -r line <&4 && echo "$line"
build/tools/cedump/cedump objects
build/examples/file_seed second
cat <&4
wait "$seed"
exec 4<&-
rm -f "$fifo.2"
echo "== on the host disk: $(head -c 40 "$CEK_ROOT/My Documents/seed.dat" | tr -d '\0')"
echo
echo "== cedump after all exited:"
build/tools/cedump/cedump processes
rm -f "$fifo"
echo "== the kernel exits by itself 5 s after its last client."
