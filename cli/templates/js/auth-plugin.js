// {{name}}: an auth-plugin, authenticating the logins in its scope. Each check
// returns the user to log in (JSON), undefined for the known user
// unchanged, or throws the reason to refuse. Refuses everything until
// written.

const REFUSED = 'authentication refused';

export const auth = {
  checkUserAndPass(username, password, ip, protocol, user) { throw REFUSED; },
  checkUserAndPublicKey(username, publicKey, ip, protocol, user) { throw REFUSED; },
  checkUserAndTlsCert(username, tlsCert, ip, protocol, user) { throw REFUSED; },
  checkUserAndKeyboardInteractive(username, ip, protocol, user) { throw REFUSED; },
  sendKeyboardAuthRequest(request) { throw REFUSED; },
  checkPassword(username, password, ip, protocol) { throw REFUSED; },
};
