"""Inline PEM values become private temp files, shared by content and removed with their last user;
paths pass through; a PEM that lost its line breaks is restored, a bad one refused by name."""

from __future__ import annotations

import gc
import json
import os
import stat
import threading
from typing import TYPE_CHECKING, Any

import pytest
from airflow.sdk import Connection

from airflow_provider.core.errors import ConfigurationError
from airflow_provider.hooks.connection_config import EdgeConfig, edge_config
from airflow_provider.hooks.pem_files import PEM_STORE, PemFiles, PemStore, is_inline_pem, restore_pem
from tests.pem_samples import CA, CERT, ENCRYPTED_KEY, KEY, OTHER_KEY, single_line

if TYPE_CHECKING:
    from pathlib import Path


def config(conn_id: str = "mef", **extra: Any) -> EdgeConfig:
    return edge_config(
        Connection(
            conn_id=conn_id, conn_type="huawei_edge_manager", host="mef.test", port=30035, extra=json.dumps(extra)
        )
    )


def mode(path: str) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture(autouse=True)
def nothing_left_behind():
    """Every test lets go of what it took: the process-wide store ends as it started (holders that
    earlier tests dropped without closing are released by garbage collection first)."""
    gc.collect()
    before = len(PEM_STORE)
    yield
    gc.collect()
    assert len(PEM_STORE) == before


def test_is_inline_pem():
    assert is_inline_pem(CERT)
    assert not is_inline_pem("/etc/pki/client.pem")


def test_inline_pems_are_private_files_removed_by_close():
    pem = PemFiles(config(client_cert=CERT, client_private_key=KEY, ca_cert=CA))
    tls = pem.tls_settings()
    folder = pem.folder
    assert folder is not None
    assert mode(folder) == 0o700
    assert tls.client_cert is not None
    assert tls.client_key is not None
    assert isinstance(tls.verify, str)
    for path, text in ((tls.client_cert, CERT), (tls.client_key, KEY), (tls.verify, CA)):
        assert os.path.dirname(path) == folder
        assert mode(path) == 0o600
        with open(path) as handle:
            assert handle.read() == text
    assert pem.close() is True  # the last (only) user
    assert not os.path.exists(folder)
    assert pem.folder is None
    assert pem.close() is False  # idempotent


def test_context_exit_removes_the_folder():
    with PemFiles(config(client_cert=CERT, client_private_key=KEY)) as pem:
        pem.tls_settings()
        folder = pem.folder
        assert folder is not None
        assert sorted(os.listdir(folder)) == ["client_cert.pem", "client_key.pem"]
    assert not os.path.exists(folder)


def test_context_exit_on_error_removes_the_folder():
    folder = None
    with pytest.raises(RuntimeError), PemFiles(config(client_cert=CERT, client_private_key=KEY)) as pem:
        pem.tls_settings()
        folder = pem.folder
        raise RuntimeError("boom")
    assert folder is not None
    assert not os.path.exists(folder)


def test_paths_are_passed_through_without_a_temp_folder(tmp_path: Path):
    cert, key, ca = tmp_path / "c.pem", tmp_path / "k.pem", tmp_path / "ca.pem"
    for path, text in ((cert, CERT), (key, KEY), (ca, CA)):
        path.write_text(text)
    with PemFiles(config(client_cert=str(cert), client_private_key=str(key), ca_cert=str(ca))) as pem:
        tls = pem.tls_settings()
        assert pem.folder is None
    assert (tls.client_cert, tls.client_key, tls.verify) == (str(cert), str(key), str(ca))
    assert cert.exists()
    assert key.exists()


def test_no_certificates_means_plain_verify():
    with PemFiles(config()) as pem:
        tls = pem.tls_settings()
        assert pem.folder is None
    assert (tls.client_cert, tls.client_key, tls.verify) == (None, None, True)


def test_missing_path_is_a_configuration_error(tmp_path: Path):
    missing = str(tmp_path / "nope.pem")
    with pytest.raises(ConfigurationError) as info, PemFiles(config(ca_cert=missing)) as pem:
        pem.tls_settings()
    assert "'mef'" in str(info.value)
    assert "extra.ca_cert" in str(info.value)


def test_a_directory_is_not_a_certificate_file(tmp_path: Path):
    with (
        pytest.raises(ConfigurationError, match=r"extra\.client_cert"),
        PemFiles(config(client_cert=str(tmp_path), client_private_key=KEY)) as pem,
    ):
        pem.tls_settings()


@pytest.mark.parametrize(("extra", "present"), [({"client_cert": CERT}, "cert"), ({"client_private_key": KEY}, "key")])
def test_cert_and_key_must_come_together(extra, present):
    pem = PemFiles(config(**extra))
    try:
        with pytest.raises(ConfigurationError) as info:
            pem.tls_settings()
        assert "client_cert and extra.client_private_key must be given together" in str(info.value)
        assert KEY.splitlines()[1] not in str(info.value)
    finally:
        pem.close()
    assert pem.folder is None


def test_rejected_inline_key_is_not_left_on_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    pem = PemFiles(config(client_cert=CERT, client_private_key=OTHER_KEY))
    with pytest.raises(ConfigurationError):
        pem.tls_settings()
    pem.close()
    assert list(tmp_path.iterdir()) == []


def test_ca_cert_becomes_the_verify_path_unless_verify_is_false(tmp_path: Path):
    ca = tmp_path / "root.pem"
    ca.write_text(CA)
    with PemFiles(config(ca_cert=str(ca))) as pem:
        assert pem.tls_settings().verify == str(ca)
    with PemFiles(config(ca_cert=str(ca), verify=False)) as pem:
        assert pem.tls_settings().verify is False


def test_inline_ca_cert_becomes_verify_path():
    with PemFiles(config(ca_cert=CA)) as pem:
        verify = pem.tls_settings().verify
        assert isinstance(verify, str)
        assert os.path.isfile(verify)
        with open(verify) as handle:
            assert handle.read() == CA
    assert not os.path.exists(verify)


def test_files_are_removed_when_the_object_is_garbage_collected():
    pem = PemFiles(config(client_cert=CERT, client_private_key=KEY))
    pem.tls_settings()
    folder = pem.folder
    assert folder is not None
    del pem
    gc.collect()
    assert not os.path.exists(folder)


# -- shared by content ------------------------------------------------------------------------------


def test_users_of_the_same_certificates_share_one_folder_until_the_last_lets_go():
    """200 waits of one connection (or of several with the same certificates): one set of files."""
    holders = [PemFiles(config(f"mef-{n % 3}", client_cert=CERT, client_private_key=KEY)) for n in range(200)]
    settings = {holder.tls_settings() for holder in holders}
    folders = {holder.folder for holder in holders}

    assert len(settings) == 1  # equal settings: the async transport's pools are keyed by them
    assert len(folders) == 1
    (folder,) = folders
    assert folder is not None
    assert [holder.close() for holder in holders[:-1]] == [False] * 199
    assert os.path.isdir(folder)
    assert holders[-1].close() is True
    assert not os.path.exists(folder)


def test_different_certificates_or_settings_get_their_own_files():
    first = PemFiles(config(client_cert=CERT, client_private_key=KEY))
    other_ca = PemFiles(config(client_cert=CERT, client_private_key=KEY, ca_cert=CA))
    unverified = PemFiles(config(client_cert=CERT, client_private_key=KEY, verify=False))
    try:
        folders = {pem.tls_settings() and pem.folder for pem in (first, other_ca, unverified)}
        assert len(folders) == 3
    finally:
        for pem in (first, other_ca, unverified):
            pem.close()


def test_files_are_written_anew_after_the_last_user_let_go():
    with PemFiles(config(client_cert=CERT, client_private_key=KEY)) as first:
        first.tls_settings()
        old = first.folder
    with PemFiles(config(client_cert=CERT, client_private_key=KEY)) as second:
        second.tls_settings()
        assert second.folder != old
        assert second.folder is not None and os.path.isdir(second.folder)


def test_threads_acquiring_and_releasing_together_leave_nothing():
    store = PemStore()
    errors: list[BaseException] = []

    def cycle() -> None:
        try:
            for _ in range(20):
                with PemFiles(config(client_cert=CERT, client_private_key=KEY), store=store) as pem:
                    tls = pem.tls_settings()
                    assert tls.client_key is not None and os.path.isfile(tls.client_key)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=cycle) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert len(store) == 0
    assert store.folders == []


# -- PEM text from a single-line form field ---------------------------------------------------------


@pytest.mark.parametrize("separator", ["", " "], ids=["line breaks dropped", "line breaks as spaces"])
def test_a_pem_pasted_into_a_single_line_field_is_restored(separator: str):
    """Browsers drop the line breaks of text pasted into an <input>; OpenSSL then finds no PEM
    (NO_CERTIFICATE_OR_CRL_FOUND). The structure comes back, byte for byte."""
    extra = {
        "client_cert": single_line(CERT, separator),
        "client_private_key": single_line(KEY, separator),
        "ca_cert": single_line(CA + CA, separator),  # a bundle of two certificates on one line
    }
    with PemFiles(config(**extra)) as pem:
        tls = pem.tls_settings()
        assert tls.client_cert is not None and tls.client_key is not None and isinstance(tls.verify, str)
        for path, text in ((tls.client_cert, CERT), (tls.client_key, KEY), (tls.verify, CA + CA)):
            with open(path) as handle:
                assert handle.read() == text


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("client_cert", CERT.replace("-----END CERTIFICATE-----", ""), "no complete PEM block"),
        ("client_cert", single_line(CERT).replace("MII", "MII*", 1), "CERTIFICATE block is not valid base64"),
        ("client_private_key", ENCRYPTED_KEY, "is an encrypted private key"),
        ("client_private_key", single_line(ENCRYPTED_KEY), "is an encrypted private key"),
        ("client_private_key", OTHER_KEY, "the key does not belong to the certificate"),
        ("client_cert", KEY, "are not a usable PEM certificate and private key"),
        ("ca_cert", KEY, "extra.ca_cert is not a usable PEM certificate"),
    ],
)
def test_a_pem_that_cannot_be_used_is_refused_by_name(field: str, value: str, message: str):
    extra = {"client_cert": CERT, "client_private_key": KEY, field: value}
    with pytest.raises(ConfigurationError, match=message) as info, PemFiles(config(**extra)) as pem:
        pem.tls_settings()
    assert "'mef'" in str(info.value)
    for secret_line in KEY.splitlines()[1:-1] + OTHER_KEY.splitlines()[1:-1]:
        assert secret_line not in str(info.value)


def test_restore_pem_leaves_a_well_formed_pem_as_it_is():
    assert restore_pem("mef", "ca_cert", CA) == CA
    assert restore_pem("mef", "ca_cert", "Bag Attributes: x\n" + CA) == CA  # text outside the blocks goes


def test_an_encrypted_key_file_is_refused_before_openssl_asks_for_a_passphrase(tmp_path: Path):
    """OpenSSL prompts on the terminal for the passphrase of an encrypted key it is given with none."""
    key = tmp_path / "client.key"
    key.write_text(ENCRYPTED_KEY)
    with (
        pytest.raises(ConfigurationError, match=r"extra\.client_private_key is an encrypted private key"),
        PemFiles(config(client_cert=CERT, client_private_key=str(key))) as pem,
    ):
        pem.tls_settings()
