"""Passerelle: a captive portal that teaches before it lets villagers online."""

__version__ = "0.1.0"
