"""Captive-portal detection: OS connectivity probes and the RFC 8908 API."""
