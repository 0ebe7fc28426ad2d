"""The appliance: deploy/install.sh in a fresh Debian chroot, then booted with systemd."""
