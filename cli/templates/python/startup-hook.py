"""{{name}}: a startup-hook, run once the server has started. An error is
logged.
"""

from wit_world import exports
from wit_world.imports import log


class Startup(exports.Startup):
    def startup(self) -> None:
        log.log(log.Level.INFO, "the server started", [])
