// {{name}}: a post-disconnect-hook, told of each closed connection.
// `username` is empty when the client never logged in. An error is logged.
import { log } from 'hookhost:hooks/log@0.2.0';

export const postDisconnect = {
  postDisconnect(ip, protocol, username, durationMs) {
    log('info', 'disconnected',
      [['user', username], ['ip', ip], ['protocol', protocol], ['ms', `${durationMs}`]]);
  },
};
