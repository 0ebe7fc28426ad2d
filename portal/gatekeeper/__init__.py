"""The gatekeeper: the only privileged piece of Passerelle.

A small daemon on a Unix socket that accepts four verbs (grant, revoke, list,
sync) from the portal's uid, validates them, and changes the nftables set
`inet portal allowed` with `nft` (no shell). Modules: `protocol` (the wire
format and its validation), `allowed_set` (nft and conntrack commands),
`server` (socket, caller check, connections), `daemon` (the console script).
"""
