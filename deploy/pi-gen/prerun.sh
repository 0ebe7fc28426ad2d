#!/bin/bash -e
# pi-gen runs this first: the stage starts from a copy of the previous stage's root
# (stage2: Raspberry Pi OS Lite). bash, as copy_previous is a function pi-gen exports.
if [ ! -d "${ROOTFS_DIR}" ]; then
	copy_previous
fi
