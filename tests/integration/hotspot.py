"""A whole hotspot on one Linux kernel: the Pi, the Internet and two phones, in network namespaces.

    hotspot ("the Pi")   wlan0: a bridge, 10.42.0.1/24, one isolated port per phone
                         (hostapd's ap_isolate); eth0: 198.51.100.2/24 and 2001:db8:1::2/64.
                         The rendered portal.nft and dnsmasq.conf, the gatekeeper (root),
                         `portal serve` and `portal housekeep` as uid 65534 without any
                         capability, its admin pages on port 8081 of eth0 only
                         (network.admin_address "": the socket is bound to the uplink).
    upstream ("the Internet")  wan0: 198.51.100.1/24 and 2001:db8:1::1/64: HTTP
                         ("upstream-ok"), a TCP echo server, recorders on TCP 853 and
                         UDP 443, DNS (dnsmasq); 192.168.77.10, the commune's LAN host.
    phone1, phone2       eth0 into the bridge; an address by real DHCP from the Pi.
    crowd phones         (`crowd=N`, for benchmarks) eth0 into the bridge, no address yet:
                         the benchmark's phones ask DHCP themselves (bench/join_storm.py).

Namespace names carry a random suffix, so runs never collide; nothing outside
these namespaces (and loopback) is touched. `Hotspot.start()` builds it all,
`stop()` tears it down, also after a half-finished start. Benchmarks reuse it.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from tests.certificates import Authority, Issued
from tests.integration.processes import (
    Process,
    TopologyError,
    checkout_script,
    clean_env,
    run,
    wait_for,
    words,
)
from tests.online_answers import PROBE_HOSTNAMES
from tests.system import missing

HERE = Path(__file__).resolve().parent
NOBODY = 65534
NETNS_DIR = Path("/etc/netns")
"""`ip netns exec NS` bind-mounts /etc/netns/NS/resolv.conf over /etc/resolv.conf."""

PORTAL_ADDRESS = "10.42.0.1"
PORTAL_HOSTNAME = "passerelle.lan"
PORTAL_URL = f"http://{PORTAL_HOSTNAME}/"
ADMIN_PORT = 8081
UPSTREAM_ADDRESS = "198.51.100.1"
UPLINK_ADDRESS = "198.51.100.2"
UPSTREAM_ADDRESS6 = "2001:db8:1::1"
UPLINK_ADDRESS6 = "2001:db8:1::2"
GUEST_NETWORK6 = "2001:db8:42::/64"
"""Where a phone's global IPv6 address would come from, were the Pi to route one."""
COMMUNE_LAN_ADDRESS = "192.168.77.10"
ECHO_PORT = 7
HTTPS_PORT = 443
"""The stand-in Internet's TCP 443: a phone with access reaches it (an HTTPS probe)."""
PHONE_LISTENER_PORT = 8080
UPSTREAM_BODY = "upstream-ok"
COMMUNE_BODY = "commune-lan"
CHECK_INTERVAL_SECONDS = 5
CHECK_TIMEOUT_SECONDS = 3
"""The uplink monitor's TCP connect timeout (portal.uplink.UplinkMonitor's default)."""
SESSION_MINUTES = 20
CROWD_PER_24 = 200
"""Crowds from this size on get a /22 Wi-Fi network (more addresses than a /24 has)."""
UPSTREAM_NAMES = (
    "example.test",
    # The stand-in Internet serves every probe host, as Google, Microsoft, Apple
    # and the others do: while the uplink is up the Pi's DNS gives their real address.
    *PROBE_HOSTNAMES,
)
AS_NOBODY = words(
    f"setpriv --reuid={NOBODY} --regid={NOBODY} --clear-groups"
    " --inh-caps=-all --bounding-set=-all --no-new-privs"
)


def portal_toml(
    data_dir: Path,
    socket_path: Path,
    tls: Issued | None = None,
    identity: str = "mac",
    prefix_length: int = 24,
) -> str:
    """The hotspot's portal.toml: production settings with quick uplink checks; with `tls`,
    a certificate for PORTAL_HOSTNAME; `identity` is network.client_identity."""
    https = (
        f'\n[tls]\ncertificate_file = "{tls.certificate}"\nkey_file = "{tls.key}"\n' if tls else ""
    )
    return f"""\
[site]
name = "Passerelle E2E"

[access]
session_minutes = {SESSION_MINUTES}

[network]
wifi_interface = "wlan0"
uplink_interface = "eth0"
portal_address = "{PORTAL_ADDRESS}"
prefix_length = {prefix_length}
portal_port = 80
admin_port = {ADMIN_PORT}
portal_hostname = "{PORTAL_HOSTNAME}"
client_identity = "{identity}"
dns_upstreams = ["{UPSTREAM_ADDRESS}"]

[storage]
data_dir = "{data_dir}"

[uplink]
check_targets = ["{UPSTREAM_ADDRESS}:80"]
check_interval_seconds = {CHECK_INTERVAL_SECONDS}
dns_check_name = "example.test"
down_after_failures = 1
up_after_successes = 1

[firewall]
backend = "nft"
gatekeeper_socket = "{socket_path}"
{https}"""


@dataclass(frozen=True)
class HttpAnswer:
    status: int
    headers: dict[str, str]
    """Header names in lower case."""
    content: bytes
    """The body, byte for byte."""

    @property
    def body(self) -> str:
        return self.content.decode("utf-8", errors="replace")


def parse_curl_include(output: bytes) -> HttpAnswer:
    """`curl -i` output of one response: CRLF-separated headers, then the body as sent."""
    head, _, content = output.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return HttpAnswer(int(status_line.split()[1]), headers, content)


@dataclass
class Phone:
    """A client namespace and what DHCP gave it."""

    namespace: str
    mac: str
    lease: dict[str, Any] = field(default_factory=dict)
    """tests/integration/dhcp_client.py's answer: address, offer and ack options."""

    @property
    def address(self) -> str:
        return str(self.lease["address"])


class EchoSession:
    """A phone holding one TCP connection to the upstream echo server (phone.py hold)."""

    def __init__(self, popen: subprocess.Popen[str]) -> None:
        self._popen = popen
        greeting = self._outcome()
        if greeting != "connected":
            self.close()
            raise TopologyError(f"echo connection failed: {greeting}")

    def _outcome(self) -> str:
        assert self._popen.stdout is not None
        line = self._popen.stdout.readline()
        return str(json.loads(line)["outcome"]) if line else "fail: phone.py ended"

    def echo(self, message: str = "ping") -> str:
        """ "ok" when the message came back through the open connection, else "fail ..."."""
        assert self._popen.stdin is not None
        self._popen.stdin.write(message + "\n")
        self._popen.stdin.flush()
        return self._outcome()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            if self._popen.stdin is not None:
                self._popen.stdin.close()
        try:
            self._popen.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._popen.kill()
            self._popen.wait()

    def __enter__(self) -> EchoSession:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


class Hotspot:
    """Builds, runs and tears down the namespaces and every process in them."""

    def __init__(
        self,
        bin_dir: Path,
        suffix: str | None = None,
        *,
        tls: bool = False,
        identity: str = "mac",
        crowd: int = 0,
    ) -> None:
        self.bin = bin_dir
        """The installed portal's scripts, which uid 65534 can run wherever the checkout is."""
        self.suffix = suffix or secrets.token_hex(3)
        prefix = f"pz{self.suffix}"
        self.hotspot_ns = f"{prefix}-pi"
        self.upstream_ns = f"{prefix}-net"
        self.phones = [
            Phone(f"{prefix}-phone1", "02:50:41:53:00:01"),
            Phone(f"{prefix}-phone2", "02:50:41:53:00:02"),
        ]
        self.crowd = [
            Phone(f"{prefix}-c{number}", f"02:50:41:54:{number >> 8:02x}:{number & 0xFF:02x}")
            for number in range(crowd)
        ]
        """Phones plugged into the Wi-Fi bridge without an address (they ask DHCP themselves)."""
        self.prefix_length = 24 if crowd < CROWD_PER_24 else 22
        """The Wi-Fi's prefix: a /24 leaves DHCP 253 addresses, a /22 some thousand."""
        self.workdir = Path(tempfile.mkdtemp(prefix="passerelle-e2e-"))
        self.workdir.chmod(0o755)  # uid 65534 must reach its config, socket and data
        self.logs = self.workdir / "logs"
        self.data_dir = self.workdir / "data"
        self.config_dir = self.workdir / "rendered"
        self.socket_path = self.workdir / "gatekeeper" / "gatekeeper.sock"
        self.dnsmasq_pid = self.workdir / "dnsmasq.pid"
        self.lease_file = self.data_dir / "dnsmasq.leases"
        self.config_file = self.workdir / "portal.toml"
        self.upstream_record = self.workdir / "upstream-record.log"
        self.env = clean_env(self.workdir / "home-root", bin_dir)
        self.nobody_env = clean_env(self.workdir / "home-nobody", bin_dir)
        self.identity = identity
        """network.client_identity: "address" lets a benchmark's crowd of phones come from
        loopback addresses of the Pi's own namespace (no Wi-Fi frames, so no MACs)."""
        self.authority = Authority(self.workdir / "tls") if tls else None
        """With `tls`: a CA made here, whose certificate for PORTAL_HOSTNAME the portal serves.
        Everything run in the namespaces trusts it (SSL_CERT_FILE, read by OpenSSL), as phones
        and the Pi trust the authority that issued a commune's certificate."""
        if self.authority is not None:
            # The portal's own checks trust it too (render-config as root, serve as nobody).
            for env in (self.env, self.nobody_env):
                env["SSL_CERT_FILE"] = str(self.authority.ca_file)
        self.namespaces: list[str] = []
        self.processes: dict[str, Process] = {}
        self._made_netns_dir = False

    # --- running things in the namespaces ---

    def run_in(
        self, namespace: str, argv: Sequence[str], *, stdin: str | None = None, timeout: float = 30
    ) -> str:
        """Run a command in `namespace` as root; its stdout (TopologyError if it fails)."""
        argv = ["ip", "netns", "exec", namespace, *argv]
        return run(argv, stdin=stdin, timeout=timeout, env=self.env)

    def run_in_hotspot(self, argv: Sequence[str], **kwargs: Any) -> str:
        return self.run_in(self.hotspot_ns, argv, **kwargs)

    @contextlib.contextmanager
    def wifi_input_opened(self, port: int, comment: str) -> Iterator[None]:
        """The ruleset's wifi_input chain accepts TCP to `port` for the length of the block:
        one rule, marked `comment`, put first and deleted after by its handle."""
        rule = f"tcp dport {port} accept comment {comment}"
        chain = ["inet", "portal", "wifi_input"]
        self.run_in_hotspot(["nft", "insert", "rule", *chain, *rule.split()])
        try:
            yield
        finally:
            listed = json.loads(self.run_in_hotspot(["nft", "-j", "-a", "list", "chain", *chain]))
            for item in listed["nftables"]:
                if item.get("rule", {}).get("comment") == comment:
                    handle = str(item["rule"]["handle"])
                    self.run_in_hotspot(["nft", "delete", "rule", *chain, "handle", handle])

    def run_in_upstream(self, argv: Sequence[str], **kwargs: Any) -> str:
        return self.run_in(self.upstream_ns, argv, **kwargs)

    def run_in_client(self, argv: Sequence[str], phone: int = 0, **kwargs: Any) -> str:
        return self.run_in(self.phones[phone].namespace, argv, **kwargs)

    def ip(self, namespace: str, command: str) -> None:
        """`ip -n NAMESPACE ...`, the command written as words."""
        run(["ip", "-n", namespace, *command.split()], env=self.env)

    def ip_batch(self, namespace: str, commands: str) -> None:
        """`ip -n NAMESPACE -batch -`: one line per command, one process for them all."""
        run(["ip", "-n", namespace, "-batch", "-"], stdin=commands, env=self.env)

    def sysctl(self, namespace: str, key: str, value: str) -> None:
        """Set a per-namespace kernel setting (/proc/sys/net is the writer's namespace's)."""
        path = "/proc/sys/" + key.replace(".", "/")
        self.run_in(namespace, ["tee", path], stdin=value + "\n")

    def phone_tool(self, namespace: str, *args: str, timeout: float = 30) -> dict[str, Any]:
        """Run tests/integration/phone.py in `namespace`; its JSON answer."""
        argv = checkout_script(HERE / "phone.py", *args)
        result: dict[str, Any] = json.loads(self.run_in(namespace, argv, timeout=timeout))
        return result

    def fetch(self, namespace: str, url: str, timeout: float = 5) -> HttpAnswer | None:
        """GET `url` with curl from `namespace` (names resolved there; an https:// certificate
        checked against the hotspot's CA, if any); None when it fails."""
        trust = f"--cacert {self.authority.ca_file} " if self.authority else ""
        curl = words(f"curl -s -i -4 --noproxy * {trust}--max-time {timeout}", url)
        done = subprocess.run(
            ["ip", "netns", "exec", namespace, *curl],
            capture_output=True,
            timeout=timeout + 10,
            check=False,
            env=self.env,
        )
        return parse_curl_include(done.stdout) if done.returncode == 0 else None

    def doctor(self, namespace: str, *args: str) -> subprocess.CompletedProcess[str]:
        """`portal doctor` with the hotspot's portal.toml, as root in `namespace`."""
        argv = [str(self.bin / "portal"), "doctor", "--config", str(self.config_file), *args]
        return subprocess.run(
            ["ip", "netns", "exec", namespace, *argv],
            capture_output=True, text=True, timeout=120, check=False, env=self.env,
        )  # fmt: skip

    def spawn(
        self, name: str, namespace: str, argv: Sequence[str], *, as_nobody: bool = False
    ) -> Process:
        """Start a long-running process in `namespace` (as uid 65534 without capabilities)."""
        self.logs.mkdir(exist_ok=True)
        prefix = ["ip", "netns", "exec", namespace, *(AS_NOBODY if as_nobody else [])]
        env = self.nobody_env if as_nobody else self.env
        process = Process.start(name, [*prefix, *argv], self.logs / f"{name}.log", env)
        self.processes[name] = process
        return process

    def wait_alive(self, name: str, check: Callable[[], bool], what: str) -> None:
        """wait_for(check), failing at once with its log if process `name` dies meanwhile."""
        process = self.processes[name]

        def alive_and_ready() -> bool:
            if not process.alive():
                raise TopologyError(f"{name} exited early:\n{process.tail()}")
            return check()

        wait_for(alive_and_ready, what)

    def listening(self, namespace: str, address: str, port: int, udp: bool = False) -> bool:
        output = self.run_in(namespace, ["ss", "-Hnl", "-u" if udp else "-t"])
        return any(f"{address}:{port}" in line.split() for line in output.splitlines())

    def listeners(self, log: Path) -> list[str]:
        """The start of a tests/integration/listeners.py command line."""
        return checkout_script(HERE / "listeners.py", "--log", str(log))

    def ready_line(self, name: str) -> Callable[[], bool]:
        """listeners.py prints "ready" once every socket is bound."""
        return lambda: "ready" in self.processes[name].tail()

    # --- building ---

    def start(self) -> Hotspot:
        try:
            for folder in (self.env["HOME"], self.nobody_env["HOME"]):
                Path(folder).mkdir(mode=0o700)
            os.chown(self.nobody_env["HOME"], NOBODY, NOBODY)
            self._build_network()
            self._start_upstream()
            self._start_hotspot()
            self._join_all()
        except BaseException:
            self.stop()
            raise
        return self

    def _add_namespace(self, name: str) -> None:
        run(["ip", "netns", "add", name], env=self.env)
        self.namespaces.append(name)
        self.ip(name, "link set lo up")
        # Addresses usable at once: no IPv6 duplicate-address detection to wait for.
        for scope in ("all", "default"):
            self.sysctl(name, f"net.ipv6.conf.{scope}.accept_dad", "0")

    def _build_network(self) -> None:
        pi, net = self.hotspot_ns, self.upstream_ns
        for name in (pi, net, *(phone.namespace for phone in self.phones)):
            self._add_namespace(name)
        # The Internet, with the commune's LAN host behind it (on loopback rather
        # than a dummy interface: some kernels lack the module).
        self.ip(pi, f"link add eth0 type veth peer name wan0 netns {net}")
        self.ip(net, f"addr add {UPSTREAM_ADDRESS}/24 dev wan0")
        self.ip(net, f"addr add {UPSTREAM_ADDRESS6}/64 dev wan0 nodad")
        self.ip(net, "link set wan0 up")
        self.ip(net, f"addr add {COMMUNE_LAN_ADDRESS}/32 dev lo")
        # Routes back to the guests, so that only the Pi's rules, never a missing
        # route, keep them out of places.
        self.ip(net, f"route add {self.wifi_network} via {UPLINK_ADDRESS}")
        self.ip(net, f"route add {GUEST_NETWORK6} via {UPLINK_ADDRESS6}")
        # The Pi: its uplink, and the Wi-Fi as a bridge whose ports cannot talk to each other.
        self.ip(pi, f"addr add {UPLINK_ADDRESS}/24 dev eth0")
        self.ip(pi, f"addr add {UPLINK_ADDRESS6}/64 dev eth0 nodad")
        self.ip(pi, "link set eth0 up")
        self.ip(pi, f"route add default via {UPSTREAM_ADDRESS}")
        self.ip(pi, "link add wlan0 type bridge")
        self.ip(pi, f"addr add {PORTAL_ADDRESS}/{self.prefix_length} dev wlan0")
        self.ip(pi, "link set wlan0 up")
        for number, phone in enumerate(self.phones, start=1):
            port = f"port{number}"
            self.ip(pi, f"link add {port} type veth peer name eth0 netns {phone.namespace}")
            self.ip(pi, f"link set {port} master wlan0")
            run(words(f"bridge -n {pi} link set dev {port} isolated on"), env=self.env)
            self.ip(pi, f"link set {port} up")
            self.ip(phone.namespace, f"link set eth0 address {phone.mac} up")
        self._plug_crowd()
        self.sysctl(pi, "net.ipv4.ip_forward", "1")
        self.sysctl(pi, "net.ipv6.conf.all.forwarding", "1")
        self.sysctl(pi, "net.ipv4.ip_unprivileged_port_start", "0")  # the portal binds port 80

    @property
    def wifi_network(self) -> ipaddress.IPv4Network:
        return ipaddress.IPv4Interface(f"{PORTAL_ADDRESS}/{self.prefix_length}").network

    def _plug_crowd(self) -> None:
        """The crowd's namespaces and bridge ports, a few `ip -batch` calls for all of them."""
        if not self.crowd:
            return
        batch = ["ip", "-batch", "-"]
        adds = "".join(f"netns add {phone.namespace}\n" for phone in self.crowd)
        run(batch, stdin=adds, env=self.env)
        self.namespaces.extend(phone.namespace for phone in self.crowd)
        links = "".join(
            f"link add crowd{number} type veth peer name eth0 address {phone.mac}"
            f" netns {phone.namespace}\n"
            f"link set crowd{number} master wlan0\nlink set crowd{number} up\n"
            for number, phone in enumerate(self.crowd)
        )
        self.ip_batch(self.hotspot_ns, links)
        isolated = "".join(
            f"link set dev crowd{number} isolated on\n" for number in range(len(self.crowd))
        )
        run(["bridge", "-n", self.hotspot_ns, "-batch", "-"], stdin=isolated, env=self.env)
        for phone in self.crowd:
            self.ip_batch(phone.namespace, "link set lo up\nlink set eth0 up\n")

    def _start_upstream(self) -> None:
        net = self.upstream_ns
        self.upstream_record.touch()
        listeners = self.listeners(self.upstream_record) + words(
            f"--http {UPSTREAM_ADDRESS}:80={UPSTREAM_BODY}"
            f" --http [{UPSTREAM_ADDRESS6}]:80={UPSTREAM_BODY}"
            f" --http {COMMUNE_LAN_ADDRESS}:80={COMMUNE_BODY}"
            f" --echo {UPSTREAM_ADDRESS}:{ECHO_PORT} --echo {UPSTREAM_ADDRESS}:{HTTPS_PORT}"
            f" --record-tcp {UPSTREAM_ADDRESS}:853 --record-udp {UPSTREAM_ADDRESS}:443"
        )
        self.spawn("upstream-listeners", net, listeners)
        dns = words(
            "dnsmasq --keep-in-foreground --conf-file=/dev/null --log-facility=-"
            f" --no-resolv --no-hosts --listen-address={UPSTREAM_ADDRESS} --bind-interfaces",
            f"--pid-file={self.workdir / 'upstream-dnsmasq.pid'}",
            *(f"--address=/{name}/{UPSTREAM_ADDRESS}" for name in UPSTREAM_NAMES),
        )
        self.spawn("upstream-dns", net, dns)
        self.wait_alive(
            "upstream-listeners", self.ready_line("upstream-listeners"), "the upstream listeners"
        )
        self.wait_alive(
            "upstream-dns",
            lambda: self.listening(net, UPSTREAM_ADDRESS, 53, udp=True),
            "the upstream DNS server",
        )

    def _start_hotspot(self) -> None:
        pi = self.hotspot_ns
        self.data_dir.mkdir(mode=0o700)
        os.chown(self.data_dir, NOBODY, NOBODY)
        self.socket_path.parent.mkdir(mode=0o755)
        issued = self.authority.issue(PORTAL_HOSTNAME) if self.authority else None
        if issued is not None:
            os.chown(issued.key, NOBODY, NOBODY)  # the portal's user alone reads its key
            issued.key.chmod(0o600)
        self.config_file.write_text(
            portal_toml(self.data_dir, self.socket_path, issued, self.identity, self.prefix_length),
            encoding="utf-8",
        )
        self.config_file.chmod(0o644)
        render = [str(self.bin / "portal"), "render-config", "--out", str(self.config_dir)]
        run([*render, "--config", str(self.config_file)], env=self.env)
        self.run_in(pi, ["nft", "-f", str(self.config_dir / "portal.nft")])
        dnsmasq = words(
            "dnsmasq --keep-in-foreground --log-facility=-",
            f"--conf-file={self.config_dir / 'dnsmasq.conf'}",
            f"--pid-file={self.dnsmasq_pid}",
            # The one change to the rendered file: stop-dns-rebind counts the
            # documentation ranges (198.51.100.0/24) as private, and the stand-in
            # Internet lives in one.
            f"--rebind-domain-ok=/{'/'.join(UPSTREAM_NAMES)}/",
        )
        self.spawn("dnsmasq", pi, dnsmasq)
        gatekeeper = [str(self.bin / "portal-gatekeeper"), "--socket", str(self.socket_path)]
        gatekeeper += words(f"--allow-uid {NOBODY} --wifi-interface wlan0")
        # It switches dnsmasq's DNS files (rendered beside dnsmasq.conf) for the uplink.
        dns_folder = self.config_dir / "dns"
        gatekeeper += [f"--dns-folder={dns_folder}", f"--dnsmasq-pid-file={self.dnsmasq_pid}"]
        self.spawn("gatekeeper", pi, gatekeeper)
        self.wait_alive("gatekeeper", self.socket_path.is_socket, "the gatekeeper socket")
        self.wait_alive(
            "dnsmasq", lambda: self.listening(pi, PORTAL_ADDRESS, 53, udp=True), "the Pi's DNS"
        )
        self.start_portal()
        housekeep = [str(self.bin / "portal"), "housekeep", "--config", str(self.config_file)]
        self.spawn("housekeep", pi, housekeep, as_nobody=True)
        self.wait_alive("housekeep", lambda: self.uplink_state() is not None, "the uplink verdict")

    def start_portal(self, *options: str) -> Process:
        """`portal serve OPTIONS` (production gunicorn; this machine's profile unless OPTIONS
        name one) as uid 65534, once it answers."""
        serve = [str(self.bin / "portal"), "serve", "--config", str(self.config_file), *options]
        process = self.spawn("portal", self.hotspot_ns, serve, as_nobody=True)
        self.wait_alive("portal", self._portal_answers, "the portal answering")
        return process

    def _portal_answers(self) -> bool:
        answer = self.fetch(self.hotspot_ns, f"http://{PORTAL_ADDRESS}/api/captive", timeout=2)
        # With a certificate, the plain port sends the API's address on to HTTPS.
        return answer is not None and answer.status == (302 if self.authority else 200)

    def _join_all(self) -> None:
        """Every phone asks for an address at once."""
        dhcp_client = checkout_script(HERE / "dhcp_client.py", "eth0")
        asking = [
            subprocess.Popen(
                ["ip", "netns", "exec", phone.namespace, *dhcp_client],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=self.env,
            )
            for phone in self.phones
        ]
        for number, (phone, dhcp) in enumerate(zip(self.phones, asking, strict=True), start=1):
            output, errors = dhcp.communicate(timeout=60)
            if dhcp.returncode != 0:
                raise TopologyError(f"DHCP in {phone.namespace} failed: {errors.strip()}")
            phone.lease = json.loads(output)
            self._configure(phone, number)

    def _configure(self, phone: Phone, number: int) -> None:
        """Apply what DHCP gave: the address, the default route and the resolver."""
        ack = phone.lease["ack"]
        prefix = ipaddress.IPv4Network(f"0.0.0.0/{ack['subnet_mask']}").prefixlen
        self.ip(phone.namespace, f"addr add {phone.address}/{prefix} dev eth0")
        self.ip(phone.namespace, f"route add default via {ack['router']}")
        if not NETNS_DIR.exists():
            NETNS_DIR.mkdir(mode=0o755)
            self._made_netns_dir = True
        folder = NETNS_DIR / phone.namespace
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "resolv.conf").write_text(f"nameserver {ack['name_server']}\n")
        listener = self.listeners(Path(os.devnull)) + words(
            f"--http {phone.address}:{PHONE_LISTENER_PORT}=phone{number}"
        )
        self.spawn(f"listener-phone{number}", phone.namespace, listener)

    # --- what tests look at ---

    def uplink_state(self) -> dict[str, Any] | None:
        """The uplink monitor's verdict file, or None before its first check."""
        try:
            state: dict[str, Any] = json.loads((self.data_dir / "uplink.json").read_text())
        except (OSError, ValueError):
            return None
        return state

    def kernel_set(self) -> dict[str, dict[str, Any]]:
        """@allowed as nft reports it: MAC → {"val", "timeout", "expires", "counter"}."""
        text = self.run_in_hotspot(words("nft -j list set inet portal allowed"))
        elements: dict[str, dict[str, Any]] = {}
        for item in json.loads(text)["nftables"]:
            for element in item.get("set", {}).get("elem", []):
                if isinstance(element, str):
                    elements[element] = {}
                else:
                    elements[element["elem"]["val"]] = element["elem"]
        return elements

    def wifi_link_local(self) -> tuple[str, str]:
        """The Pi's IPv6 link-local address on the Wi-Fi bridge, and the bridge's MAC."""
        [link] = json.loads(self.run_in_hotspot(words("ip -j link show dev wlan0")))
        [info] = json.loads(self.run_in_hotspot(words("ip -j -6 addr show dev wlan0")))
        addresses = [a["local"] for a in info["addr_info"] if a.get("scope") == "link"]
        if not addresses:
            raise TopologyError("the Wi-Fi bridge has no IPv6 link-local address")
        return addresses[0], str(link["address"])

    def gatekeeper(self, request: dict[str, Any] | bytes) -> dict[str, Any]:
        """One request to the gatekeeper socket as root (a dict is sent as a JSON line)."""
        line = request if isinstance(request, bytes) else json.dumps(request).encode() + b"\n"
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
            connection.settimeout(10)
            connection.connect(str(self.socket_path))
            connection.sendall(line)
            received = b""
            while b"\n" not in received and (chunk := connection.recv(65536)):
                received += chunk
        reply: dict[str, Any] = json.loads(received.partition(b"\n")[0])
        return reply

    def busybox_lease(self, phone: Phone) -> dict[str, str]:
        """What busybox udhcpc -O 114 (as small Linux devices run it) hands its script on a
        lease in `phone`'s namespace: router, dns, ... and opt114 (hex) if the Pi sent it."""
        seen = self.workdir / f"udhcpc-bound-{phone.namespace}.env"
        script = self.workdir / "udhcpc-script"
        script.write_text('#!/bin/sh\n[ "$1" = bound ] && env > "$SEEN"\nexit 0\n', "ascii")
        script.chmod(0o755)
        udhcpc = words("busybox udhcpc -i eth0 -f -q -n -t 3 -T 1 -O 114 -s", str(script))
        self.run_in(phone.namespace, ["env", f"SEEN={seen}", *udhcpc], timeout=30)
        lines = seen.read_text(encoding="ascii").splitlines()
        return dict(line.split("=", 1) for line in lines if "=" in line)

    def hold_connection(self, phone: int = 0) -> EchoSession:
        """A phone opens one TCP connection to the upstream echo server and keeps it open."""
        hold = checkout_script(HERE / "phone.py", "hold", UPSTREAM_ADDRESS, str(ECHO_PORT))
        popen = subprocess.Popen(
            ["ip", "netns", "exec", self.phones[phone].namespace, *hold],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=self.env,
        )
        return EchoSession(popen)

    def reload_ruleset(self) -> None:
        """Load portal.nft again, as a reboot does: @allowed starts empty."""
        self.run_in_hotspot(["nft", "-f", str(self.config_dir / "portal.nft")])

    def log_tails(self) -> str:
        return "\n".join(
            f"--- {name} ({'running' if process.alive() else 'exited'}) ---\n{process.tail()}"
            for name, process in self.processes.items()
        )

    # --- tearing down ---

    def stop(self) -> None:
        """Stop every process (whole groups), delete the namespaces and files; never raises."""
        for process in reversed(list(self.processes.values())):
            with contextlib.suppress(Exception):
                process.stop()
        for namespace in reversed(self.namespaces):
            subprocess.run(["ip", "netns", "del", namespace], check=False, capture_output=True)
        self.namespaces.clear()
        for phone in self.phones:
            shutil.rmtree(NETNS_DIR / phone.namespace, ignore_errors=True)
        if self._made_netns_dir:
            with contextlib.suppress(OSError):  # only if empty: others may have added files
                NETNS_DIR.rmdir()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> Hotspot:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def doctor_rows(done: subprocess.CompletedProcess[str]) -> dict[str, tuple[str, str]]:
    """`portal doctor`'s table: check name → (verdict, what was seen)."""
    found = {}
    for line in done.stdout.splitlines():
        parts = line.split(None, 1)
        if len(parts) == 2 and parts[0] in ("ok", "warn", "FAIL") and line.startswith("  "):
            verdict, rest = parts
            name, _, seen = rest.partition("  ")
            found[name.strip()] = (verdict, seen.strip())
    return found


def netns_unusable(*tools: str) -> str | None:
    """Why these tests cannot run here (not root, a tool missing, no namespaces), or None."""
    if os.geteuid() != 0:
        return "needs root: network namespaces, nftables, dnsmasq, a second uid"
    absent = missing("ip", *tools)
    if absent is not None:
        return absent
    probe = f"pz{secrets.token_hex(3)}-probe"
    try:
        done = subprocess.run(
            ["ip", "netns", "add", probe], capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"`ip netns` is unusable: {error}"
    if done.returncode != 0:
        return f"`ip netns add` failed: {done.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True, check=False)
    return None


__all__ = ["Hotspot", "HttpAnswer", "Phone", "TopologyError", "netns_unusable", "wait_for"]
