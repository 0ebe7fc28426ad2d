"""`portal-gatekeeper`: the privileged helper's command line, socket set-up and main loop.

On the Pi it runs under systemd socket activation, as root with only
CAP_NET_ADMIN. The socket unit owns the socket and its permissions:

    [Socket]
    ListenStream=/run/passerelle/gatekeeper.sock
    SocketUser=root
    SocketGroup=passerelle
    SocketMode=0660

and the service runs `portal-gatekeeper --allow-user passerelle`. Only the
portal's uid and root pass the SO_PEERCRED check, whatever the file mode says.

Without systemd (tests, development), `--socket PATH` binds the socket itself:
mode 0600 owned by the allowed user, or mode 0660 owned by root and
`--socket-group` when one is given. Logs go to stderr, which journald keeps.
"""

from __future__ import annotations

import argparse
import ctypes
import grp
import logging
import os
import pwd
import signal
import socket
import stat
import sys
from collections.abc import Sequence
from pathlib import Path

from portal.gatekeeper.allowed_set import SET_REF, AllowedSet, SetError
from portal.gatekeeper.commands import (
    CommandError,
    CommandRunner,
    SubprocessRunner,
    find_program,
)
from portal.gatekeeper.dns_switch import DnsSwitch
from portal.gatekeeper.nft import LIBNFTABLES, NftBackend, NftLibrary, NftProgram
from portal.gatekeeper.server import GatekeeperServer

log = logging.getLogger("portal.gatekeeper")

SD_LISTEN_FDS_START = 3
"""The first file descriptor systemd passes (sd_listen_fds(3))."""


class StartError(RuntimeError):
    """The daemon cannot start; the message says what to fix."""


def systemd_listener() -> socket.socket | None:
    """The socket systemd passed us (LISTEN_PID/LISTEN_FDS), or None when not activated."""
    if os.environ.get("LISTEN_PID") != str(os.getpid()):
        return None
    count = os.environ.get("LISTEN_FDS", "0")
    for name in ("LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"):
        os.environ.pop(name, None)  # as sd_listen_fds(1): not for our children
    if count != "1":
        raise StartError(f"expected exactly one socket from systemd, got LISTEN_FDS={count}")
    listener = socket.socket(fileno=SD_LISTEN_FDS_START)
    if listener.family != socket.AF_UNIX or listener.type != socket.SOCK_STREAM:
        raise StartError("the socket from systemd must be a Unix stream socket")
    listener.set_inheritable(False)  # nft and conntrack must not inherit it
    return listener


def bind_listener(path: Path, owner_uid: int, group: str | None) -> socket.socket:
    """Bind `path` ourselves: 0600 for `owner_uid`, or 0660 root:`group`."""
    if path.is_socket():
        path.unlink()  # left over from a previous run
    elif path.exists() or path.is_symlink():
        raise StartError(f"{path} exists and is not a socket")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old_umask = os.umask(0o177)  # nobody else can connect between bind() and chmod()
    try:
        listener.bind(str(path))
    finally:
        os.umask(old_umask)
    if group is not None:
        try:
            gid = grp.getgrnam(group).gr_gid
        except KeyError:
            listener.close()
            raise StartError(f"no such group: {group}") from None
        os.chown(path, -1, gid)
        os.chmod(path, stat.S_IRUSR | stat.S_IWUSR | stat.S_IRGRP | stat.S_IWGRP)
    elif owner_uid != os.getuid():
        os.chown(path, owner_uid, -1)
    listener.listen(16)
    return listener


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="portal-gatekeeper",
        description="Privileged helper: changes the nftables set of devices let through.",
    )
    parser.add_argument(
        "--socket", type=Path, help="bind this Unix socket (default: the one systemd passes)"
    )
    caller = parser.add_mutually_exclusive_group(required=True)
    caller.add_argument("--allow-uid", type=int, help="uid of the portal (root is always allowed)")
    caller.add_argument("--allow-user", help="user name of the portal (root is always allowed)")
    parser.add_argument(
        "--socket-group", help="with --socket: make the socket 0660 root:GROUP (default 0600)"
    )
    parser.add_argument(
        "--wifi-interface", help="only look up revoked clients' addresses on this interface"
    )
    parser.add_argument(
        "--dns-folder",
        type=Path,
        help="where render-config wrote dnsmasq.conf: switch its DNS files on `dns` requests",
    )
    parser.add_argument(
        "--dnsmasq-pid-file", type=Path, help="with --dns-folder: dnsmasq's pid file (for SIGHUP)"
    )
    parser.add_argument("--verbose", action="store_true", help="also log every list request")
    return parser.parse_args(argv)


def _dns_switch(args: argparse.Namespace) -> DnsSwitch | None:
    if (args.dns_folder is None) != (args.dnsmasq_pid_file is None):
        raise StartError("--dns-folder and --dnsmasq-pid-file go together")
    if args.dns_folder is None:
        return None
    try:
        info = args.dns_folder.stat()
    except OSError as error:
        raise StartError(f"--dns-folder {args.dns_folder}: {error.strerror}") from None
    # Whoever may write there chooses guests' DNS: root alone, as render-config leaves it.
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != 0 or info.st_mode & 0o022:
        raise StartError(f"--dns-folder {args.dns_folder} must be a folder only root may write")
    return DnsSwitch(args.dns_folder, args.dnsmasq_pid_file)


def _allowed_uid(args: argparse.Namespace) -> int:
    if args.allow_uid is not None:
        if args.allow_uid < 0:
            raise StartError("--allow-uid must be a uid, 0 or more")
        return int(args.allow_uid)
    try:
        return pwd.getpwnam(args.allow_user).pw_uid
    except KeyError:
        raise StartError(f"no such user: {args.allow_user}") from None


def nft_backend(run: CommandRunner, library: str = LIBNFTABLES) -> NftBackend:
    """libnftables in-process where it loads (a grant in well under a millisecond), else nft."""
    try:
        backend = NftLibrary.load(library)
    except CommandError as why:
        try:
            program = find_program("nft")
        except CommandError as error:
            raise StartError(f"{why}, and {error}") from None
        log.warning("%s: running %s for each change (10-25 ms each)", why, program)
        return NftProgram(run, program)
    log.info("applying nft batches in-process through %s", library)
    return backend


def _allowed_set(wifi_interface: str | None) -> AllowedSet:
    run = SubprocessRunner()
    nft = nft_backend(run)
    try:
        conntrack: str | None = find_program("conntrack")
    except CommandError:
        conntrack = None
        log.warning("conntrack not found: a revoke will not cut open connections")
    allowed = AllowedSet(nft, run, conntrack=conntrack, wifi_interface=wifi_interface)
    try:
        allowed.entries()
    except SetError as error:
        # Not fatal: the ruleset may be loaded after us; requests fail until it is.
        log.warning("set %s not usable yet: %s", SET_REF, error)
    return allowed


M_ARENA_MAX = -8
"""mallopt(3)'s parameter for the number of malloc arenas, in glibc's <malloc.h>."""


def one_malloc_arena() -> None:
    """Have every thread of the daemon allocate from glibc's one main arena.

    Each connection has a thread of its own, and glibc gives threads that allocate at the
    same moment arenas of their own (up to eight a core), whose memory it keeps: after two
    join storms the daemon held 20 MB instead of 12 (bench/memory.py). Its nft calls take
    turns anyway (NftLibrary's lock). Where the C library is not glibc, nothing changes."""
    mallopt = getattr(ctypes.CDLL(None), "mallopt", None)
    if mallopt is not None:
        mallopt(M_ARENA_MAX, 1)


def run(args: argparse.Namespace) -> None:
    one_malloc_arena()  # before the first connection's thread
    allowed_uid = _allowed_uid(args)
    dns = _dns_switch(args)
    listener = systemd_listener()
    bound: Path | None = None
    if listener is None:
        if args.socket is None:
            raise StartError("not started by systemd socket activation: pass --socket PATH")
        try:
            listener = bind_listener(args.socket, allowed_uid, args.socket_group)
        except OSError as error:
            raise StartError(f"cannot bind {args.socket}: {error.strerror}") from None
        bound = args.socket
    elif args.socket is not None:
        log.warning("socket passed by systemd; ignoring --socket")
    server = GatekeeperServer(listener, _allowed_set(args.wifi_interface), allowed_uid, dns=dns)
    signal.signal(signal.SIGTERM, lambda *_: server.shutdown())
    signal.signal(signal.SIGINT, lambda *_: server.shutdown())
    log.info("serving; callers allowed: uid %d and root", allowed_uid)
    try:
        server.serve_forever()
    finally:
        listener.close()
        if bound is not None:
            bound.unlink(missing_ok=True)
    log.info("stopped")


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse(argv)
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",  # journald adds the time
    )
    try:
        run(args)
    except StartError as error:
        log.error("%s", error)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
