"""Inline PEM values become private temp files that disappear on close; paths pass through."""

from __future__ import annotations

import json
import os
import stat
from typing import TYPE_CHECKING, Any

import pytest
from airflow.sdk import Connection

from airflow_provider.core.errors import ConfigurationError
from airflow_provider.hooks.connection_config import EdgeConfig, edge_config
from airflow_provider.hooks.pem_files import PemFiles, is_inline_pem

if TYPE_CHECKING:
    from pathlib import Path

CERT = "-----BEGIN CERTIFICATE-----\nMIIBclientcert\n-----END CERTIFICATE-----"
KEY = "-----BEGIN PRIVATE KEY-----\nMIIEclientkey\n-----END PRIVATE KEY-----\n"
CA = "-----BEGIN CERTIFICATE-----\nMIIBrootca\n-----END CERTIFICATE-----\n"


def config(**extra: Any) -> EdgeConfig:
    return edge_config(
        Connection(conn_id="mef", conn_type="huawei_edge_manager", host="mef.test", port=30035, extra=json.dumps(extra))
    )


def mode(path: str) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_is_inline_pem():
    assert is_inline_pem(CERT)
    assert not is_inline_pem("/etc/pki/client.pem")


def test_inline_pems_are_private_files_removed_by_close():
    pem = PemFiles(config(client_cert=CERT, client_key=KEY, ca_cert=CA))
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
            content = handle.read()
        assert content == (text if text.endswith("\n") else text + "\n")
    pem.close()
    assert not os.path.exists(folder)
    assert pem.folder is None
    pem.close()  # idempotent


def test_context_exit_removes_the_folder():
    with PemFiles(config(client_cert=CERT, client_key=KEY)) as pem:
        pem.tls_settings()
        folder = pem.folder
        assert folder is not None
        assert sorted(os.listdir(folder)) == ["client_cert.pem", "client_key.pem"]
    assert not os.path.exists(folder)


def test_context_exit_on_error_removes_the_folder():
    folder = None
    with pytest.raises(RuntimeError), PemFiles(config(client_cert=CERT, client_key=KEY)) as pem:
        pem.tls_settings()
        folder = pem.folder
        raise RuntimeError("boom")
    assert folder is not None
    assert not os.path.exists(folder)


def test_paths_are_passed_through_without_a_temp_folder(tmp_path: Path):
    cert, key, ca = tmp_path / "c.pem", tmp_path / "k.pem", tmp_path / "ca.pem"
    for path in (cert, key, ca):
        path.write_text("x")
    with PemFiles(config(client_cert=str(cert), client_key=str(key), ca_cert=str(ca))) as pem:
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
        PemFiles(config(client_cert=str(tmp_path))) as pem,
    ):
        pem.tls_settings()


@pytest.mark.parametrize(("extra", "present"), [({"client_cert": CERT}, "cert"), ({"client_key": KEY}, "key")])
def test_cert_and_key_must_come_together(extra, present):
    pem = PemFiles(config(**extra))
    try:
        with pytest.raises(ConfigurationError) as info:
            pem.tls_settings()
        assert "client_cert and extra.client_key must be given together" in str(info.value)
        assert "MIIE" not in str(info.value)
    finally:
        pem.close()
    assert pem.folder is None


def test_rejected_inline_key_is_not_left_on_disk():
    pem = PemFiles(config(client_key=KEY))
    with pytest.raises(ConfigurationError):
        pem.tls_settings()
    folder = pem.folder
    leftover = folder is not None and os.path.exists(os.path.join(folder, "client_key.pem"))
    pem.close()
    assert not leftover


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
    pem = PemFiles(config(client_cert=CERT, client_key=KEY))
    pem.tls_settings()
    folder = pem.folder
    assert folder is not None
    del pem
    import gc

    gc.collect()
    assert not os.path.exists(folder)
