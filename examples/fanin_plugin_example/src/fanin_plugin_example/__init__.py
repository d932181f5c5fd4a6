"""An example fanin plugin: one init scheme, one activation and one data set, each found by fanin through
an entry point of pyproject.toml (fanin.plugins), with their Hydra group files in conf/."""
