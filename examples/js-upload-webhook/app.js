// upload-webhook in JavaScript: posts a JSON message for each upload to a
// webhook with fetch(), through the hook's grant (the host refuses any
// origin not in its `grants.http`).
//
// The stock fs-hook world does not import wasi:cli/environment, so this
// hook does not read its `args`/`env` grants: set WEBHOOK before building
// (`hookhost new fs-hook NAME --lang js` writes a world that imports it).
//
//   target/js/node_modules/.bin/componentize-js --wit wit --world-name fs-hook \
//     --out target/js/upload_webhook_js.wasm examples/js-upload-webhook/app.js
//
// {"hook": "upload_webhook_js.wasm", "execute_on": ["upload"],
//  "grants": {"http": ["https://hooks.example.com"]}}
import { lastError } from 'hookhost:hooks/outbound@0.2.0';

const WEBHOOK = 'https://hooks.example.com/T000/B000';

export const fsHandler = {
  // componentize-js runs the event loop until the promise settles.
  async handle(event) {
    if (event.action !== 'upload') {
      return { tag: 'allow' };
    }
    const path = event.virtualPath ?? event.path;
    const size = Number(event.fileSize);
    const message = {
      text: `${event.username} uploaded ${path} (${size} bytes)`,
      username: event.username,
      path,
      size,
    };
    try {
      const reply = await fetch(WEBHOOK, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(message),
      });
      if (reply.status >= 200 && reply.status < 300) {
        return { tag: 'allow' };
      }
      return { tag: 'deny', val: `the webhook answered ${reply.status}` };
    } catch (error) {
      // fetch() rejects with a bare "TypeError: NetworkError" whatever
      // happened; the host says what (a grant, a limit, the network).
      return { tag: 'deny', val: `the webhook is unreachable: ${lastError() ?? error}` };
    }
  },
};
