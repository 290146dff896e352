"""{{name}}: a pre-login-hook, run before each login the provider checks.

`user` is SFTPGo's user JSON as stored (`id` 0 and only `username` for a
user it does not know). Answer PreLoginAnswer_Replace(json) to create or
change the user just in time, PreLoginAnswer_Deny(reason) to refuse the
login. The types: wit/login.wit.
"""

import json

from wit_world import exports
from wit_world.exports import pre_login
from wit_world.imports import log, login_types


class PreLogin(exports.PreLogin):
    def pre_login(self, login: login_types.Login, user: str) -> pre_login.PreLoginAnswer:
        known = json.loads(user).get("id", 0) != 0
        log.log(log.Level.INFO, "pre-login",
                [("user", login.username), ("ip", login.ip), ("known", str(known))])
        return pre_login.PreLoginAnswer_NoChange()
