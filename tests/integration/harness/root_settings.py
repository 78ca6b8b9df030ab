"""The file root's smtpshim wrapper leaves for the root processes it
starts (shim/common/root_settings.h): tests that preload the shim by hand
as root write it themselves, as the wrapper would."""
import os
import secrets
from pathlib import Path

ROOT_SETTINGS_DIR = Path("/run/smtpshim")


def root_settings_file(env: dict) -> str:
    """Writes env as NAME=value lines; returns the name for SMTPSHIM_SETTINGS."""
    ROOT_SETTINGS_DIR.mkdir(mode=0o700, exist_ok=True)
    name = "env-test-" + secrets.token_hex(8)
    fd = os.open(ROOT_SETTINGS_DIR / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write("".join(f"{k}={v}\n" for k, v in env.items()))
    return name
