// {{name}}: an fs-hook refusing uploads over a size limit.
//
// It runs on `upload`, made synchronous with `execute_sync` (SFTPGo 2.4+
// removes a file whose synchronous upload hook fails). Not on `pre-upload`:
// there SFTPGo does not know the incoming size yet.
//
// The limit is the first argument (`grants.args`, read through
// wasi:cli/environment, which wit/app.wit imports), in bytes; 10 MiB
// without one. An argument it cannot read ("10 MB") refuses every upload,
// naming it, rather than guess. Fields are camelCase (event.fileSize),
// variants {tag, val}: wit/types.wit.
import { log } from 'hookhost:hooks/log@0.2.0';
import { getArguments } from 'wasi:cli/environment@0.2.3';

const DEFAULT_LIMIT = 10n << 20n;

function limit() {
  const arg = getArguments()[1];
  if (arg === undefined) return DEFAULT_LIMIT;
  if (!/^\s*\d+\s*$/.test(arg)) {
    throw new Error(`the limit argument ${JSON.stringify(arg)} is not a number of bytes (10485760 is 10 MiB)`);
  }
  return BigInt(arg.trim());
}

export const fsHandler = {
  handle(event) {
    if (event.action !== 'upload') return { tag: 'allow' };
    let most;
    try {
      most = limit();
    } catch (error) {
      log('error', error.message, []);
      return { tag: 'deny', val: error.message };
    }
    if (event.fileSize > most) {
      log('info', 'upload over the limit',
        [['user', event.username], ['path', event.path], ['size', `${event.fileSize}`]]);
      return { tag: 'deny', val: `${event.fileSize} bytes is over the limit of ${most} bytes` };
    }
    return { tag: 'allow' };
  },
};
