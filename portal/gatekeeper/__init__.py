"""The gatekeeper: the only privileged piece of Passerelle.

A small daemon on a Unix socket that accepts four verbs (grant, revoke, list,
sync) from the portal's uid, validates them, and changes the nftables set
`inet portal allowed` through libnftables, or the `nft` program (no shell)
where the library cannot be loaded. Modules: `protocol` (the wire format, what
a MAC and a grant length may be, and their validation), `neighbours` (the
kernel's neighbour table), `allowed_set` (the set's scripts, conntrack), `nft`
(how a script reaches the kernel), `commands` (running programs), `server`
(socket, caller check, connections), `daemon` (the console script).

The package owns its vocabulary and imports nothing from the web side; the
portal (portal/access, portal/clients.py) imports `protocol` and `neighbours`.
"""
