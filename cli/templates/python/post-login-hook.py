"""{{name}}: a post-login-hook, told of each login after the fact.

`user` is the user's JSON (secrets removed). An error (raise
componentize_py_types.Err(reason)) is logged and counted.
"""

from wit_world import exports
from wit_world.imports import log, login_types


class PostLogin(exports.PostLogin):
    def post_login(self, login: login_types.Login, succeeded: bool, user: str) -> None:
        log.log(log.Level.INFO, "login",
                [("user", login.username), ("ip", login.ip), ("ok", str(succeeded))])
