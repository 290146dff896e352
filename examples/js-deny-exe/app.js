// deny-exe in JavaScript: a pre-upload hook refusing Windows executables.
//
// The same hook as examples/deny-exe with its default list, written against
// the same WIT (wit/) and built with componentize-js (README: "Hooks in
// JavaScript"):
//
//   npm install --prefix target/js @bytecodealliance/componentize-js@0.23.0
//   target/js/node_modules/.bin/componentize-js --wit wit --world-name fs-hook \
//     --out target/js/deny_exe_js.wasm examples/js-deny-exe/app.js
//
// The WIT's variants and enums map to JavaScript as componentize-js maps
// them: a verdict is {tag: 'allow'} or {tag: 'deny', val: reason}; the
// event's fields are camelCase (event.path, event.username, event.fileSize).
import { log } from 'hookhost:hooks/log@0.2.0';

const REFUSED = ['exe', 'bat', 'cmd', 'com', 'msi', 'scr'];

export const fsHandler = {
  handle(event) {
    const name = event.path.split('/').pop();
    const dot = name.lastIndexOf('.');
    const ext = dot > 0 ? name.slice(dot + 1).toLowerCase() : '';
    if (ext && REFUSED.includes(ext)) {
      log('info', 'refused upload', [['user', event.username], ['path', event.path]]);
      return { tag: 'deny', val: `.${ext} files are not allowed` };
    }
    return { tag: 'allow' };
  },
};
