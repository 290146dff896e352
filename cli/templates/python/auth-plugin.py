"""{{name}}: an auth-plugin, authenticating the logins in its scope.

Each check answers the user to log in (JSON), None for the known user
unchanged, or raises componentize_py_types.Err(reason) to refuse. Refuses
everything until written.
"""

from typing import Optional

from componentize_py_types import Err

from wit_world import exports
from wit_world.exports import auth

REFUSED = "authentication refused"


class Auth(exports.Auth):
    def check_user_and_pass(self, username: str, password: str, ip: str, protocol: str,
                            user: Optional[str]) -> Optional[str]:
        raise Err(REFUSED)

    def check_user_and_public_key(self, username: str, public_key: str, ip: str, protocol: str,
                                  user: Optional[str]) -> Optional[str]:
        raise Err(REFUSED)

    def check_user_and_tls_cert(self, username: str, tls_cert: str, ip: str, protocol: str,
                                user: Optional[str]) -> Optional[str]:
        raise Err(REFUSED)

    def check_user_and_keyboard_interactive(self, username: str, ip: str, protocol: str,
                                            user: Optional[str]) -> Optional[str]:
        raise Err(REFUSED)

    def send_keyboard_auth_request(self, request: auth.KeyboardRequest) -> auth.KeyboardResponse:
        raise Err(REFUSED)

    def check_password(self, username: str, password: str, ip: str,
                       protocol: str) -> auth.CheckPasswordResult:
        raise Err(REFUSED)
