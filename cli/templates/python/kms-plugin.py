"""{{name}}: a kms-plugin, encrypting and decrypting SFTPGo's secrets for
the scheme its kms_options name. Refuses until written: an error is what
SFTPGo reports.
"""

from componentize_py_types import Err

from wit_world import exports
from wit_world.exports import kms


class Kms(exports.Kms):
    def encrypt(self, secret: kms.Secret, url: str, master_key: str) -> kms.Encrypted:
        raise Err("encrypt: not written yet")

    def decrypt(self, secret: kms.Secret, url: str, master_key: str) -> str:
        raise Err("decrypt: not written yet")
