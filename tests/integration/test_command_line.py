"""The wrapper's command line as users of GNU tools expect it: a
subcommand's options anywhere before "--", every usage mistake named in
words with exit status 2, --version and --help with 0."""
import os
import subprocess

import pytest

from harness.clients import SMTPSHIM


def smtpshim(*args):
    p = subprocess.run([str(SMTPSHIM), *args], capture_output=True, text=True, timeout=60,
                       env={**os.environ, "SMTPSHIM_CONFIG": ""})
    return p.returncode, p.stdout, p.stderr


def test_subcommand_options_may_follow_the_operand():
    options = ["--relay", "smtp.example.net:587", "--mode", "starttls"]
    before = smtpshim("check", *options, "mail.example")
    after = smtpshim("check", "mail.example", *options)
    mixed = smtpshim("check", "--relay", "smtp.example.net:587", "mail.example",
                     "--mode", "starttls")
    assert before[0] == 0, before
    assert "smtp.example.net (relay), trying 587 (STARTTLS)" in before[1], before
    assert after == before and mixed == before


def test_an_operand_after_double_dash_may_look_like_an_option():
    rc, out, err = smtpshim("check", "--relay", "smtp.example.net", "--", "-odd.example")
    assert rc == 0 and "-odd.example" in out, (rc, out, err)


@pytest.mark.parametrize("tool, what", [("probe", "HOST"), ("check", "HOST[:PORT]"),
                                        ("listen", "[ADDRESS:]PORT|unix:PATH")])
def test_missing_operand_is_named_and_exits_2(tool, what):
    rc, out, err = smtpshim(tool, "--mode", "tls")
    assert rc == 2 and f"smtpshim {tool}: {what} is missing" in err, (rc, out, err)
    assert f"usage: smtpshim {tool} [OPTIONS] {what}" in err


def test_second_operand_is_named_and_exits_2():
    rc, out, err = smtpshim("probe", "a.example", "--mode", "tls", "b.example")
    assert rc == 2, (rc, out, err)
    assert "one HOST only, but both 'a.example' and 'b.example' were given" in err


def test_no_command_is_named_and_exits_2():
    rc, out, err = smtpshim("--mode", "tls")
    assert rc == 2 and err.startswith("smtpshim: no COMMAND to run"), (rc, out, err)


@pytest.mark.parametrize("args", [["--no-such-option"], ["check", "x.example", "--bogus"]])
def test_unknown_option_is_named_and_exits_2(args):
    rc, out, err = smtpshim(*args)
    assert rc == 2 and f"smtpshim: unknown option {args[-1]}" in err, (rc, out, err)


def test_option_without_its_value_is_named_and_exits_2():
    rc, out, err = smtpshim("check", "x.example", "--relay")
    assert rc == 2 and "--relay needs a value (HOST[:PORT])" in err, (rc, out, err)


def test_version_and_help_exit_0():
    rc, out, _ = smtpshim("--version")
    assert rc == 0 and out.startswith("smtpshim "), out
    rc, out, _ = smtpshim("probe", "--help")
    assert rc == 0 and "usage: smtpshim" in out
