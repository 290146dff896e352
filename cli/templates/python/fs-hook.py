"""{{name}}: an fs-hook refusing uploads over a size limit.

It runs on `upload`, made synchronous with `execute_sync` (SFTPGo 2.4+
removes a file whose synchronous upload hook fails). Not on `pre-upload`:
there SFTPGo does not know the incoming size yet, and `file_size` is the
size of the file being overwritten (0 for a new one).

The limit is the first argument (`grants.args`), in bytes; 10 MiB without
one. An argument it cannot read ("10 MB") refuses every upload, naming it,
rather than guess. The event's fields: wit/types.wit (record fs-event), or
the bindings `componentize-py -d wit -w fs-hook bindings bindings/` writes.
"""

import json
import sys

from wit_world import exports
from wit_world.imports import log, types

DEFAULT_LIMIT = 10 << 20


def limit() -> int:
    """The limit in bytes; ValueError names an argument it cannot read."""
    if len(sys.argv) < 2:
        return DEFAULT_LIMIT
    arg = sys.argv[1]
    if not arg.strip().isdigit():
        raise ValueError(f"the limit argument {json.dumps(arg)} is not a number of bytes (10485760 is 10 MiB)")
    return int(arg)


class FsHandler(exports.FsHandler):
    def handle(self, event: types.FsEvent) -> types.Verdict:
        if event.action != types.FsAction.UPLOAD:
            return types.Verdict_Allow()
        try:
            most = limit()
        except ValueError as error:
            log.log(log.Level.ERROR, str(error), [])
            return types.Verdict_Deny(str(error))
        if event.file_size > most:
            log.log(log.Level.INFO, "upload over the limit",
                    [("user", event.username), ("path", event.path), ("size", str(event.file_size))])
            return types.Verdict_Deny(f"{event.file_size} bytes is over the limit of {most} bytes")
        return types.Verdict_Allow()
