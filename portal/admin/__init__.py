"""The admin side: accounts with roles, signing in, and the management pages, served only on
network.admin_port (portal/listeners.py), never to the Wi-Fi side."""
