"""{{name}}: a provider-hook told of every user change.

An error is logged and counted by the host. The event's fields:
wit/types.wit (record provider-event).
"""

from wit_world import exports
from wit_world.imports import log, types


class ProviderHandler(exports.ProviderHandler):
    def handle(self, event: types.ProviderEvent) -> None:
        log.log(log.Level.INFO, "provider event",
                [("action", str(event.action)), ("object", event.object_name)])
