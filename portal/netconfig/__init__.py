"""Network configuration rendered from portal.toml: the nftables ruleset and dnsmasq.

The templates are package data in netconfig/templates; these modules fill
them from validated Settings only, so the rendered files are deterministic.
"""

from portal.netconfig.dnsmasq import render_dnsmasq
from portal.netconfig.nftables import render_ruleset
from portal.netconfig.render import RENDERED_FILES, write_config

__all__ = ["RENDERED_FILES", "render_dnsmasq", "render_ruleset", "write_config"]
