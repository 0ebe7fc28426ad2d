"""hostapd's configuration: the open Wi-Fi network guests join."""

from __future__ import annotations

from portal.config import Settings
from portal.netconfig.templates import fill

TEMPLATE = "hostapd.conf.in"

SOURCES = {
    "wifi": "network.wifi_interface",
    "ssid_hex": "wifi.ssid",
    "country_code": "wifi.country_code",
}
"""The portal.toml key each free-text placeholder comes from (a refusal names it)."""


def render_hostapd(settings: Settings) -> str:
    """hostapd.conf, filled from [wifi] and network.wifi_interface."""
    wifi = settings.wifi
    return fill(
        TEMPLATE,
        {
            "wifi": settings.network.wifi_interface,
            "ssid_hex": wifi.ssid.encode("utf-8").hex(),
            "country_code": wifi.country_code,
            "channel": str(wifi.channel),
            "max_clients": str(wifi.max_clients),
        },
        SOURCES,
    )
