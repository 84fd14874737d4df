import os
import pathlib
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]

SMALL = """
[experiment]
name = "readers"
seed = 11

[population]
founders = 500

[time]
years = 10.0

[record]
agents_every_ticks = 52
"""


def bondsim_bin() -> str:
    path = os.environ.get("BONDSIM_BIN") or str(ROOT / "target" / "release" / "bondsim")
    if not pathlib.Path(path).exists():
        pytest.fail(f"bondsim binary not found at {path}: build it with `cargo build --release` or set BONDSIM_BIN")
    return path


@pytest.fixture(scope="session")
def dataset(tmp_path_factory):
    """A small run's output folder and its manifest."""
    import json

    tmp = tmp_path_factory.mktemp("bondsim")
    config = tmp / "readers.toml"
    config.write_text(SMALL)
    out = tmp / "out"
    subprocess.run([bondsim_bin(), "run", str(config), "--out", str(out), "--quiet"], check=True)
    # A crash leftover: a temporary file in a partition. Readers must not see it.
    (out / "agents" / "run=readers-s11" / ".part-00001.parquet.inprogress").write_bytes(b"PAR1 half-written")
    manifest = json.loads((out / "manifest.json").read_text())
    return out, manifest
