"""{{name}}: a post-connect-hook, deciding whether a new connection may go
on to authenticate.

Returning allows it; raising componentize_py_types.Err(reason) refuses it.
"""

from componentize_py_types import Err

from wit_world import exports


class PostConnect(exports.PostConnect):
    def post_connect(self, ip: str, protocol: str) -> None:
        if not ip:
            raise Err("no client address")
