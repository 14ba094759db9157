"""Sealing and the master key: every attack on a sealed value fails loudly and opens nothing."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from stigmer.errors import SecretError
from stigmer.secrets.keys import FileKeys, KeySet, MasterKey, MasterKeys, choose_backend
from stigmer.secrets.passphrase import PassphraseSealer, is_passphrase_sealed
from stigmer.secrets.sealing import b64, key_id, seal, unb64, unseal

KEY = MasterKey("k1", bytes(range(32)))
OTHER = MasterKey("k1", bytes(range(1, 33)))  # same id, another key: a wrong key file
ENV = "env_01"


def finder(*keys: MasterKey) -> Callable[[str], MasterKey]:
    def find(kid: str) -> MasterKey:
        for key in keys:
            if key.kid == kid:
                return key
        raise SecretError(f"no key {kid}")

    return find


def open_(token: str, key: MasterKey = KEY, env: str = ENV, name: str = "TOKEN") -> str:
    return unseal(token, finder(key), environment_id=env, name=name)


def test_a_sealed_value_opens_and_names_its_key_but_not_its_plaintext() -> None:
    token = seal(KEY, "ghp_s3cr3t-value", environment_id=ENV, name="TOKEN")

    assert token.startswith("sealed:v1:k1:")
    assert key_id(token) == "k1"
    assert "s3cr3t" not in token
    assert open_(token) == "ghp_s3cr3t-value"


def test_every_seal_uses_a_fresh_nonce() -> None:
    tokens = {seal(KEY, "same", environment_id=ENV, name="TOKEN") for _ in range(20)}

    assert len(tokens) == 20
    assert len({t.split(":")[3] for t in tokens}) == 20


def test_a_tampered_ciphertext_is_a_clear_error() -> None:
    token = seal(KEY, "ghp_s3cr3t-value", environment_id=ENV, name="TOKEN")
    head, ct = token.rsplit(":", 1)
    raw = bytearray(unb64(ct))
    raw[0] ^= 1
    tampered = f"{head}:{b64(bytes(raw))}"

    with pytest.raises(SecretError, match="failed its integrity check") as err:
        open_(tampered)
    assert "altered" in str(err.value)
    assert "ghp_s3cr3t" not in f"{err.value} {err.value.hint}"


@pytest.mark.parametrize("env, name", [("env_02", "TOKEN"), (ENV, "OTHER_TOKEN")], ids=["env", "key"])
def test_a_ciphertext_moved_to_another_entry_does_not_open(env: str, name: str) -> None:
    token = seal(KEY, "ghp_s3cr3t-value", environment_id=ENV, name="TOKEN")

    with pytest.raises(SecretError, match="copied from another entry"):
        open_(token, env=env, name=name)


def test_a_wrong_key_opens_nothing() -> None:
    token = seal(KEY, "ghp_s3cr3t-value", environment_id=ENV, name="TOKEN")

    with pytest.raises(SecretError, match="sealed with another key"):
        open_(token, key=OTHER)


@pytest.mark.parametrize(
    "token", ["sealed:v1:k1:AAAA", "sealed:v9:k1:AAAA:BBBB", "plain", "sealed:v1:k1:!!:??"]
)
def test_a_malformed_token_is_a_clear_error(token: str) -> None:
    with pytest.raises(SecretError, match="nothing was unsealed"):
        open_(token)


def test_the_key_file_is_created_0600_and_read_back(tmp_path: Path) -> None:
    keys = MasterKeys(tmp_path, backend=FileKeys(tmp_path / "master.key"))
    created, made = keys.ensure()

    assert made
    assert (tmp_path / "master.key").stat().st_mode & 0o777 == 0o600
    again = MasterKeys(tmp_path, backend=FileKeys(tmp_path / "master.key"))
    assert again.find(created.kid) == created
    assert again.ensure() == (created, False)


def test_a_key_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "master.key"
    MasterKeys(tmp_path, backend=FileKeys(path)).ensure()
    path.chmod(0o644)

    with pytest.raises(SecretError, match="mode is 0644") as err:
        MasterKeys(tmp_path, backend=FileKeys(path)).load()
    assert err.value.hint == f"chmod 600 {path}"


def test_a_damaged_key_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "master.key"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, b"k1 not-base64-at-all\n")
    os.close(fd)

    with pytest.raises(SecretError, match="damaged"):
        MasterKeys(tmp_path, backend=FileKeys(path)).load()


def test_a_missing_key_is_named_and_not_silently_replaced(tmp_path: Path) -> None:
    keys = MasterKeys(tmp_path, backend=FileKeys(tmp_path / "master.key"))

    with pytest.raises(SecretError, match="is not in") as err:
        keys.primary(may_create=lambda: False)
    assert "restore master.key" in err.value.hint
    assert not (tmp_path / "master.key").exists()
    with pytest.raises(SecretError, match="master key 'k1'"):
        keys.find("k1")


def test_a_rotation_keeps_both_keys_until_it_finishes(tmp_path: Path) -> None:
    keys = MasterKeys(tmp_path, backend=FileKeys(tmp_path / "master.key"))
    old, _ = keys.ensure()

    new, previous = keys.begin_rotation()
    reread = MasterKeys(tmp_path, backend=FileKeys(tmp_path / "master.key"))
    assert (reread.find(old.kid), reread.find(new.kid)) == (old, new)
    assert reread.primary(may_create=lambda: False) == new

    keys.abort_rotation(previous, keep=new)
    assert MasterKeys(tmp_path).load() == KeySet((old, new))

    keys.finish_rotation(new)
    assert MasterKeys(tmp_path).load() == KeySet((new,))


def test_keyring_switch_and_an_existing_file_choose_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STIGMER_KEYRING", "0")
    assert isinstance(choose_backend(tmp_path), FileKeys)
    # No usable keyring here (keyring's fail backend), so the file is used without the switch too.
    monkeypatch.delenv("STIGMER_KEYRING")
    assert isinstance(choose_backend(tmp_path), FileKeys)


def test_passphrase_sealing_round_trips_and_refuses_a_wrong_passphrase() -> None:
    sealer = PassphraseSealer(b"correct horse battery staple")
    token = sealer.seal("ghp_s3cr3t-value", environment_id=ENV, name="TOKEN")

    assert is_passphrase_sealed(token)
    assert "s3cr3t" not in token
    assert PassphraseSealer(b"correct horse battery staple").unseal(
        token, environment_id=ENV, name="TOKEN"
    ) == ("ghp_s3cr3t-value")
    with pytest.raises(SecretError, match="wrong passphrase"):
        PassphraseSealer(b"wrong").unseal(token, environment_id=ENV, name="TOKEN")
    with pytest.raises(SecretError, match="wrong passphrase"):
        sealer.unseal(token, environment_id="env_02", name="TOKEN")


class FakeKeyring:
    """An OS keyring that works: one password per (service, user)."""

    priority = 1

    def __init__(self) -> None:
        self.passwords: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, user: str) -> str | None:
        return self.passwords.get((service, user))

    def set_password(self, service: str, user: str, password: str) -> None:
        self.passwords[service, user] = password


def test_a_usable_keyring_holds_the_key_and_no_file_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    keyring = FakeKeyring()
    monkeypatch.delenv("STIGMER_KEYRING")
    monkeypatch.setattr("stigmer.secrets.keys.usable_keyring", lambda: keyring)
    keys = MasterKeys(tmp_path)

    key, made = keys.ensure()
    new, _ = keys.begin_rotation()
    keys.finish_rotation(new)

    assert made and "OS keyring" in keys.location
    assert not (tmp_path / "master.key").exists()
    [(service, user)] = keyring.passwords
    assert (service, user) == ("stigmer", f"master-key:{tmp_path}")
    assert MasterKeys(tmp_path).find(new.kid) == new
    with pytest.raises(SecretError):
        MasterKeys(tmp_path).find(key.kid)
