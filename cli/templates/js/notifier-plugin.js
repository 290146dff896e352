// {{name}}: a notifier-plugin, receiving the events its notifier_options
// select on one long-lived instance. An error (throw the reason) makes the
// host queue the event and retry it. The fields: wit/types.wit.
import { log } from 'hookhost:hooks/log@0.2.0';

export const notifier = {
  notifyFsEvent(event) {
    log('info', 'fs event', [['action', event.action], ['path', event.path]]);
  },
  notifyProviderEvent(event) {
    log('info', 'provider event', [['object', event.objectName]]);
  },
  notifyLogEvent(event) {
    log('info', 'log event', [['user', event.username], ['ip', event.ip]]);
  },
};
