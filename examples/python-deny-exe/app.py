"""deny-exe in Python: a pre-upload hook refusing files by extension.

The same hook as examples/deny-exe, written against the same WIT (wit/) and
built with componentize-py:

    componentize-py -d ../../wit -w fs-hook componentize app -o deny_exe_py.wasm

The refused extensions come from the hook's arguments and from
DENY_EXTENSIONS (comma-separated); with neither, common Windows executables.
"""

import os
import sys

from wit_world import exports
from wit_world.imports import log, types

DEFAULT = {"exe", "bat", "cmd", "com", "msi", "scr"}


def refused_extensions():
    wanted = sys.argv[1:] + os.environ.get("DENY_EXTENSIONS", "").split(",")
    cleaned = {e.strip().lstrip(".").lower() for e in wanted if e.strip()}
    return cleaned or DEFAULT


class FsHandler(exports.FsHandler):
    def handle(self, event: types.FsEvent) -> types.Verdict:
        name = event.path.rsplit("/", 1)[-1]
        stem, dot, ext = name.rpartition(".")
        ext = ext.lower()
        if dot and stem and ext in refused_extensions():
            log.log(log.Level.INFO, "refused upload", [("user", event.username), ("path", event.path)])
            return types.Verdict_Deny(f".{ext} files are not allowed")
        return types.Verdict_Allow()
