"""{{name}}: a check-password-hook, checking the password of a user SFTPGo
stores.

Here a password followed by a 6-digit code: check the code, and let SFTPGo
check the rest against the stored password (PasswordCheck_Partial). The
types: wit/login.wit.
"""

from wit_world import exports
from wit_world.exports import check_password


class CheckPassword(exports.CheckPassword):
    def check_password(self, username: str, password: str, ip: str,
                       protocol: str) -> check_password.PasswordCheck:
        if len(password) < 6:
            return check_password.PasswordCheck_Wrong("too short")
        return check_password.PasswordCheck_Partial(password[:-6])
