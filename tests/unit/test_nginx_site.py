"""server/tools/nginx.py: the shipped site files made ready for a loopback nginx, changed only on their trust lines."""

from __future__ import annotations

import re

import pytest

from server.tools.nginx import ONE_PROCESS_SITE, SHARDED_SITE, sharded_site, swap_lines

SHIPPED = SHARDED_SITE.read_text()


def map_block(site: str) -> str:
    return re.search(r"map \$wardpulse_ward \$wardpulse_shard \{\n(.*?)\n\}", site, re.DOTALL).group(1)


def test_the_shipped_sharded_site_names_every_ward_once_and_every_shard_in_wardpulse_any():
    wards = re.findall(r"^ +(\S+) +wardpulse_shard_(\w+);", map_block(SHIPPED), re.MULTILINE)
    assert len({ward for ward, _ in wards}) == len(wards)
    shards = set(re.findall(r"^upstream wardpulse_shard_(\w+) \{\n +server (\S+);", SHIPPED, re.MULTILINE))
    assert {name for _, name in wards} == {name for name, _ in shards}
    anyone = re.search(r"upstream wardpulse_any \{(.*?)\}", SHIPPED, re.DOTALL).group(1)
    assert sorted(re.findall(r"server (\S+);", anyone)) == sorted(address for _, address in shards)


def test_sharded_site_swaps_the_map_the_upstreams_and_wardpulse_any_and_nothing_else():
    site = sharded_site(SHIPPED, {"a": (6101, ("7B", "B02")), "b": (6102, ("B01",)), "c": (6103, ("B03",))})
    assert re.findall(r"^ +(\S+) +(wardpulse_shard_\w+);", map_block(site), re.MULTILINE) == [
        ("7B", "wardpulse_shard_a"), ("B02", "wardpulse_shard_a"), ("B01", "wardpulse_shard_b"), ("B03", "wardpulse_shard_c")]
    assert "default wardpulse_any;" in map_block(site)
    for name, port in (("a", 6101), ("b", 6102), ("c", 6103)):
        assert re.search(rf"upstream wardpulse_shard_{name} \{{\n +server 127\.0\.0\.1:{port};", site)
    anyone = re.search(r"upstream wardpulse_any \{(.*?)\}", site, re.DOTALL).group(1)
    assert re.findall(r"server (\S+);", anyone) == ["127.0.0.1:6101", "127.0.0.1:6102", "127.0.0.1:6103"]
    assert "hash $remote_addr consistent;" in anyone
    for shipped_only in ("127.0.0.1:5001", "127.0.0.1:5002", " 8A "):
        assert shipped_only not in site
    # Everything after the upstreams (TLS, headers, locations) is as shipped.
    assert site[site.index("server {"):] == SHIPPED[SHIPPED.index("server {"):]


def test_a_trust_line_that_is_missing_is_a_plain_error():
    with pytest.raises(ValueError, match="exactly once"):
        swap_lines(ONE_PROCESS_SITE.read_text(), {"server 127.0.0.1:5999;": "x"}, ONE_PROCESS_SITE.name)
    with pytest.raises(ValueError, match="ward lines"):
        sharded_site(ONE_PROCESS_SITE.read_text(), {"a": (6101, ("7B",))})
