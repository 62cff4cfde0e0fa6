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
build/kernel/cekernel --instance demo --root "$CEK_ROOT" --idle-exit 5
echo "== kernel started (instance demo, CE root $CEK_ROOT)"

fifo=$(mktemp -u)
mkfifo "$fifo"
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
rm -f "$fifo"
echo "== cedump after both exited:"
build/tools/cedump/cedump processes
echo "== the kernel exits by itself 5 s after its last client."
