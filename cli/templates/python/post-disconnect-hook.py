"""{{name}}: a post-disconnect-hook, told of each closed connection.

`username` is empty when the client never logged in. An error is logged.
"""

from wit_world import exports
from wit_world.imports import log


class PostDisconnect(exports.PostDisconnect):
    def post_disconnect(self, ip: str, protocol: str, username: str, duration_ms: int) -> None:
        log.log(log.Level.INFO, "disconnected",
                [("user", username), ("ip", ip), ("protocol", protocol), ("ms", str(duration_ms))])
