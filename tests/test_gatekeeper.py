"""The gatekeeper: its socket protocol, its caller check, and its effect on a real nftables set.

The protocol is the gatekeeper's own: the portal's client and memory firewall
speak and check it through portal.gatekeeper.protocol, and nothing in the
package loads a web-side module (checked in a fresh interpreter).

Protocol and caller tests run an in-process server whose commands are recorded,
not executed (the nft program backend over a recording runner). The kernel tests
run the real daemon, which uses libnftables, under `ip netns exec` in a fresh
pair of network namespaces (a "hotspot" holding the set and a "client" sending
packets), and each nft backend on its own in the hotspot namespace, so nothing
outside the project's own namespaces is touched.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from portal.access.configured import make_firewall
from portal.access.firewall import Firewall, FirewallError, MemoryFirewall
from portal.access.gatekeeper_client import GatekeeperError, GatekeeperFirewall
from portal.config import Settings
from portal.gatekeeper.allowed_set import parse_set_json
from portal.gatekeeper.commands import CommandError, Completed
from portal.gatekeeper.daemon import bind_listener, nft_backend
from portal.gatekeeper.dns_switch import DnsSwitch
from portal.gatekeeper.nft import NftFailed, NftLibrary, NftProgram
from portal.gatekeeper.protocol import (
    MAX_GRANT_SECONDS,
    MAX_LINE_BYTES,
    MAX_NUMBER_DIGITS,
    MAX_REPLY_BYTES,
    MAX_SYNC_GRANTS,
    BadRequest,
    FirewallEntry,
    GrantRequest,
    ListRequest,
    Request,
    RevokeRequest,
    SyncRequest,
    encode_request,
    error_reply,
    list_reply,
    ok_reply,
    parse_reply,
    parse_request,
)
from portal.gatekeeper.server import Peer, caller_allowed
from tests.gatekeepers import MAC, RecordingRunner, running_gatekeeper, socket_folder
from tests.system import libnftables_missing, missing, require

ROOT = os.geteuid() == 0
needs_root = pytest.mark.skipif(
    not ROOT, reason="needs root: network namespaces, nft, a second uid"
)
NOBODY = 65534
OTHER_MAC = "02:11:22:33:44:66"
PROJECT_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def socket_dir() -> Iterator[Path]:
    with socket_folder() as path:
        yield path


Serve = Callable[..., tuple[str, RecordingRunner]]


@pytest.fixture
def serve(socket_dir: Path) -> Iterator[Serve]:
    """Start an in-process gatekeeper on a temporary socket; stopped after the test."""
    with contextlib.ExitStack() as servers:
        started = 0

        def start(
            allowed_uid: int = os.getuid(),
            socket_mode: int = 0o600,
            neighbour_table: Path | None = None,
            **options: Any,
        ) -> tuple[str, RecordingRunner]:
            nonlocal started
            path = socket_dir / f"gk{started}.sock"
            started += 1
            runner = RecordingRunner()
            servers.enter_context(
                running_gatekeeper(
                    path,
                    runner,
                    allowed_uid=allowed_uid,
                    socket_mode=socket_mode,
                    neighbour_table=neighbour_table or socket_dir / "no-arp",
                    **options,
                )
            )
            return str(path), runner

        yield start


def exchange(path: str, *lines: bytes, timeout: float = 5.0) -> list[dict[str, Any]]:
    """Send raw request lines on one connection; the decoded replies, one per line."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
        connection.settimeout(timeout)
        connection.connect(path)
        with contextlib.suppress(BrokenPipeError):  # a refused caller is hung up on
            connection.sendall(b"".join(line + b"\n" for line in lines))
        received = b""
        while received.count(b"\n") < len(lines):
            chunk = connection.recv(65536)
            if not chunk:
                break
            received += chunk
    return [json.loads(reply) for reply in received.splitlines()]


def request(**fields: Any) -> bytes:
    return json.dumps(fields).encode()


# --- protocol: bad requests are answered with an error and never executed ---

BAD_REQUESTS = {
    "not JSON": b"grant aa:bb",
    "not UTF-8": b'{"verb": "list", "x": "\xff"}',
    "not an object": b'["grant"]',
    "no verb": request(mac=MAC, seconds=60),
    "unknown verb": request(verb="flush"),
    "verb not a string": request(verb=["grant"]),
    "unknown key": request(verb="list", table="filter"),
    "missing key": request(verb="grant", mac=MAC),
    "duplicate key": b'{"verb": "list", "verb": "list"}',
    "MAC not a string": request(verb="revoke", mac=0x021122334455),
    "MAC malformed": request(verb="grant", mac="02:11:22:33:44", seconds=60),
    "MAC with nft syntax": request(verb="grant", mac=MAC + " } ; flush ruleset ; {", seconds=60),
    "multicast MAC": request(verb="grant", mac="01:00:5e:00:00:01", seconds=60),
    "zero seconds": request(verb="grant", mac=MAC, seconds=0),
    "negative seconds": request(verb="grant", mac=MAC, seconds=-5),
    "seconds over a week": request(verb="grant", mac=MAC, seconds=MAX_GRANT_SECONDS + 1),
    "seconds as float": request(verb="grant", mac=MAC, seconds=60.0),
    "seconds as string": request(verb="grant", mac=MAC, seconds="60"),
    "seconds as bool": request(verb="grant", mac=MAC, seconds=True),
    "seconds NaN": b'{"verb": "grant", "mac": "02:11:22:33:44:55", "seconds": NaN}',
    "grants not an object": request(verb="sync", grants=[[MAC, 60]]),
    "grants with a bad MAC": request(verb="sync", grants={MAC: 60, "nope": 60}),
    "grants with bad seconds": request(verb="sync", grants={MAC: 0}),
    "grants naming a MAC twice": request(
        verb="sync", grants={"02:ab:00:00:00:01": 60, "02:AB:00:00:00:01": 60}
    ),
    "deep nesting": b'{"verb": "sync", "grants": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    "padded small request": b'{"verb": "list"' + b" " * 2000 + b"}",
}


BAD_NUMBERS = {
    "10,000-digit seconds": (
        b'{"verb": "grant", "mac": "02:11:22:33:44:55", "seconds": ' + b"6" * 10_000 + b"}",
        f"integers have at most {MAX_NUMBER_DIGITS} digits",
    ),
    "10,000-digit sync value": (
        b'{"verb": "sync", "grants": {"02:11:22:33:44:55": ' + b"6" * 10_000 + b"}}",
        f"integers have at most {MAX_NUMBER_DIGITS} digits",
    ),
    "seconds in exponent form": (
        b'{"verb": "grant", "mac": "02:11:22:33:44:55", "seconds": 1e9}',
        "seconds must be an integer",
    ),
    "seconds NaN": (
        b'{"verb": "grant", "mac": "02:11:22:33:44:55", "seconds": NaN}',
        "NaN and Infinity are not JSON numbers",
    ),
    "seconds -Infinity": (
        b'{"verb": "grant", "mac": "02:11:22:33:44:55", "seconds": -Infinity}',
        "NaN and Infinity are not JSON numbers",
    ),
    "seconds true": (request(verb="grant", mac=MAC, seconds=True), "seconds must be an integer"),
    "seconds as a string": (
        request(verb="grant", mac=MAC, seconds="60"),
        "seconds must be an integer",
    ),
    "negative seconds": (
        request(verb="grant", mac=MAC, seconds=-60),
        f"seconds: grant length must be 1..{MAX_GRANT_SECONDS} seconds, got -60",
    ),
}


@pytest.mark.parametrize(("line", "error"), BAD_NUMBERS.values(), ids=BAD_NUMBERS.keys())
def test_a_number_that_is_not_a_grant_length_is_refused_and_the_server_keeps_serving(
    serve: Serve, line: bytes, error: str
) -> None:
    path, runner = serve()
    refusal, listing = exchange(path, line, request(verb="list"))
    assert refusal == {"ok": False, "error": error}
    assert listing["ok"] is True
    assert len(runner.calls) == 1  # the list, and nothing else


@pytest.mark.parametrize("line", BAD_REQUESTS.values(), ids=BAD_REQUESTS.keys())
def test_bad_request_gets_an_error_reply_and_runs_nothing(serve: Serve, line: bytes) -> None:
    path, runner = serve()
    [reply] = exchange(path, line)
    assert reply["ok"] is False
    assert isinstance(reply["error"], str) and reply["error"]
    assert runner.calls == []


def test_a_parser_failure_is_a_refusal_and_the_connection_keeps_working(
    serve: Serve, monkeypatch: pytest.MonkeyPatch
) -> None:
    from portal.gatekeeper import server

    def broken(line: bytes) -> Request:
        if line.startswith(b"{"):
            return parse_request(line)
        raise ValueError("a bug in the parser")

    monkeypatch.setattr(server, "parse_request", broken)
    path, _ = serve()
    refusal, listing = exchange(path, b"x", request(verb="list"))
    assert refusal == {"ok": False, "error": "request could not be read"}
    assert listing["ok"] is True


def test_connection_keeps_working_after_a_bad_request(serve: Serve) -> None:
    path, runner = serve()
    replies = exchange(path, b"{", request(verb="list"))
    assert [reply["ok"] for reply in replies] == [False, True]
    assert len(runner.calls) == 1


def test_oversize_line_is_refused_and_the_connection_closed(serve: Serve) -> None:
    path, runner = serve()
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
        connection.settimeout(5)
        connection.connect(path)
        # No newline within the limit: the server must stop reading, not buffer forever.
        with pytest.raises((BrokenPipeError, ConnectionResetError)):
            connection.sendall(b'{"verb": "sync", "grants": {' + b" " * (4 * MAX_LINE_BYTES))
        reply = connection.recv(65536)
        assert json.loads(reply) == {
            "ok": False,
            "error": f"request longer than {MAX_LINE_BYTES} bytes",
        }
        # Hung up: an end of file, or a reset when the kernel still held unread bytes
        # of ours at the close (which of the two depends on timing).
        try:
            rest = connection.recv(65536)
        except ConnectionResetError:
            rest = b""
        assert rest == b""
    assert runner.calls == []


def test_the_largest_sync_fits_in_one_line() -> None:
    grants = {f"02:00:00:00:{i >> 8:02x}:{i & 255:02x}": MAX_GRANT_SECONDS for i in range(16384)}
    line = request(verb="sync", grants=grants)
    assert len(line) < MAX_LINE_BYTES
    parsed = parse_request(line)
    assert isinstance(parsed, SyncRequest) and len(parsed.grants) == MAX_SYNC_GRANTS
    grants["02:00:00:01:00:00"] = 60
    with pytest.raises(BadRequest, match="more than"):
        parse_request(request(verb="sync", grants=grants))


def test_refusal_reasons_and_logs_never_quote_a_mac(
    serve: Serve, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="portal.gatekeeper")
    path, _ = serve()
    private = "0a:de:ad:be:ef:01"
    other = "0e:de:ad:be:ef:01"
    replies = exchange(
        path,
        request(verb="grant", mac=private, seconds=0),
        request(verb="grant", mac=other, seconds=60),
        request(verb="revoke", mac=private),
        request(verb="grant", mac=other[:-1], seconds=60),
    )
    assert [reply["ok"] for reply in replies] == [False, True, True, False]
    assert "de:ad:be:ef" not in json.dumps(replies)
    assert "de:ad:be:ef" not in caplog.text
    assert "refused a grant request: seconds" in caplog.text
    assert "granted access for 60 s" in caplog.text


def test_grant_and_revoke_each_run_one_nft_batch(serve: Serve, socket_dir: Path) -> None:
    arp = socket_dir / "arp"
    arp.write_text(
        "IP address       HW type     Flags       HW address            Mask     Device\n"
        f"10.42.0.23       0x1         0x2         {MAC}     *        wlan0\n"
        f"10.42.0.24       0x1         0x2         {OTHER_MAC}     *        wlan0\n"
        f"10.42.0.25       0x1         0x2         {MAC.upper()}     *        wlan0\n"
    )
    path, runner = serve(neighbour_table=arp)
    assert exchange(path, request(verb="grant", mac=MAC.upper(), seconds=3600)) == [{"ok": True}]
    assert runner.calls == [
        (
            ["nft", "-f", "-"],
            f"add element inet portal allowed {{ {MAC} }}\n"
            f"delete element inet portal allowed {{ {MAC} }}\n"
            f"add element inet portal allowed {{ {MAC} timeout 3600s }}\n",
        )
    ]
    runner.calls.clear()
    # conntrack exits 1 when the client had no open connection: still a success.
    assert exchange(path, request(verb="revoke", mac=MAC)) == [{"ok": True}]
    assert runner.calls == [
        (
            ["nft", "-f", "-"],
            f"add element inet portal allowed {{ {MAC} }}\n"
            f"delete element inet portal allowed {{ {MAC} }}\n",
        ),
        (["conntrack", "-D", "-s", "10.42.0.23"], None),
        (["conntrack", "-D", "-s", "10.42.0.25"], None),
    ]


def test_sync_is_one_transaction_that_flushes_first(serve: Serve) -> None:
    path, runner = serve()
    grants = {f"02:00:00:00:{i >> 8:02x}:{i & 255:02x}": 60 + i for i in range(1000)}
    assert exchange(path, request(verb="sync", grants=grants)) == [{"ok": True}]
    [(argv, script)] = runner.calls
    assert argv == ["nft", "-f", "-"] and script is not None
    lines = script.splitlines()
    assert lines[0] == "flush set inet portal allowed"
    assert all(line.startswith("add element inet portal allowed { ") for line in lines[1:])
    assert script.count(" timeout ") == 1000
    assert "02:00:00:00:03:e7 timeout 1059s" in script


def test_nft_failure_is_an_error_reply_with_macs_masked(serve: Serve) -> None:
    path, runner = serve()
    runner.failure = Completed(
        1, "", f"Error: Could not process rule: No such file or directory\nadd {MAC}\n"
    )
    [reply] = exchange(path, request(verb="grant", mac=MAC, seconds=60))
    assert reply == {
        "ok": False,
        "error": "nft exited with status 1: Error: Could not process rule: "
        "No such file or directory",
    }


def test_list_reply_carries_time_left_and_packets(serve: Serve) -> None:
    path, runner = serve()
    [reply] = exchange(path, request(verb="list"))
    assert reply == {"ok": True, "entries": [{"mac": MAC, "seconds_left": 3599, "packets": 7}]}
    assert runner.calls == [(["nft", "-j", "list", "set", "inet", "portal", "allowed"], None)]


def test_set_json_with_bare_elements_and_no_counter() -> None:
    text = json.dumps(
        {"nftables": [{"set": {"elem": [MAC, {"elem": {"val": OTHER_MAC, "expires": 12}}]}}]}
    )
    assert list(parse_set_json(text)) == [
        FirewallEntry(MAC, 0, 0),
        FirewallEntry(OTHER_MAC, 12, 0),
    ]


# --- the caller check ---


@pytest.mark.parametrize(
    ("uid", "allowed"), [(1000, True), (0, True), (1001, False), (NOBODY, False)]
)
def test_only_the_portal_uid_and_root_may_call(uid: int, allowed: bool) -> None:
    assert caller_allowed(Peer(pid=42, uid=uid, gid=uid), allowed_uid=1000) is allowed


def call_as_nobody(path: str) -> dict[str, Any]:
    """Send a list request from a forked child running as uid/gid 65534."""
    read_end, write_end = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child
        status = 1
        try:
            os.close(read_end)
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            [reply] = exchange(path, request(verb="list"))
            os.write(write_end, json.dumps(reply).encode())
            status = 0
        finally:
            os._exit(status)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        output = pipe.read()
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0, "the uid 65534 client failed"
    return dict(json.loads(output))


@needs_root
def test_a_foreign_uid_is_refused_even_when_the_socket_lets_it_connect(
    serve: Serve, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="portal.gatekeeper")
    # World-writable on purpose: only SO_PEERCRED stands between uid 65534 and nft.
    path, runner = serve(allowed_uid=1000, socket_mode=0o666)
    assert call_as_nobody(path) == {"ok": False, "error": "caller not allowed"}
    assert runner.calls == []
    assert f"refused a caller with uid {NOBODY}" in caplog.text


@needs_root
def test_the_allowed_uid_gets_through_the_same_socket(serve: Serve) -> None:
    path, runner = serve(allowed_uid=NOBODY, socket_mode=0o666)
    assert call_as_nobody(path)["ok"] is True
    assert len(runner.calls) == 1


# --- connections ---


def test_a_stuck_client_does_not_block_others_and_is_hung_up_on(serve: Serve) -> None:
    path, _ = serve(connection_timeout=0.5)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as stuck:
        stuck.connect(path)
        stuck.sendall(b'{"verb": "li')  # and nothing more
        started = time.monotonic()
        assert exchange(path, request(verb="list"))[0]["ok"] is True
        assert time.monotonic() - started < 0.4
        stuck.settimeout(5)
        assert stuck.recv(100) == b""  # closed by the server after its timeout


def test_a_caller_is_served_while_the_limit_of_idle_connections_is_open(serve: Serve) -> None:
    path, runner = serve(max_connections=4, connection_timeout=1)
    idle = [socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) for _ in range(4)]
    try:
        for connection in idle:
            connection.connect(path)
        time.sleep(0.2)  # every slot is taken by a caller that says nothing
        started = time.monotonic()
        [reply] = exchange(path, request(verb="list"), timeout=5)
        waited = time.monotonic() - started
        assert reply["ok"] is True
        assert waited < 1.5, f"served after {waited:.1f} s"
        for connection in idle:
            connection.settimeout(2)
            assert connection.recv(100) == b""  # hung up on after its timeout
    finally:
        for connection in idle:
            connection.close()
    assert len(runner.calls) == 1


def test_bound_socket_is_private_to_the_portal_user(socket_dir: Path) -> None:
    path = socket_dir / "private.sock"
    path.write_text("")
    with pytest.raises(RuntimeError, match="not a socket"):
        bind_listener(path, os.getuid(), None)
    path.unlink()
    bind_listener(path, os.getuid(), None).close()
    assert path.stat().st_mode & 0o777 == 0o600
    # A stale socket from a previous run is replaced; a group makes it 0660.
    group = subprocess.run(["id", "-gn"], capture_output=True, text=True, check=True).stdout
    bind_listener(path, os.getuid(), group.strip()).close()
    assert path.stat().st_mode & 0o777 == 0o660
    assert path.stat().st_gid == os.getgid()


# --- how scripts reach nft: libnftables in-process, the nft program as the fallback ---


def loaded_library() -> NftLibrary:
    reason = libnftables_missing()
    if reason is not None:
        pytest.skip(reason)
    return NftLibrary.load()


@pytest.mark.skipif(missing("nft") is not None, reason=str(missing("nft")))
def test_daemon_falls_back_to_the_nft_program_without_libnftables(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="portal.gatekeeper")
    backend = nft_backend(RecordingRunner(), library="libnftables-absent.so.1")
    assert isinstance(backend, NftProgram)
    assert backend.program.startswith("/")
    assert "libnftables-absent.so.1 cannot be loaded" in caplog.text
    assert f"running {backend.program} for each change" in caplog.text


def test_library_reports_a_script_nft_cannot_parse() -> None:
    library = loaded_library()
    try:
        # Refused by nft's parser, before anything reaches the kernel (so no root needed).
        with pytest.raises(NftFailed) as failed:
            library.run(f"add element inet portal allowed {{ {MAC} for ever }}\n")
        assert failed.value.summary == "nft failed"
        assert failed.value.output.startswith("Error: syntax error")
        # The context is still usable, with its error buffer emptied by the read.
        with pytest.raises(NftFailed) as again:
            library.run("flush nonsense\n")
        assert "for ever" not in again.value.output
        with pytest.raises(CommandError, match="NUL"):
            library.run("flush ruleset\0")
    finally:
        library.close()
    with pytest.raises(CommandError, match="closed"):
        library.list_json("ruleset")


# --- the portal's client backend ---


def test_nft_backend_is_the_gatekeeper_client() -> None:
    firewall = make_firewall(Settings())
    assert isinstance(firewall, GatekeeperFirewall)
    assert firewall.socket_path == "/run/passerelle/gatekeeper.sock"


def test_client_raises_gatekeeper_error_when_the_socket_is_absent(socket_dir: Path) -> None:
    firewall = GatekeeperFirewall(socket_dir / "absent.sock", timeout=1)
    with pytest.raises(GatekeeperError, match="unreachable"):
        firewall.grant(MAC, 60)
    assert issubclass(GatekeeperError, FirewallError)


def test_client_raises_gatekeeper_error_when_no_answer_comes(socket_dir: Path) -> None:
    path = socket_dir / "silent.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as silent:
        silent.bind(str(path))
        silent.listen()
        firewall = GatekeeperFirewall(path, timeout=0.3)
        started = time.monotonic()
        with pytest.raises(GatekeeperError, match=r"did not answer within 0\.3 s"):
            firewall.list()
        assert time.monotonic() - started < 2


def test_client_raises_gatekeeper_error_on_a_refusal(serve: Serve) -> None:
    path, runner = serve()
    runner.failure = Completed(1, "", "Error: No such file or directory\n")
    with pytest.raises(GatekeeperError, match="gatekeeper refused revoke: nft exited"):
        GatekeeperFirewall(path).revoke(MAC)


def test_client_speaks_every_verb(serve: Serve) -> None:
    path, runner = serve()
    firewall = GatekeeperFirewall(path)
    firewall.grant(MAC.upper(), 3600)
    firewall.revoke(MAC)
    firewall.sync({MAC: 30, OTHER_MAC: 40})
    assert firewall.list() == [FirewallEntry(MAC, 3599, 7)]
    assert [argv[1] for argv, _ in runner.calls] == ["-f", "-f", "-f", "-j"]
    with pytest.raises(ValueError):
        firewall.grant("not-a-mac", 60)  # refused before it reaches the socket
    assert len(runner.calls) == 4


def scripted_gatekeeper(socket_dir: Path, reply: bytes) -> tuple[GatekeeperFirewall, list[bytes]]:
    """A stand-in gatekeeper that records one request line and answers it with `reply`."""
    path = socket_dir / f"scripted-{uuid.uuid4().hex[:6]}.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen()
    received: list[bytes] = []

    def answer() -> None:
        with listener, listener.accept()[0] as connection:
            data = b""
            while b"\n" not in data and (chunk := connection.recv(65536)):
                data += chunk
            received.append(data)
            with contextlib.suppress(OSError):  # a client refusing a huge reply hangs up
                connection.sendall(reply)

    threading.Thread(target=answer, daemon=True).start()
    return GatekeeperFirewall(path, timeout=5), received


CLIENT_CALLS: dict[str, tuple[Callable[[GatekeeperFirewall], object], bytes, Request]] = {
    "grant": (
        lambda firewall: firewall.grant(MAC.upper(), 3600),
        b'{"verb":"grant","mac":"02:11:22:33:44:55","seconds":3600}\n',
        GrantRequest(MAC, 3600),
    ),
    "revoke": (
        lambda firewall: firewall.revoke(MAC),
        b'{"verb":"revoke","mac":"02:11:22:33:44:55"}\n',
        RevokeRequest(MAC),
    ),
    "list": (lambda firewall: firewall.list(), b'{"verb":"list"}\n', ListRequest()),
    "sync": (
        lambda firewall: firewall.sync({MAC: 30, OTHER_MAC: 40}),
        b'{"verb":"sync","grants":{"02:11:22:33:44:55":30,"02:11:22:33:44:66":40}}\n',
        SyncRequest({MAC: 30, OTHER_MAC: 40}),
    ),
}


@pytest.mark.parametrize("verb", CLIENT_CALLS)
def test_client_sends_each_verb_as_the_line_the_server_parses(socket_dir: Path, verb: str) -> None:
    call, line, parsed = CLIENT_CALLS[verb]
    firewall, received = scripted_gatekeeper(socket_dir, b'{"ok":true,"entries":[]}\n')
    call(firewall)
    assert received == [line]
    assert parse_request(line.removesuffix(b"\n")) == parsed
    assert encode_request(parsed) == line


def test_list_reply_line_reads_back_as_its_entries() -> None:
    line = list_reply([FirewallEntry(MAC, 3599, 7)])
    assert line == (
        b'{"ok":true,"entries":[{"mac":"02:11:22:33:44:55","seconds_left":3599,"packets":7}]}\n'
    )
    assert parse_reply(line.removesuffix(b"\n")).entries() == [FirewallEntry(MAC, 3599, 7)]
    assert parse_reply(ok_reply().removesuffix(b"\n")).error is None
    assert parse_reply(error_reply("caller not allowed")).error == "caller not allowed"


UNUSABLE_REPLIES = {
    "not JSON": (b"ok\n", "gatekeeper sent a malformed reply to list"),
    "not an object": (b"[true]\n", "gatekeeper sent a malformed reply to list"),
    "no ok": (b'{"entries":[]}\n', "gatekeeper sent a malformed reply to list"),
    "ok not a boolean": (b'{"ok":1,"entries":[]}\n', "gatekeeper sent a malformed reply to list"),
    "refusal without a reason": (b'{"ok":false}\n', "gatekeeper refused list: ?"),
    "no entries": (b'{"ok":true}\n', "gatekeeper sent a malformed list"),
    "count as a string": (
        b'{"ok":true,"entries":[{"mac":"02:11:22:33:44:55","seconds_left":"5","packets":0}]}\n',
        "gatekeeper sent a malformed list",
    ),
    "MAC as a number": (
        b'{"ok":true,"entries":[{"mac":5,"seconds_left":5,"packets":0}]}\n',
        "gatekeeper sent a malformed list",
    ),
    "multicast MAC": (
        b'{"ok":true,"entries":[{"mac":"01:00:5e:00:00:01","seconds_left":5,"packets":0}]}\n',
        "gatekeeper sent a malformed list",
    ),
    "cut short": (b'{"ok":tr', "gatekeeper closed the connection without a reply"),
    "nothing": (b"", "gatekeeper closed the connection without a reply"),
    "too large": (b" " * (MAX_REPLY_BYTES + 65536), "gatekeeper reply too large"),
}


@pytest.mark.parametrize(("reply", "message"), UNUSABLE_REPLIES.values(), ids=UNUSABLE_REPLIES)
def test_client_turns_an_unusable_reply_into_a_gatekeeper_error(
    socket_dir: Path, reply: bytes, message: str
) -> None:
    firewall, _ = scripted_gatekeeper(socket_dir, reply)
    with pytest.raises(GatekeeperError) as raised:
        firewall.list()
    assert str(raised.value) == message


BAD_ARGUMENTS: dict[str, tuple[Callable[[Firewall], None], str]] = {
    "multicast MAC": (
        lambda firewall: firewall.grant("01:00:5e:00:00:01", 60),
        "mac is not a unicast MAC address",
    ),
    "short MAC": (
        lambda firewall: firewall.revoke("02:11:22:33:44"),
        "mac is not a unicast MAC address",
    ),
    "zero seconds": (
        lambda firewall: firewall.grant(MAC, 0),
        "seconds: grant length must be 1..604800 seconds, got 0",
    ),
    "over a week": (
        lambda firewall: firewall.grant(MAC, 604801),
        "seconds: grant length must be 1..604800 seconds, got 604801",
    ),
    "seconds as bool": (lambda firewall: firewall.grant(MAC, True), "seconds must be an integer"),
    "one MAC twice": (
        lambda firewall: firewall.sync({"02:ab:00:00:00:01": 60, "02:AB:00:00:00:01": 60}),
        "grants names the same MAC twice",
    ),
}


@pytest.mark.parametrize(("call", "reason"), BAD_ARGUMENTS.values(), ids=BAD_ARGUMENTS)
@pytest.mark.parametrize("backend", ["memory", "gatekeeper client"])
def test_both_backends_refuse_what_the_gatekeeper_refuses_before_any_change(
    socket_dir: Path, backend: str, call: Callable[[Firewall], None], reason: str
) -> None:
    # The client's socket does not exist: reaching it would be a GatekeeperError instead.
    firewall: Firewall = (
        MemoryFirewall() if backend == "memory" else GatekeeperFirewall(socket_dir / "absent.sock")
    )
    with pytest.raises(BadRequest) as refused:
        call(firewall)
    assert refused.value.reason == reason
    if isinstance(firewall, MemoryFirewall):
        assert firewall.list() == []


# --- one owner for the vocabulary: the gatekeeper imports nothing from the web side ---

GATEKEEPER_MODULES = [
    "portal.gatekeeper.allowed_set",
    "portal.gatekeeper.commands",
    "portal.gatekeeper.daemon",
    "portal.gatekeeper.dns_switch",
    "portal.gatekeeper.neighbours",
    "portal.gatekeeper.nft",
    "portal.gatekeeper.protocol",
    "portal.gatekeeper.server",
]


def modules_loaded_by(*names: str) -> set[str]:
    """Every module a fresh interpreter holds after importing `names`."""
    code = (
        "import importlib, json, sys\n"
        "for name in sys.argv[1:]: importlib.import_module(name)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, *names],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return set(json.loads(done.stdout))


def test_the_gatekeeper_loads_no_web_side_module() -> None:
    package = PROJECT_ROOT / "portal" / "gatekeeper"
    assert sorted(f"portal.gatekeeper.{p.stem}" for p in package.glob("[!_]*.py")) == (
        GATEKEEPER_MODULES
    )
    loaded = modules_loaded_by(*GATEKEEPER_MODULES)
    assert sorted(name for name in loaded if name.split(".")[0] == "portal") == [
        "portal",
        "portal.gatekeeper",
        *GATEKEEPER_MODULES,
    ]
    assert {"flask", "werkzeug", "jinja2", "peewee", "scapy"} & loaded == set()


def test_the_web_side_takes_its_vocabulary_from_the_gatekeeper() -> None:
    loaded = modules_loaded_by("portal.access.gatekeeper_client", "portal.clients")
    assert {
        "portal.access.firewall",
        "portal.gatekeeper.neighbours",
        "portal.gatekeeper.protocol",
    } <= loaded
    assert "portal.gatekeeper.server" not in loaded


def test_daemon_takes_its_socket_from_systemd(socket_dir: Path) -> None:
    require("nft")  # the daemon needs libnftables or the nft program to start
    path = socket_dir / "activated.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen()
    # Like systemd: the socket on fd 3, LISTEN_PID naming the process that execs the daemon.
    launcher = (
        "import os, sys; os.dup2(int(sys.argv[1]), 3);"
        "os.environ.update(LISTEN_PID=str(os.getpid()), LISTEN_FDS='1');"
        "os.execv(sys.executable, [sys.executable, '-m', 'portal.gatekeeper.daemon',"
        f" '--allow-uid', '{os.getuid()}'])"
    )
    daemon = subprocess.Popen(
        [sys.executable, "-c", launcher, str(listener.fileno())],
        pass_fds=[listener.fileno()],
        cwd=PROJECT_ROOT,
        stderr=subprocess.PIPE,
        text=True,
    )
    listener.close()
    try:
        [reply] = exchange(str(path), request(verb="flush"), timeout=20)
        assert reply == {"ok": False, "error": "unknown verb"}
    finally:
        daemon.terminate()
        _, stderr = daemon.communicate(timeout=10)
    assert daemon.returncode == 0
    assert "refused a malformed request: unknown verb" in stderr
    assert path.exists()  # systemd's socket: not ours to remove


def test_daemon_without_a_socket_says_what_to_pass() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "portal.gatekeeper.daemon", "--allow-uid", "0"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 2
    assert "pass --socket PATH" in done.stderr


# --- the real kernel: nft and conntrack in the project's own network namespaces ---

HOTSPOT_ADDRESS, CLIENT_ADDRESS = "10.99.0.1", "10.99.0.2"
TEST_RULESET = """
table inet portal {
    set allowed { type ether_addr; flags timeout; counter; }
    chain input {
        type filter hook input priority 0; policy accept;
        ether saddr @allowed accept
        ct state invalid drop
    }
}
"""


def run_in(namespace: str, *argv: str, stdin: str | None = None) -> str:
    done = subprocess.run(
        ["ip", "netns", "exec", namespace, *argv],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return done.stdout


class Hotspot:
    """A namespace holding the `inet portal` table, a client namespace, and a real daemon."""

    def __init__(self, name: str, client: str, socket_path: Path, daemon_log: Path) -> None:
        self.name = name
        self.client = client
        self.socket_path = socket_path
        self.daemon_log = daemon_log
        self.firewall = GatekeeperFirewall(socket_path)

    def kernel_set(self) -> dict[str, dict[str, Any]]:
        """The set's elements as nft itself reports them, read without the gatekeeper."""
        text = run_in(self.name, "nft", "-j", "list", "set", "inet", "portal", "allowed")
        elements = {}
        for item in json.loads(text)["nftables"]:
            for element in item.get("set", {}).get("elem", []):
                elements[element["elem"]["val"]] = element["elem"]
        return elements

    def client_sends_udp(self, count: int) -> None:
        sender = (
            "import socket, sys\n"
            "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
            "for _ in range(int(sys.argv[2])): s.sendto(b'hello', (sys.argv[1], 9))\n"
        )
        run_in(self.client, sys.executable, "-c", sender, HOTSPOT_ADDRESS, str(count))

    def connections_from_client(self) -> str:
        return run_in(self.name, "conntrack", "-L", "-s", CLIENT_ADDRESS)


@pytest.fixture
def hotspot(socket_dir: Path) -> Iterator[Hotspot]:
    if not ROOT:
        pytest.skip("needs root: network namespaces and nft")
    require("ip", "nft", "conntrack")
    tag = uuid.uuid4().hex[:8]
    name, client = f"gk-test-{tag}", f"gk-test-{tag}-c"
    created: list[str] = []
    daemon: subprocess.Popen[bytes] | None = None
    try:
        for namespace in (name, client):
            subprocess.run(["ip", "netns", "add", namespace], check=True)
            created.append(namespace)
        subprocess.run(
            [
                "ip",
                "-n",
                name,
                "link",
                "add",
                "gkh0",
                "type",
                "veth",
                "peer",
                "gkc0",
                "netns",
                client,
            ],
            check=True,
        )
        run_in(name, "ip", "link", "set", "lo", "up")
        run_in(name, "ip", "addr", "add", f"{HOTSPOT_ADDRESS}/24", "dev", "gkh0")
        run_in(name, "ip", "link", "set", "gkh0", "up")
        run_in(client, "ip", "link", "set", "gkc0", "address", MAC)
        run_in(client, "ip", "addr", "add", f"{CLIENT_ADDRESS}/24", "dev", "gkc0")
        run_in(client, "ip", "link", "set", "gkc0", "up")
        run_in(name, "nft", "-f", "-", stdin=TEST_RULESET)
        socket_path = socket_dir / "gatekeeper.sock"
        daemon_log = socket_dir / "gatekeeper.log"
        with daemon_log.open("wb") as log_file:  # the daemon keeps its own descriptor
            daemon = subprocess.Popen(
                [
                    "ip",
                    "netns",
                    "exec",
                    name,
                    sys.executable,
                    "-m",
                    "portal.gatekeeper.daemon",
                    "--socket",
                    str(socket_path),
                    "--allow-uid",
                    "0",
                    "--wifi-interface",
                    "gkh0",
                ],
                cwd=PROJECT_ROOT,
                stderr=log_file,
            )
        deadline = time.monotonic() + 20
        while not socket_path.exists():
            assert daemon.poll() is None, "gatekeeper exited during start-up"
            assert time.monotonic() < deadline, "gatekeeper did not create its socket"
            time.sleep(0.05)
        yield Hotspot(name, client, socket_path, daemon_log)
    finally:
        if daemon is not None:
            daemon.terminate()
            daemon.wait(timeout=10)
        for namespace in created:
            subprocess.run(["ip", "netns", "delete", namespace], check=False)


@pytest.mark.netns
def test_nft_accepts_a_counter_on_the_set(hotspot: Hotspot) -> None:
    listing = run_in(hotspot.name, "nft", "list", "set", "inet", "portal", "allowed")
    assert "counter" in listing


@pytest.mark.netns
def test_grant_puts_the_mac_in_the_kernel_set_with_its_timeout(hotspot: Hotspot) -> None:
    hotspot.firewall.grant(MAC, 3600)
    element = hotspot.kernel_set()[MAC]
    assert element["timeout"] == 3600
    assert 3590 <= element["expires"] <= 3600
    hotspot.firewall.grant(MAC, 60)  # a new grant replaces the remaining time
    assert hotspot.kernel_set()[MAC]["timeout"] == 60


@pytest.mark.netns
def test_list_shows_time_left_and_counts_the_clients_packets(hotspot: Hotspot) -> None:
    hotspot.firewall.grant(MAC, 3600)
    [entry] = hotspot.firewall.list()
    assert entry.mac == MAC and 3590 <= entry.seconds_left <= 3600 and entry.packets == 0
    hotspot.client_sends_udp(5)
    [entry] = hotspot.firewall.list()
    assert entry.packets >= 5  # the 5 datagrams, plus any IPv6 neighbour discovery it sent


@pytest.mark.netns
def test_counters_give_the_bytes_each_client_carried(hotspot: Hotspot) -> None:
    hotspot.firewall.grant(MAC, 3600)
    hotspot.firewall.grant(OTHER_MAC, 3600)
    assert hotspot.firewall.counters() == {MAC: 0, OTHER_MAC: 0}
    hotspot.client_sends_udp(5)
    carried = hotspot.firewall.counters()
    assert carried[OTHER_MAC] == 0
    assert carried[MAC] >= 5 * 28  # five datagrams: each at least its IPv4 and UDP headers
    hotspot.firewall.grant(MAC, 3600)  # a re-grant restarts the element's counter
    assert hotspot.firewall.counters()[MAC] == 0


@pytest.mark.netns
def test_revoke_removes_the_mac_and_the_clients_connections(hotspot: Hotspot) -> None:
    hotspot.firewall.grant(MAC, 3600)
    hotspot.firewall.grant(OTHER_MAC, 3600)
    hotspot.client_sends_udp(1)
    assert CLIENT_ADDRESS in hotspot.connections_from_client()
    hotspot.firewall.revoke(MAC)
    assert set(hotspot.kernel_set()) == {OTHER_MAC}
    assert CLIENT_ADDRESS not in hotspot.connections_from_client()
    hotspot.firewall.revoke(MAC)  # revoking twice is not an error


@pytest.mark.netns
def test_sync_makes_the_set_hold_exactly_the_grants(hotspot: Hotspot) -> None:
    hotspot.firewall.grant(MAC, 3600)
    hotspot.firewall.sync({OTHER_MAC: 100, "02:aa:bb:cc:dd:ee": 200})
    elements = hotspot.kernel_set()
    assert {mac: e["timeout"] for mac, e in elements.items()} == {
        OTHER_MAC: 100,
        "02:aa:bb:cc:dd:ee": 200,
    }
    many = {f"02:00:00:00:{i >> 8:02x}:{i & 255:02x}": 600 + i for i in range(10_000)}
    hotspot.firewall.sync(many)
    entries = hotspot.firewall.list()
    assert len(entries) == 10_000 and {entry.mac for entry in entries} == set(many)
    hotspot.firewall.sync({})
    assert hotspot.kernel_set() == {}


@pytest.mark.netns
def test_missing_table_becomes_a_gatekeeper_error(hotspot: Hotspot) -> None:
    run_in(hotspot.name, "nft", "delete", "table", "inet", "portal")
    with pytest.raises(GatekeeperError, match="nft failed: Error: No such file or directory"):
        hotspot.firewall.grant(MAC, 60)
    with pytest.raises(GatekeeperError, match="nft failed: Error: No such file or directory"):
        hotspot.firewall.list()


@pytest.mark.netns
def test_daemon_applies_changes_in_process_through_libnftables(hotspot: Hotspot) -> None:
    hotspot.firewall.grant(MAC, 60)
    assert MAC in hotspot.kernel_set()
    log = hotspot.daemon_log.read_text()
    assert "applying nft batches in-process through libnftables.so.1" in log
    assert "for each change" not in log


# Drives one nft backend from inside a namespace, as the daemon under `ip netns exec` does.
BACKEND_STEP = """
import json, sys
from pathlib import Path
from portal.gatekeeper.allowed_set import AllowedSet, SetError
from portal.gatekeeper.commands import SubprocessRunner
from portal.gatekeeper.nft import NftLibrary, NftProgram

kind, step, mac = sys.argv[1:]
run = SubprocessRunner()
nft = NftLibrary.load() if kind == "library" else NftProgram(run, "nft")
allowed = AllowedSet(nft, run, conntrack=None, neighbour_table=Path("/nonexistent"))
if step == "grant":
    allowed.grant(mac, 3600)
elif step == "revoke":
    allowed.revoke(mac)
elif step == "break":
    nft.run("delete table inet portal\\n")
    try:
        allowed.grant(mac, 60)
    except SetError as error:
        print(json.dumps(str(error)))
    raise SystemExit
print(json.dumps([[e.mac, e.seconds_left] for e in allowed.entries()]))
"""


@pytest.mark.netns
@pytest.mark.parametrize("kind", ["library", "program"])
def test_each_nft_backend_changes_the_namespaces_set(hotspot: Hotspot, kind: str) -> None:
    def step(name: str) -> Any:
        output = run_in(hotspot.name, sys.executable, "-c", BACKEND_STEP, kind, name, MAC)
        return json.loads(output)

    [[mac, seconds_left]] = step("grant")
    assert mac == MAC and 3590 <= seconds_left <= 3600
    assert hotspot.kernel_set()[MAC]["timeout"] == 3600  # as nft itself sees the namespace
    host = subprocess.run(
        ["nft", "list", "set", "inet", "portal", "allowed"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert MAC not in host.stdout  # the namespace's set changed, not the host's
    assert step("revoke") == []
    assert hotspot.kernel_set() == {}
    error = step("break")
    summary = "nft failed" if kind == "library" else "nft exited with status 1"
    assert error.startswith(f"{summary}: ")
    assert "No such file or directory" in error
    assert MAC not in error


# --- the dns verb: switching dnsmasq's files, then SIGHUP ---


def dnsmasq_stand_in(folder: Path) -> subprocess.Popen[str]:
    """A process named dnsmasq that, like dnsmasq, re-reads its two DNS files on SIGHUP (and
    prints their last lines)."""
    files = [str(folder / "dns-servers.conf"), str(folder / "dns-hosts")]
    script = (
        "import signal, time\n"
        "open('/proc/self/comm', 'w').write('dnsmasq')\n"
        "def hup(*_):\n"
        f"    print(*(open(f).read().splitlines()[-1] for f in {files!r}), flush=True)\n"
        "signal.signal(signal.SIGHUP, hup)\n"
        "print('ready', flush=True)\n"
        "while True: time.sleep(1)\n"
    )
    process = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None and process.stdout.readline() == "ready\n"
    (folder / "dnsmasq.pid").write_text(f"{process.pid}\n", encoding="ascii")
    return process


def rendered_variants(folder: Path) -> None:
    for state in ("up", "down"):
        (folder / f"dns-servers-{state}.conf").write_text(f"server=9.9.9.9\n# servers {state}\n")
        (folder / f"dns-hosts-{state}").write_text(f"# hosts {state}\n")


@pytest.fixture
def dnsmasq(socket_dir: Path) -> Iterator[subprocess.Popen[str]]:
    rendered_variants(socket_dir)
    process = dnsmasq_stand_in(socket_dir)
    yield process
    process.kill()
    process.wait()


def dns(path: str, uplink: object) -> dict[str, Any]:
    [reply] = exchange(path, request(verb="dns", uplink=uplink))
    return reply


def test_the_dns_verb_switches_both_files_and_has_dnsmasq_reread_them(
    serve: Serve, socket_dir: Path, dnsmasq: subprocess.Popen[str]
) -> None:
    path, _ = serve(dns=DnsSwitch(socket_dir, socket_dir / "dnsmasq.pid"))
    assert dns(path, "down") == {"ok": True}
    assert dnsmasq.stdout is not None
    assert dnsmasq.stdout.readline() == "# servers down # hosts down\n"
    # Asked again for what dnsmasq has: no SIGHUP (it would empty dnsmasq's cache).
    assert dns(path, "down") == {"ok": True}
    assert dns(path, "up") == {"ok": True}
    assert dnsmasq.stdout.readline() == "# servers up # hosts up\n"  # no second "down"
    assert oct((socket_dir / "dns-servers.conf").stat().st_mode & 0o777) == "0o644"
    # Files re-rendered (other upstreams), same state: dnsmasq is told again.
    (socket_dir / "dns-servers-up.conf").write_text("server=1.1.1.1\n# servers up again\n")
    assert dns(path, "up") == {"ok": True}
    assert dnsmasq.stdout.readline() == "# servers up again # hosts up\n"


def test_a_failed_signal_is_sent_again_at_the_next_request(
    serve: Serve, socket_dir: Path, dnsmasq: subprocess.Popen[str]
) -> None:
    path, _ = serve(dns=DnsSwitch(socket_dir, socket_dir / "dnsmasq.pid"))
    real_pid = (socket_dir / "dnsmasq.pid").read_text()
    (socket_dir / "dnsmasq.pid").write_text("4194304999\n")  # no such process
    assert dns(path, "down") == {"ok": False, "error": "dnsmasq is not running"}
    (socket_dir / "dnsmasq.pid").write_text(real_pid)
    assert dns(path, "down") == {"ok": True}  # the files are in place already: still told
    assert dnsmasq.stdout is not None
    assert dnsmasq.stdout.readline() == "# servers down # hosts down\n"


def test_the_signal_goes_to_dnsmasq_only(serve: Serve, socket_dir: Path) -> None:
    rendered_variants(socket_dir)
    other = subprocess.Popen(["sleep", "60"])  # SIGHUP would end it
    try:
        (socket_dir / "dnsmasq.pid").write_text(f"{other.pid}\n")
        path, _ = serve(dns=DnsSwitch(socket_dir, socket_dir / "dnsmasq.pid"))
        assert dns(path, "down") == {
            "ok": False,
            "error": "dnsmasq's pid file names another program",
        }
        assert other.poll() is None
    finally:
        other.kill()
        other.wait()


def test_a_linked_variant_is_refused_and_nothing_is_switched(
    serve: Serve, socket_dir: Path, dnsmasq: subprocess.Popen[str]
) -> None:
    path, _ = serve(dns=DnsSwitch(socket_dir, socket_dir / "dnsmasq.pid"))
    assert dns(path, "up") == {"ok": True}
    secret = socket_dir / "secret"
    secret.write_text("root:$6$hash\n")
    secret.chmod(0o600)
    (socket_dir / "dns-hosts-down").unlink()
    (socket_dir / "dns-hosts-down").symlink_to(secret)
    assert dns(path, "down") == {
        "ok": False,
        "error": "cannot read dns-hosts-down: Too many levels of symbolic links",
    }
    # Neither file changed: never the servers of one state with the hosts of the other.
    assert (socket_dir / "dns-servers.conf").read_text().endswith("# servers up\n")
    assert (socket_dir / "dns-hosts").read_text() == "# hosts up\n"


@pytest.mark.parametrize("uplink", ["sideways", True, None, ""])
def test_a_dns_request_names_up_or_down(serve: Serve, socket_dir: Path, uplink: object) -> None:
    path, _ = serve(dns=DnsSwitch(socket_dir, socket_dir / "dnsmasq.pid"))
    assert dns(path, uplink) == {"ok": False, "error": 'uplink must be "up" or "down"'}


def test_dns_switching_refuses_what_it_cannot_do(serve: Serve, socket_dir: Path) -> None:
    unset, _ = serve()
    assert dns(unset, "up") == {
        "ok": False,
        "error": "DNS switching is not set up (--dns-folder)",
    }
    path, _ = serve(dns=DnsSwitch(socket_dir, socket_dir / "dnsmasq.pid"))
    assert dns(path, "up") == {
        "ok": False,
        "error": "cannot read dns-servers-up.conf: No such file or directory",
    }
    rendered_variants(socket_dir)
    (socket_dir / "dnsmasq.pid").write_text("12; rm -rf /\n")
    assert dns(path, "up") == {"ok": False, "error": "dnsmasq's pid file holds no process number"}


def test_the_daemon_takes_a_dns_folder_only_root_may_write(socket_dir: Path) -> None:
    from portal.gatekeeper.daemon import StartError, _dns_switch, _parse

    open_folder = socket_dir / "open"
    open_folder.mkdir()
    open_folder.chmod(0o777)
    folder = ["--dns-folder", str(open_folder)]
    args = _parse(["--allow-uid", "0", *folder, "--dnsmasq-pid-file", "/x"])
    with pytest.raises(StartError, match="must be a folder only root may write"):
        _dns_switch(args)
    alone = _parse(["--allow-uid", "0", *folder])
    with pytest.raises(StartError, match="go together"):
        _dns_switch(alone)
