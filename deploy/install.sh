#!/bin/sh
# Passerelle's installer: turns a fresh Raspberry Pi OS Lite (Debian Trixie or
# Bookworm, arm64) into a Passerelle hotspot. Run it as root; run it again at
# any time: it changes only what is not as it should be.
#
#   sudo sh deploy/install.sh --wheel passerelle_portal-*.whl [--no-start] [--no-narration]
#
#   --wheel FILE     the portal's wheel (`python3 -m build` or tests/install.py);
#                    its Python dependencies come from PyPI
#   --no-start       enable the units but start nothing (an image build, a chroot)
#   --no-narration   skip making the lessons' audio (espeak-ng, about a minute)
#
# What it does: the Debian packages; the user `passerelle`; /opt/passerelle/venv
# with the wheel; the data directory (0700); /boot/firmware/portal.toml from the
# example if there is none; `portal apply-config` (renders /etc/passerelle);
# the units linked and enabled; NetworkManager told to leave the Wi-Fi alone, and
# avahi-daemon to keep off it; forwarding on; the journal in memory; no swap on the SD
# card; the narration; the guide packs prepared again for a new portal.
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
PREFIX=/opt/passerelle
VENV=$PREFIX/venv
RENDERED=/etc/passerelle
DATA=/var/lib/passerelle
BOOT=/boot/firmware
SERVICE_USER=passerelle
UNITS="portal-apply.service portal-firewall.service portal-hostapd.service
portal-dnsmasq.service portal-gatekeeper.socket portal-gatekeeper.service portal.service
portal-housekeep.service portal-report.service portal-report.timer"
PACKAGES="python3 python3-venv hostapd dnsmasq-base nftables libnftables1 conntrack iproute2
rfkill ca-certificates espeak-ng lame libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0
fonts-dejavu-core"
# The units that run the portal's own code: restarted when a new wheel is installed.
CODE_UNITS="portal-gatekeeper.service portal.service portal-housekeep.service"

WHEEL=""
START=yes
NARRATION=yes
while [ $# -gt 0 ]; do
    case "$1" in
        --wheel) WHEEL=${2:?--wheel needs a file}; shift 2 ;;
        --no-start) START=no; shift ;;
        --no-narration) NARRATION=no; shift ;;
        *) echo "install.sh: unknown argument $1 (see the top of this file)" >&2; exit 2 ;;
    esac
done
if [ "$(id -u)" != 0 ]; then
    echo "install.sh: run it as root (sudo sh $0 ...)" >&2
    exit 2
fi
if [ -z "$WHEEL" ] || [ ! -f "$WHEEL" ]; then
    echo "install.sh: give the portal's wheel with --wheel FILE" >&2
    exit 2
fi

say() { echo "install.sh: $*"; }

# --- Debian packages (only the missing ones) ---
missing=""
for package in $PACKAGES; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
        missing="$missing $package"
done
if [ -n "$missing" ]; then
    say "installing$missing"
    apt-get update -qq
    # shellcheck disable=SC2086 # one word per package
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing
fi
# Debian starts hostapd's own unit when it is installed; Passerelle runs its own.
systemctl disable hostapd.service >/dev/null 2>&1 || true
systemctl mask hostapd.service >/dev/null 2>&1 || true

# --- the user and the data directory ---
if ! id "$SERVICE_USER" >/dev/null 2>&1; then
    say "adding the user $SERVICE_USER"
    useradd --system --home-dir "$DATA" --no-create-home --shell /usr/sbin/nologin \
        "$SERVICE_USER"
fi
install -d -m 0700 -o "$SERVICE_USER" -g "$SERVICE_USER" "$DATA"

# --- the portal: a venv with the wheel ---
if [ ! -x "$VENV/bin/python" ]; then
    say "making $VENV"
    install -d -m 0755 "$PREFIX"
    python3 -m venv "$VENV"
fi
installed=$("$VENV/bin/python" -m pip show passerelle-portal 2>/dev/null |
    sed -n 's/^Version: //p')
wanted=$(basename "$WHEEL" | cut -d- -f2)
new_code=no
if [ "$installed" != "$wanted" ]; then
    new_code=yes
    say "installing the portal $wanted"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "$WHEEL"
fi
# `portal doctor`, `portal poster`... on the volunteer's PATH.
ln -sfn "$VENV/bin/portal" /usr/local/bin/portal

# --- the volunteer's file, the system around it, the units ---
if [ -d "$BOOT" ] && [ ! -f "$BOOT/portal.toml" ]; then
    say "putting the example portal.toml on the boot partition"
    cp "$HERE/portal.example.toml" "$BOOT/portal.toml"
fi
# Beside it, every key explained (portal-status.txt points to it); always this version's.
if [ -d "$BOOT" ] && ! cmp -s "$HERE/portal.example.toml" "$BOOT/portal.example.toml"; then
    cp "$HERE/portal.example.toml" "$BOOT/portal.example.toml"
fi
install -d -m 0755 "$RENDERED"
# Everything that points into $RENDERED is in place before apply-config fills it, so
# what it restarts (NetworkManager included) reads the new files.
install -d -m 0755 /etc/NetworkManager/conf.d /etc/sysctl.d /etc/systemd/journald.conf.d
ln -sfn "$RENDERED/networkmanager.conf" /etc/NetworkManager/conf.d/90-passerelle.conf
install -m 0644 "$HERE/system/90-passerelle.conf" /etc/sysctl.d/90-passerelle.conf
journal=/etc/systemd/journald.conf.d/90-passerelle.conf
new_journal=no
if ! cmp -s "$HERE/system/journald-passerelle.conf" "$journal"; then
    new_journal=yes
    install -m 0644 "$HERE/system/journald-passerelle.conf" "$journal"
fi
for unit in $UNITS; do
    ln -sfn "$RENDERED/$unit" "/etc/systemd/system/$unit"
done
# No swap on the SD card. Bookworm: dphys-swapfile makes a swap file; it is turned off.
# Trixie: rpi-swap; compressed swap in memory only (zram), never written to the card.
if systemctl list-unit-files dphys-swapfile.service >/dev/null 2>&1; then
    systemctl disable dphys-swapfile.service >/dev/null 2>&1 || true
fi
if dpkg-query -W -f='${Status}' rpi-swap 2>/dev/null | grep -q "install ok installed"; then
    install -d -m 0755 /etc/rpi/swap.conf.d
    install -m 0644 "$HERE/system/rpi-swap-passerelle.conf" /etc/rpi/swap.conf.d/90-passerelle.conf
fi
# avahi-daemon (Raspberry Pi OS's mDNS: ssh to the Pi by name from the library's network)
# reads $RENDERED/avahi-daemon.conf: not a word about the Pi on the guest Wi-Fi.
new_avahi=no
if dpkg-query -W -f='${Status}' avahi-daemon 2>/dev/null | grep -q "install ok installed"; then
    avahi=/etc/systemd/system/avahi-daemon.service.d/90-passerelle.conf
    if ! cmp -s "$HERE/system/avahi-daemon-passerelle.conf" "$avahi"; then
        new_avahi=yes
        install -d -m 0755 "$(dirname "$avahi")"
        install -m 0644 "$HERE/system/avahi-daemon-passerelle.conf" "$avahi"
    fi
fi

# 1: the file has a mistake; portal-status.txt (printed here) says which, and the last
# good settings, or a safe default, are in force.
"$VENV/bin/portal" apply-config --config "$BOOT/portal.toml" --out "$RENDERED" ||
    [ $? -eq 1 ]
# shellcheck disable=SC2086 # one word per unit
systemctl enable $UNITS >/dev/null 2>&1 || systemctl --root=/ enable $UNITS

# --- the lessons' audio ---
if [ "$NARRATION" = yes ]; then
    say "making the lessons' audio (espeak-ng)"
    runuser -u "$SERVICE_USER" -- env PORTAL_CONFIG="$RENDERED/portal.toml" \
        "$VENV/bin/portal" lessons narrate >/dev/null
fi

# --- the guide packs, prepared for this portal ---
# A new portal may prepare packs otherwise. Done here, while the old portal still serves
# (its guide pages are gone only from the switch to the restart below, a moment), rather
# than by `portal serve` after the restart, which would keep every page down meanwhile.
# Nothing is written when no pack is stale. 2: an altered stored file (the line above
# names it), that pack stays as it was; 3: another install or refresh is at it (`portal
# serve`, when apply-config restarted it). Either way the install goes on.
runuser -u "$SERVICE_USER" -- env PORTAL_CONFIG="$RENDERED/portal.toml" \
    "$VENV/bin/portal" pack refresh ||
    say "guide packs left as they were (see above); \`portal serve\` tries again as it starts"

if [ "$START" = yes ]; then
    sysctl --quiet --system >/dev/null
    if [ "$new_journal" = yes ]; then systemctl restart systemd-journald.service; fi
    if command -v nmcli >/dev/null 2>&1; then nmcli general reload conf || true; fi
    systemctl daemon-reload
    if [ "$new_avahi" = yes ]; then systemctl try-restart avahi-daemon.service; fi
    # Start what is not running; apply-config above restarted what its files changed,
    # and a new wheel restarts what runs the portal's code. Phones stay connected.
    # shellcheck disable=SC2086 # one word per unit
    systemctl start $UNITS
    if [ "$new_code" = yes ]; then
        # shellcheck disable=SC2086 # one word per unit
        systemctl try-restart $CODE_UNITS
    fi
    say "started; run \`portal doctor\` to check everything"
else
    say "installed; the units start at the next boot"
fi
