"""{{name}}: a notifier-plugin, receiving the events its notifier_options
select on one long-lived instance.

An error (raise componentize_py_types.Err(reason)) makes the host queue
the event and retry it. The events' fields: wit/types.wit.
"""

from wit_world import exports
from wit_world.imports import log, types


class Notifier(exports.Notifier):
    def notify_fs_event(self, event: types.FsEvent) -> None:
        log.log(log.Level.INFO, "fs event", [("action", str(event.action)), ("path", event.path)])

    def notify_provider_event(self, event: types.ProviderEvent) -> None:
        log.log(log.Level.INFO, "provider event", [("object", event.object_name)])

    def notify_log_event(self, event: types.LogEvent) -> None:
        log.log(log.Level.INFO, "log event", [("user", event.username), ("ip", event.ip)])
