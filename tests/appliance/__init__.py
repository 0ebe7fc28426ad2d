"""The appliance: Passerelle installed in a fresh Debian chroot (by the image's pi-gen stage
and by deploy/install.sh), then booted with systemd."""

import pytest

# The checks of installation.py are shared with bench/appliance.py: under pytest their
# asserts still show what they compared.
pytest.register_assert_rewrite("tests.appliance.installation")
