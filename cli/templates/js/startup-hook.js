// {{name}}: a startup-hook, run once the server has started. An error is
// logged.
import { log } from 'hookhost:hooks/log@0.2.0';

export const startup = {
  startup() {
    log('info', 'the server started', []);
  },
};
