"""Admin accounts from the command line and from the boot partition's portal.toml."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from portal import db
from portal.admin.accounts import FIRST_ACCOUNT_NAME, check_password
from portal.admin.app import create_admin_app
from portal.apply import apply, write_status
from portal.cli import EXIT_REFUSED, main
from portal.models import Account
from tests.test_apply import Card, Systemctl

VOLUNTEERS_FILE = """\
# Passerelle for the library of Wanze
[site]
name = "Bibliothèque de Wanze"   # shown on every page

[admin]
user = "epn-wanze"
# the first password, to be changed later
password = "three words in a row"

[wifi]
ssid = "Wanze"
"""


def test_the_first_password_is_hashed_at_boot_and_wiped_from_the_file(tmp_path: Path) -> None:
    card = Card(tmp_path)
    card.write(VOLUNTEERS_FILE)
    applied = card.apply()
    assert (applied.problem, applied.admin_taken) == (None, "epn-wanze")
    left = card.file.read_text(encoding="utf-8")
    assert left == f'[storage]\ndata_dir = "{card.data}"\n' + VOLUNTEERS_FILE.replace(
        'password = "three words in a row"', 'password = ""'
    )
    assert "three words" not in card.in_force()  # nor in the copy the services read
    handed = (card.data / FIRST_ACCOUNT_NAME).read_text(encoding="utf-8")
    assert "three words" not in handed and "$argon2id$v=19$m=7168,t=5,p=1$" in handed
    from datetime import UTC, datetime

    words = write_status(applied, card.file, datetime(2026, 12, 3, 9, 0, tzinfo=UTC))
    assert (
        'The password of the admin account "epn-wanze" was taken: the Pi keeps it, hashed, '
        "and portal.toml no longer holds it." in words
    )

    app = create_admin_app(applied.settings)  # files the account, as the portal does
    assert not (card.data / FIRST_ACCOUNT_NAME).exists()
    account = Account.get_by_id("epn-wanze")
    assert account.role == "volunteer"
    assert account.password_hash.startswith("$argon2id$")
    client = app.test_client()
    page = client.get("/admin/login").get_data(as_text=True)
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found
    form = {"csrf_token": found.group(1), "name": "epn-wanze", "password": "three words in a row"}
    assert client.post("/admin/login", data=form).status_code == 303
    db.close()


def test_a_second_boot_finds_no_password_and_keeps_the_account(tmp_path: Path) -> None:
    card = Card(tmp_path)
    card.write(VOLUNTEERS_FILE)
    create_admin_app(card.apply().settings)
    again = apply(card.file, card.out, Systemctl())
    assert again.admin_taken is None
    create_admin_app(again.settings)
    assert check_password("epn-wanze", "three words in a row") is not None
    db.close()


def test_a_password_that_cannot_be_cut_out_of_the_file_is_left_and_said(
    tmp_path: Path,
) -> None:
    card = Card(tmp_path)
    card.file.write_text(
        'admin = { user = "epn-wanze", password = "three words in a row" }\n'
        f'[storage]\ndata_dir = "{card.data}"\n',
        encoding="utf-8",
    )
    applied = card.apply()
    assert applied.admin_taken is None
    assert applied.warnings == (
        "admin.password was not taken: write it on a line of its own under [admin], "
        'as password = "..."',
    )
    assert not (card.data / FIRST_ACCOUNT_NAME).exists()
    assert "three words in a row" in card.file.read_text(encoding="utf-8")


def test_a_short_first_password_is_a_mistake_named_by_its_key(tmp_path: Path) -> None:
    card = Card(tmp_path)
    card.write('[admin]\nuser = "epn"\npassword = "short"\n')
    applied = card.apply()
    assert applied.problem is not None and applied.problem.key == "admin.password"
    assert 'password = "short"' in card.file.read_text(encoding="utf-8")  # not taken


def run(monkeypatch: pytest.MonkeyPatch, config: Path, *argv: str, stdin: str = "") -> int:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    return main(["admin", *argv, "--config", str(config)])


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "portal.toml"
    path.write_text(f'[storage]\ndata_dir = "{tmp_path / "data"}"\n', encoding="utf-8")
    return path


def test_admin_commands_add_change_and_remove_an_account(
    monkeypatch: pytest.MonkeyPatch, config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(monkeypatch, config, "add-user", "mairie", "--role", "commune",
               stdin="a long enough password\n") == 0  # fmt: skip
    assert capsys.readouterr().out == "account 'mairie' added (commune)\n"
    assert check_password("mairie", "a long enough password") is not None
    assert run(monkeypatch, config, "set-password", "mairie", stdin="another password here\n") == 0
    assert check_password("mairie", "a long enough password") is None
    assert check_password("mairie", "another password here") is not None
    assert run(monkeypatch, config, "remove-user", "mairie") == 0
    assert Account.select().count() == 0
    db.close()


@pytest.mark.parametrize(
    ("argv", "stdin", "sentence"),
    [
        (("add-user", "mairie", "--role", "commune"), "short\n",
         "admin: the password must be a password of 10 to 128 characters"),
        (("add-user", "Mairie!", "--role", "commune"), "a long enough password\n",
         "admin: the account name must be a name of 1 to 32 small letters"),
        (("set-password", "nobody"), "a long enough password\n",
         "admin: there is no account named 'nobody'"),
        (("remove-user", "nobody"), "", "admin: there is no account named 'nobody'"),
    ],
)  # fmt: skip
def test_a_refused_admin_command_says_why_in_one_sentence(
    monkeypatch: pytest.MonkeyPatch,
    config: Path,
    capsys: pytest.CaptureFixture[str],
    argv: tuple[str, ...],
    stdin: str,
    sentence: str,
) -> None:
    assert run(monkeypatch, config, *argv, stdin=stdin) == EXIT_REFUSED
    error = capsys.readouterr().err
    assert error.startswith(sentence) and error.count("\n") == 1
    db.close()


def test_adding_an_account_twice_is_refused(
    monkeypatch: pytest.MonkeyPatch, config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ("add-user", "mairie", "--role", "commune")
    assert run(monkeypatch, config, *argv, stdin="a long enough password\n") == 0
    assert run(monkeypatch, config, *argv, stdin="a long enough password\n") == EXIT_REFUSED
    assert capsys.readouterr().err == "admin: there is already an account named 'mairie'\n"
    db.close()
