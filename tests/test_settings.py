"""Configuration: RESTCOMM_* variables, the same-named flags, and their defaults."""

from __future__ import annotations

import argparse

import pytest

from restcomm import settings


def test_defaults_are_the_embedded_install():
    config = settings.from_env({})
    assert config.database_url == "sqlite://restcomm.sqlite3"
    assert (config.http_host, config.http_port) == ("127.0.0.1", 8080)
    assert (config.sip_host, config.sip_port) == ("127.0.0.1", 5080)
    assert config.base_url == "http://127.0.0.1:8080"


def test_variables_then_flags():
    parser = argparse.ArgumentParser()
    settings.add_flags(parser)
    environ = {"RESTCOMM_HTTP_PORT": "9000", "RESTCOMM_SIP_PORT": "5090",
               "RESTCOMM_DATABASE_URL": "postgres://postgres@127.0.0.1/test",
               "RESTCOMM_PUBLIC_URL": "https://voice.example.com/", "RESTCOMM_VALIDATE_RESPONSES": "yes"}
    config = settings.from_args(parser.parse_args(["--http-port", "9100", "--http-host", "0.0.0.0"]), environ)
    assert config.http_port == 9100  # the flag wins
    assert config.http_host == "0.0.0.0"
    assert config.sip_port == 5090
    assert config.database_url == "postgres://postgres@127.0.0.1/test"
    assert config.validate_responses is True
    assert config.base_url == "https://voice.example.com"


def test_base_url_of_a_wildcard_host_is_loopback():
    assert settings.from_env({"RESTCOMM_HTTP_HOST": "0.0.0.0"}).base_url == "http://127.0.0.1:8080"


@pytest.mark.parametrize(("name", "value"), [("RESTCOMM_HTTP_PORT", "eighty"), ("RESTCOMM_VALIDATE_RESPONSES", "sure")])
def test_malformed_variables_are_refused_with_their_name(name, value):
    with pytest.raises(ValueError, match=name):
        settings.from_env({name: value})


def test_the_rtp_timeout_is_a_minute_and_zero_turns_it_off():
    assert settings.from_env({}).rtp_timeout_seconds == 60
    assert settings.from_env({"RESTCOMM_RTP_TIMEOUT_SECONDS": "0"}).rtp_timeout_seconds == 0


@pytest.mark.parametrize("value", ["-1", "a minute", "1.5"])
def test_a_bad_rtp_timeout_is_refused_at_start(capsys, monkeypatch, value):
    """`restcomm serve` stops before anything starts, naming the setting (as for every other setting)."""
    from restcomm.cli import main

    monkeypatch.setenv("RESTCOMM_RTP_TIMEOUT_SECONDS", value)
    with pytest.raises(SystemExit) as exited:
        main(["serve"])
    assert exited.value.code == 2
    assert "RESTCOMM_RTP_TIMEOUT_SECONDS must be" in capsys.readouterr().err
