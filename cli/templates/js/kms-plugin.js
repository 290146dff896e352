// {{name}}: a kms-plugin, encrypting and decrypting SFTPGo's secrets for the
// scheme its kms_options name. Refuses until written: an error is what
// SFTPGo reports.

export const kms = {
  encrypt(secret, url, masterKey) {
    throw 'encrypt: not written yet';
  },
  decrypt(secret, url, masterKey) {
    throw 'decrypt: not written yet';
  },
};
