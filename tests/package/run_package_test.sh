#!/usr/bin/env bash
# The Debian packages, end to end (issue 17, docs/deploy.md): builds them from this tree with
# dpkg-buildpackage, installs them with apt-get, builds two example programs against /usr with
# `pkg-config --cflags --libs coredll`, runs them (the first auto-starts the installed
# /usr/bin/cekernel), inspects the kernel with the installed cedump, purges the packages and
# checks that nothing they installed is left.
#
# It costs a build of its own and installs packages system-wide, so it runs only when asked:
# CEK_PACKAGE_TEST=1 (tools/test.sh sets it for the normal build), as root, and with no cekernel
# package installed already. Otherwise it says why and exits 77 (meson's "skipped").
# The build dependencies it needs beyond tools/install-deps.sh (debhelper, dpkg-dev, fakeroot)
# are installed here.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
skip() {
    echo "SKIPPED: $*"
    exit 77
}
[ "${CEK_PACKAGE_TEST:-0}" = 1 ] || skip "set CEK_PACKAGE_TEST=1 (tools/test.sh does) to build, install and purge the packages"
[ "$(id -u)" = 0 ] || skip "needs root to install and purge packages"
command -v apt-get >/dev/null && command -v dpkg >/dev/null || skip "not a Debian system"
for p in cekernel libcoredll0 libcoredll-dev; do
    if dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "installed"; then
        skip "$p is installed on this host already; this test would replace and purge it"
    fi
done
t0=$SECONDS
step() { echo "== [$((SECONDS - t0)) s] $*"; }

need=()
for p in debhelper dpkg-dev fakeroot; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
done
if ((${#need[@]})); then
    step "installing the package build's own dependencies: ${need[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${need[@]}"
fi

work=$(mktemp -d /tmp/cek-package.XXXXXX)
kernel_pid=""
cleanup() {
    [ -n "$kernel_pid" ] && kill "$kernel_pid" 2>/dev/null || true
    # A failed run must not leave the packages installed either.
    if dpkg-query -W cekernel >/dev/null 2>&1; then
        DEBIAN_FRONTEND=noninteractive apt-get purge -y cekernel libcoredll0 libcoredll-dev >/dev/null 2>&1 || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

step "building the packages (dpkg-buildpackage -us -uc -b) from a copy of the tree"
tree="$work/cekernel-0.1.0"
mkdir -p "$tree"
tar -C "$src" --exclude='./build*' --exclude='./.git' --exclude='./obj-*' --exclude='./debian/.debhelper' -cf - . |
    tar -C "$tree" -xf -
(cd "$tree" && DEB_BUILD_OPTIONS="nocheck parallel=$(nproc)" dpkg-buildpackage -us -uc -b) >"$work/build.log" 2>&1 || {
    tail -50 "$work/build.log"
    echo "FAILED: dpkg-buildpackage"
    exit 1
}
ls "$work"/*.deb

step "installing them with apt-get"
DEBIAN_FRONTEND=noninteractive apt-get install -y "$work"/cekernel_*.deb "$work"/libcoredll0_*.deb "$work"/libcoredll-dev_*.deb >/dev/null
for p in cekernel libcoredll0 libcoredll-dev; do dpkg -L "$p" >"$work/$p.list"; done
test -x /usr/bin/cekernel && test -x /usr/bin/cedump
test -f /usr/lib/systemd/user/cekernel.socket && test -f /usr/lib/systemd/user/cekernel.service

step "building the examples against /usr: cc -fshort-wchar \$(pkg-config --cflags --libs coredll)"
flags=$(pkg-config --cflags --libs coredll)
echo "pkg-config: $flags"
app="$work/app"
mkdir -p "$app"
for e in shared_writer shared_reader; do
    # Only what the package installed: no include or library path of the source tree.
    cc -fshort-wchar -o "$app/$e" "$src/examples/$e.c" $flags
done
if ldd "$app/shared_writer" | grep -q "$src"; then
    echo "FAILED: the example links against the source tree"
    exit 1
fi
ldd "$app/shared_writer" | grep libcoredll

step "running them as an application would: the first call auto-starts /usr/bin/cekernel"
export HOME="$work/home" CEK_INSTANCE=pkgtest CEK_RUNTIME_DIR="$work/run"
unset CEK_KERNEL CEK_ROOT XDG_RUNTIME_DIR CEK_AUTOSTART
mkdir -p "$HOME"
fifo="$work/writer.out"
mkfifo "$fifo"
"$app/shared_writer" >"$fifo" &
writer=$!
exec 3<"$fifo"
read -r line <&3
echo "$line"
for pid in $(pgrep -x cekernel); do
    if [ "$(readlink "/proc/$pid/exe")" = /usr/bin/cekernel ] &&
        tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "--instance pkgtest"; then
        kernel_pid=$pid
    fi
done
if [ -z "$kernel_pid" ]; then
    echo "FAILED: no /usr/bin/cekernel runs for the instance"
    exit 1
fi
echo "the kernel: pid $kernel_pid, $(readlink "/proc/$kernel_pid/exe")"

step "cedump inspects it"
/usr/bin/cedump processes | tee "$work/cedump.out"
/usr/bin/cedump objects | tee -a "$work/cedump.out"
grep -q "shared_writer" "$work/cedump.out"
grep -q "DemoSharedMap" "$work/cedump.out"
"$app/shared_reader"
cat <&3
wait "$writer"
exec 3<&-
test -d "$HOME/.local/share/cekernel/pkgtest"  # the default CE root of an auto-started kernel
kill "$kernel_pid"
for _ in $(seq 100); do kill -0 "$kernel_pid" 2>/dev/null || break; sleep 0.1; done
kernel_pid=""

step "purging the packages"
DEBIAN_FRONTEND=noninteractive apt-get purge -y cekernel libcoredll0 libcoredll-dev >/dev/null
for p in cekernel libcoredll0 libcoredll-dev; do
    if dpkg -L "$p" >/dev/null 2>&1; then
        echo "FAILED: dpkg still knows the files of $p"
        exit 1
    fi
    while read -r f; do
        # Shared directories (/usr/bin, ...) stay; every file and link of ours must be gone.
        if [ -e "$f" ] && [ ! -d "$f" ] || [ -L "$f" ]; then
            echo "FAILED: $f is left after the purge"
            exit 1
        fi
    done <"$work/$p.list"
done
for d in /usr/include/cekernel /usr/share/doc/cekernel /usr/share/doc/libcoredll0 /usr/share/doc/libcoredll-dev; do
    if [ -e "$d" ]; then
        echo "FAILED: $d is left after the purge"
        exit 1
    fi
done
step "passed"
