"""Everything that touches the data dir: journal, registry, alert store, backup."""
