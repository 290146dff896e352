// {{name}}: a provider-hook told of every user change. An error (throw the
// reason) is logged and counted. The event's fields: wit/types.wit.
import { log } from 'hookhost:hooks/log@0.2.0';

export const providerHandler = {
  handle(event) {
    log('info', 'provider event', [['action', event.action], ['object', event.objectName]]);
  },
};
