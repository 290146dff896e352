// {{name}}: a check-password-hook, checking the password of a user SFTPGo
// stores. Here a password followed by a 6-digit code: check the code, and
// let SFTPGo check the rest against the stored password ('partial').

export const checkPassword = {
  checkPassword(username, password, ip, protocol) {
    if (password.length < 6) return { tag: 'wrong', val: 'too short' };
    return { tag: 'partial', val: password.slice(0, -6) };
  },
};
