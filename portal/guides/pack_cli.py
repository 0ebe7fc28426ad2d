"""`portal pack ...`: keygen, build, verify, install, list, rollback, refresh; and the demo's
pack.

Every refusal is a PackRejected, which `portal.cli.main` prints with exit code 2. Each
command imports what does its work (pyca/cryptography among it): `portal.cli` imports
this module for every command, `portal serve` and `portal housekeep` included.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from portal.config import Settings, load_settings
from portal.guides.errors import PackRejected
from portal.guides.pack.manifest import Limits, Manifest
from portal.guides.progress import TerminalProgress
from portal.resources import GUIDE_SOURCES, bundled

if TYPE_CHECKING:
    from portal.guides.store import RefreshResult

BUNDLED_SOURCE = bundled(*GUIDE_SOURCES)
"""The source of the first pack (the checkout's content/), shipped inside the package."""

DEMO_KEYS = "demo-pack-key"


def _describe(manifest: Manifest) -> str:
    pages = sum(1 for entry in manifest.files if entry.path.startswith("guides/"))
    return (
        f"{manifest.info.id} {manifest.info.version} ({', '.join(manifest.info.languages)}; "
        f"{pages} pages; built {manifest.created})"
    )


def keygen(args: argparse.Namespace) -> int:
    from portal.guides.pack_keys import PRIVATE_KEY_FILE, PUBLIC_KEY_FILE, generate_keys

    folder = Path(args.out)
    if (folder / PRIVATE_KEY_FILE).exists():
        raise PackRejected(f"{folder / PRIVATE_KEY_FILE} exists already; not overwritten")
    private, public = generate_keys(folder)
    print(
        f"private key: {private} (keep it secret, off the hotspot)\n"
        f"public key:  {folder / PUBLIC_KEY_FILE}\n"
        "Trust it on a hotspot by adding to portal.toml:\n\n"
        f'[guides]\ntrusted_keys = ["{public}"]'
    )
    return 0


def build(args: argparse.Namespace) -> int:
    from portal.guides.pack.build import build_pack
    from portal.guides.pack_keys import load_private_key

    started = time.monotonic()
    out = Path(args.out)
    manifest = build_pack(Path(args.src), out, load_private_key(Path(args.key)))
    print(
        f"built {out}: {_describe(manifest)}, {out.stat().st_size / 1e6:.2f} MB, "
        f"signed by key {manifest.key_id} ({time.monotonic() - started:.1f} s)"
    )
    return 0


def _trusted(args: argparse.Namespace, settings: Settings) -> tuple[str, ...]:
    extra = []
    for item in args.trust or ():
        path = Path(item)
        if not path.is_file():
            extra.append(item)
            continue
        try:
            extra.append(path.read_text(encoding="ascii").strip())
        except (OSError, UnicodeDecodeError) as error:
            raise PackRejected(f"{path}: not a public key file ({error})") from error
    return (*settings.guides.trusted_keys, *extra)


def verify(args: argparse.Namespace) -> int:
    from portal.guides.pack.read import read_pack

    settings = load_settings(args.config)
    path = Path(args.file)
    progress = TerminalProgress()
    progress.stage("verify", path.stat().st_size if path.is_file() else 0)
    try:
        manifest = read_pack(
            path, _trusted(args, settings), Limits.from_settings(settings), progress=progress
        )
    finally:
        progress.finish()
    print(f"{path}: OK — {_describe(manifest)}, signed by key {manifest.key_id}")
    return 0


def install(args: argparse.Namespace) -> int:
    from portal.guides.pack_sources import install as install_from

    settings = load_settings(args.config)
    result = install_from(args.source, settings, TerminalProgress())
    if not result.changed:
        print(f"already installed: {_describe(result.manifest)}")
        return 0
    print(
        f"installed {_describe(result.manifest)} in {result.seconds:.1f} s; "
        "`portal pack rollback` returns to the previous pack"
    )
    return 0


def list_packs(args: argparse.Namespace) -> int:
    from portal.guides.store import installed_packs

    packs = installed_packs(load_settings(args.config))
    if not packs:
        print("no guide pack installed")
    for pack in packs:
        print(f"{pack.slot:<9} {_describe(pack.manifest)}")
    return 0


def rollback(args: argparse.Namespace) -> int:
    from portal.guides.store import rollback as swap

    current, previous = swap(load_settings(args.config))
    print(f"now serving {_describe(current)}\nprevious  {_describe(previous)}")
    return 0


def refresh(args: argparse.Namespace) -> int:
    from portal.guides.store import refresh as prepare_again

    print(refreshed(prepare_again(load_settings(args.config), TerminalProgress())))
    return 0


def refreshed(result: RefreshResult) -> str:
    """What `portal pack refresh` (and `portal serve` before it starts) did, for the log."""
    if not result.refreshed:
        return "the guide packs are prepared for this portal version: nothing to do"
    lines = [
        f"prepared again {pack.slot:<9} {_describe(pack.manifest)}" for pack in result.refreshed
    ]
    return "\n".join(lines) + f"\nfor this portal version, in {result.seconds:.1f} s"


def add_pack_commands(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    with_config: Callable[[argparse.ArgumentParser], argparse.ArgumentParser],
) -> None:
    """Add `portal pack` and its subcommands to the `portal` parser."""
    pack = commands.add_parser("pack", help="build, check and install guide packs")
    subs = pack.add_subparsers(dest="pack_command", required=True)

    def command(name: str, handler: Callable[[argparse.Namespace], int], text: str) -> Any:
        sub = subs.add_parser(name, help=text, description=text)
        sub.set_defaults(handler=handler)
        return sub

    sub = command("keygen", keygen, "make an Ed25519 key pair for signing packs")
    sub.add_argument("--out", required=True, help="folder for the private and public key")
    sub = command("build", build, "check a pack source folder and write the signed pack")
    sub.add_argument(
        "src",
        nargs="?",
        default=str(BUNDLED_SOURCE),
        help="source folder with pack.toml (default: the bundled guides, content/ in a checkout)",
    )
    sub.add_argument("out", help="pack file to write, e.g. passerelle-wallonie.pack")
    sub.add_argument("--key", required=True, help="private key from `portal pack keygen`")
    sub = with_config(command("verify", verify, "check a pack's signature and every file"))
    sub.add_argument("file")
    sub.add_argument(
        "--trust", action="append", metavar="KEY", help="also trust this public key (or key file)"
    )
    sub = with_config(
        command("install", install, "install a pack from a file, a folder or an http(s) URL")
    )
    sub.add_argument("source", metavar="FILE|DIR|URL")
    with_config(command("list", list_packs, "show the current and the previous pack"))
    with_config(command("rollback", rollback, "switch back to the previous pack"))
    with_config(
        command(
            "refresh",
            refresh,
            "prepare the installed packs again where another portal version prepared them",
        )
    )


def install_demo_pack(settings: Settings, content: Path = BUNDLED_SOURCE) -> Settings:
    """Build the bundled guide source with a throw-away key kept in the data dir; install it.

    Returns the settings with that key trusted. A kept --data-dir reuses its key.
    """
    from portal.guides.pack.build import build_pack
    from portal.guides.pack_keys import (
        PRIVATE_KEY_FILE,
        PUBLIC_KEY_FILE,
        generate_keys,
        load_private_key,
    )
    from portal.guides.store import DOWNLOADS, install_file, store_folder

    started = time.monotonic()
    keys = settings.data_dir / DEMO_KEYS
    if not (keys / PRIVATE_KEY_FILE).exists():
        generate_keys(keys)
    public = (keys / PUBLIC_KEY_FILE).read_text(encoding="ascii").strip()
    settings = settings.replace("guides", trusted_keys=(public,))
    out = store_folder(settings, DOWNLOADS) / "demo.pack"
    try:
        build_pack(content, out, load_private_key(keys / PRIVATE_KEY_FILE))
        result = install_file(out, settings)
    except PackRejected as error:
        print(f"Guides: none ({error}).", file=sys.stderr, flush=True)
        return settings
    finally:
        out.unlink(missing_ok=True)
    print(
        f"Guides: {_describe(result.manifest)} built, signed and installed "
        f"({time.monotonic() - started:.1f} s).",
        flush=True,
    )
    return settings
