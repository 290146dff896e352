// {{name}}: a pre-login-hook, run before each login the provider checks.
//
// `user` is SFTPGo's user JSON as stored (`id` 0 and only `username` for a
// user it does not know). Answer {tag: 'replace', val: json} to create or
// change the user just in time, {tag: 'deny', val: reason} to refuse.
import { log } from 'hookhost:hooks/log@0.2.0';

export const preLogin = {
  preLogin(login, user) {
    const known = JSON.parse(user).id !== 0;
    log('info', 'pre-login', [['user', login.username], ['ip', login.ip], ['known', `${known}`]]);
    return { tag: 'no-change' };
  },
};
