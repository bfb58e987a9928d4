"""Every file and directory WardPulse keeps in a data dir, named once.

`backup` copies them, `restore` puts them back and `serve` holds the lock, all by these names.
"""

REGISTRY_FILE = "wardpulse.json"  # wards, kiosks, wall displays, staff (TinyDB, replaced atomically)
RATINGS_DIR = "ratings"  # ratings/<WARD>/<YYYY-MM>.jsonl: the append-only journal
ALERTS_DIR = "alerts"  # alerts/<WARD>.json: alerts and the trend detector's checkpoint
LOCK_FILE = "server.lock"  # held by the one writer: the running server, or a CLI command when none runs
# (ward processes each hold it shared, so a plain server or a CLI command waits for them all to stop)
WARD_LOCKS_DIR = "ward-locks"  # ward-locks/<WARD>.lock: held by the one process that owns the ward; says its address
REGISTRY_LOCK = "registry.lock"  # held for each registry change when ward processes share the data dir
SHARDS_DIR = "shards"  # shards/<pid>.json: each ward process's address and wards, for the CLI
SECRET_FILE = "secret_key"  # signs session cookies
SERVER_INFO = "server.json"  # the running server's pid and addresses, for the CLI
CONTROL_TOKEN = "control.token"  # the bearer token the CLI sends to the running server's /control
HEALTH_PROBE = ".healthz"  # written, fsync'd and removed by every health check
THEMES_FILE = "themes.json"  # the trust's own comment themes, if it keeps one (hand-edited; see README "Comment themes")
SERVER_LOG = "soak-server.log"  # what the ward server said during a soak
