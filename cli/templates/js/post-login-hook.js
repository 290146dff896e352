// {{name}}: a post-login-hook, told of each login after the fact. `user` is
// the user's JSON (secrets removed). An error (throw the reason) is logged.
import { log } from 'hookhost:hooks/log@0.2.0';

export const postLogin = {
  postLogin(login, succeeded, user) {
    log('info', 'login', [['user', login.username], ['ip', login.ip], ['ok', `${succeeded}`]]);
  },
};
