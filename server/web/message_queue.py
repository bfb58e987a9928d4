"""Socket.IO events shared between ward processes through Redis, without durability ever waiting on it.

python-socketio's RedisManager, with what a ward server needs on top:
- Every emit reaches this process's own sockets at once; the copy for other processes goes on a bounded
  queue that one background task publishes, so a handler (a rating's ack) never waits on Redis. A
  publish that fails twice is logged and dropped: screens catch up from a fresh snapshot instead.
- The listener polls with a timeout and pings Redis when it has been quiet, so a connection Redis
  dropped (client-output-buffer-limit, an idle timeout, a restart) or one that went silent is noticed
  within seconds and subscribed again, never left dead. `on_back` then lets every screen resync.
- WardPulse's own notices ("the registry changed") travel on the same channel.
"""

from __future__ import annotations

import json
import logging
import queue
import time
from collections.abc import Callable

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from socketio import RedisManager

log = logging.getLogger(__name__)

CHANNEL = "wardpulse"
# Pinned client options. redis-py 8 gives every socket a 5 s read timeout by default, which turns a
# blocking pub/sub listen() into a reconnect every quiet 5 s; this listener never blocks without its own
# timeout, so a finite socket_timeout is safe and bounds a stuck write. No hidden retries: a publish is
# tried twice here, and redis-py's own back-off would hold the publisher for seconds per message.
REDIS_OPTIONS = {
    "socket_connect_timeout": 2,
    "socket_timeout": 5,
    "socket_keepalive": True,
    "health_check_interval": 0,  # our own ping below, whose answer we see
    "retry": Retry(NoBackoff(), 0),
}
POLL_SECONDS = 1  # the listener wakes this often to check it still hears Redis
PING_AFTER_SECONDS = 3  # quiet this long: ask Redis for a pong
DEAD_AFTER_SECONDS = 8  # not even a pong for this long: the connection is dead, subscribe again
RETRY_SECONDS = (0.5, 5)  # back-off between attempts to reach Redis again, first and longest
OUTGOING_LIMIT = 2000  # messages waiting to be published; past that, new ones are dropped (and logged)
NOTICE = "wardpulse"  # the `method` of WardPulse's own messages on the channel


class WardQueue(RedisManager):
    """The Socket.IO client manager of a ward process: local emits first, Redis for the others."""

    def __init__(self, url: str):
        super().__init__(url, channel=CHANNEL, redis_options=dict(REDIS_OPTIONS))
        self.listening = False
        self.reconnects = 0  # times the listener had to subscribe again
        self.dropped = 0  # messages given up on after two failed publishes
        self.on_back: Callable[[], None] = lambda: None  # Redis is back after a loss: screens resync
        self.on_lost: Callable[[], None] = lambda: None  # Redis is lost: screens say so
        self.on_notice: Callable[[dict], None] = lambda notice: None
        self._publisher = None
        self._outgoing = None

    def initialize(self):
        """Start listening and publishing now, not at the first connection (as Socket.IO would): a ward
        process hears the others, and says that it does in /healthz, before any screen connects."""
        if self._outgoing is not None:
            return
        self.server.manager_initialized = True
        super().initialize()
        self._outgoing = self.server.eio.create_queue(OUTGOING_LIMIT)
        self.server.start_background_task(self._publish_loop)

    def health(self) -> dict:
        """For /healthz and the screens: whether events from other processes arrive now."""
        return {"ok": self.listening, "reconnects": self.reconnects, "dropped": self.dropped}

    def notify(self, what: str, **details) -> None:
        """Tell every other ward process something (e.g. "registry"), through the queue."""
        self._publish(dict(details, method=NOTICE, what=what, host_id=self.host_id))

    # -- publishing, off the handlers' path
    def _publish(self, data):
        try:
            self._outgoing.put_nowait(data)
        except queue.Full:  # Redis has been unreachable for a while
            self.dropped += 1
            log.warning("message queue: %d messages waiting for Redis; one more dropped", OUTGOING_LIMIT)

    def _publish_loop(self) -> None:
        while True:
            data = self._outgoing.get()
            text = self.json.dumps(data)
            for attempt in (1, 2):
                try:
                    if self._publisher is None:
                        self._publisher = redis.Redis.from_url(self.redis_url, **self.redis_options)
                    self._publisher.publish(self.channel, text)
                    break
                except Exception as exc:  # noqa: BLE001  (any failure of Redis: try once more, then drop)
                    self._publisher = None
                    if attempt == 2:
                        self.dropped += 1
                        log.error("message queue: could not publish %s twice (%s); dropped", data.get("method"), exc)

    # -- listening, with a watch on the connection
    def _redis_listen_with_retries(self):
        delay, lost = RETRY_SECONDS[0], False
        while True:
            try:
                self._redis_connect()
                self.pubsub.subscribe(self.channel)
                heard = pinged = time.monotonic()
                self.listening = True
                if lost:
                    lost = False
                    log.warning("message queue: listening to Redis again")
                    self.server.start_background_task(self.on_back)
                delay = RETRY_SECONDS[0]
                while True:
                    message = self.pubsub.get_message(timeout=POLL_SECONDS)
                    now = time.monotonic()
                    if message is not None:
                        heard = now
                        if message.get("type") == "message":
                            yield message
                    elif now - heard > DEAD_AFTER_SECONDS:
                        raise ConnectionError(f"no answer from Redis for {DEAD_AFTER_SECONDS} s")
                    elif now - heard > PING_AFTER_SECONDS and now - pinged > PING_AFTER_SECONDS:
                        self.pubsub.ping()
                        pinged = now
            except Exception as exc:  # noqa: BLE001  (whatever broke the connection: subscribe again)
                if self.listening or not lost:
                    log.error("message queue: lost Redis (%s); events from other processes wait", exc)
                    self.listening = False
                    self.server.start_background_task(self.on_lost)
                self.listening, lost = False, True
                self.reconnects += 1
                self._close_listener()
                time.sleep(delay)
                delay = min(delay * 2, RETRY_SECONDS[1])

    def _close_listener(self) -> None:
        try:
            if self.pubsub is not None:
                self.pubsub.close()
            if self.redis is not None:
                self.redis.close()
        except Exception:  # noqa: BLE001  (already broken)
            pass

    def _listen(self):
        for message in self._redis_listen_with_retries():
            data = message["data"]
            try:
                decoded = json.loads(data)
            except ValueError:
                continue
            if isinstance(decoded, dict) and decoded.get("method") == NOTICE:
                if decoded.get("host_id") != self.host_id:
                    self.server.start_background_task(self.on_notice, decoded)
                continue
            yield decoded
