"""The installed distribution: its licence (MIT OR Apache-2.0, both texts) and requirements."""

from importlib import metadata

import mdn


def test_the_wheel_carries_both_licence_texts():
    meta = metadata.metadata("mdn")
    assert meta["License-Expression"] == "MIT OR Apache-2.0"
    files = {f.name: f for f in metadata.files("mdn")}
    assert "LICENSE-MIT" in files and "LICENSE-APACHE" in files
    assert "Permission is hereby granted" in files["LICENSE-MIT"].read_text()
    assert "Apache License" in files["LICENSE-APACHE"].read_text()


def test_requirements_are_numpy_and_scikit_learn_only():
    required = [r for r in metadata.requires("mdn") if "extra ==" not in r]
    assert sorted(r.split(">")[0].split("=")[0].strip() for r in required) == ["numpy", "scikit-learn"]
    assert mdn.__version__ == metadata.version("mdn")
