"""{{name}}: an external-auth-hook, authenticating logins instead of the
provider.

`user` is the stored user's JSON for a user SFTPGo knows, else None.
Answer AuthAnswer_User(json) to log in that user, AuthAnswer_StoredUser()
for the stored one unchanged, AuthAnswer_Deny(reason) to refuse. The
types: wit/login.wit.
"""

from typing import Optional

from wit_world import exports
from wit_world.exports import external_auth


class ExternalAuth(exports.ExternalAuth):
    def authenticate(self, credentials: external_auth.Credentials,
                     user: Optional[str]) -> external_auth.AuthAnswer:
        if user is not None:
            return external_auth.AuthAnswer_StoredUser()
        return external_auth.AuthAnswer_Deny(f"{credentials.username} is unknown")
