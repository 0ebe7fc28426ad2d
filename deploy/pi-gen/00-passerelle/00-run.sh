#!/bin/sh
# Passerelle into the image, the half on the build machine: pi-gen runs it from this
# folder with ROOTFS_DIR set to the image's root. It copies deploy/ and the checkout's
# wheel (dist/) into the image, where 01-run-chroot.sh installs them.
set -eu

: "${ROOTFS_DIR:?pi-gen sets ROOTFS_DIR to the root of the image}"
DEPLOY=$(cd "$(dirname "$0")/../.." && pwd)
CHECKOUT=$(dirname "$DEPLOY")
INTO=$ROOTFS_DIR/root/passerelle-image # 01-run-chroot.sh reads it there, and removes it

set -- "$CHECKOUT"/dist/passerelle_portal-*.whl
[ -f "$1" ] || set -- # no wheel: the pattern is left as it was
if [ $# -ne 1 ]; then
    echo "00-run.sh: $CHECKOUT/dist holds $# Passerelle wheels, it must hold one" \
        "(python3 -m pip wheel --no-deps -w dist . in the checkout)" >&2
    exit 1
fi
rm -rf "$INTO"
install -d -m 0700 "$INTO"
cp -R "$DEPLOY" "$INTO/deploy"
install -m 0644 "$1" "$INTO/"
