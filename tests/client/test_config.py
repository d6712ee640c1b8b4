"""The TOML files the client writes for itself and for fpm read back exactly, whatever
their values hold: quotes, backslashes, control characters, line separators, emoji."""

from __future__ import annotations

import tempfile
import tomllib
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from fpmreg.client.config import Config, load_config, save_config
from fpmreg.client.folder import fpm_config_text

# Anything but lone surrogates (which no UTF-8 file can hold), with the characters TOML
# must escape drawn often.
_AWKWARD = '"\\\t\n\r\x00\x08\x0b\x0c\x1b\x1f\x7f\x85\u2028\u2029\ufeff\U0001f600\U0010ffff'
any_text = st.text(st.characters(exclude_categories=["Cs"]) | st.sampled_from(_AWKWARD))
# `load_config` drops a URL's trailing slash, as every other registry URL is read.
urls = any_text.filter(lambda url: not url.endswith("/"))


@settings(max_examples=200)
@given(any_text, st.dictionaries(urls, any_text, min_size=1, max_size=4))
def test_the_config_file_reads_back_as_saved(registry: str, tokens: dict[str, str]) -> None:
    config = Config(registry, tokens)
    with tempfile.TemporaryDirectory() as home:
        path = Path(home) / "fpmreg" / "config.toml"

        save_config(path, config)

        tomllib.loads(path.read_text(encoding="utf-8"))  # plain TOML, for any tool
        assert load_config(path) == config


@settings(max_examples=200)
@given(any_text)
def test_the_fpm_config_names_the_registry_folder_exactly(folder: str) -> None:
    text = fpm_config_text(folder, "fpmreg sync")

    assert tomllib.loads(text) == {"registry": {"path": folder}}
    assert text.startswith("# Written by `fpmreg sync`: pass it to fpm with `--config-file`.\n")
