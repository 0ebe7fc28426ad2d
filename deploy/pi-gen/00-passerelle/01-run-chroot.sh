# Passerelle into the image, the half inside it: pi-gen feeds this file to bash -e in
# the image's chroot, after 00-run.sh copied the wheel and deploy/ in.
set -eu
FROM=/root/passerelle-image

# Enabled, not started (nothing runs in a chroot). The lessons' audio is made here, by
# the image's own espeak-ng: every Pi flashed from the image has it from its first start.
# </dev/null: this shell reads its script from standard input; nothing may eat it.
sh "$FROM/deploy/install.sh" --wheel "$FROM"/passerelle_portal-*.whl --no-start </dev/null

# The Pi writes it at every start; the build's one would tell the volunteer nothing.
rm -f /boot/firmware/portal-status.txt
rm -rf "$FROM"
