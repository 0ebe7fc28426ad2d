"""Access: who may reach the Internet, recorded in the database and enforced by a firewall."""
