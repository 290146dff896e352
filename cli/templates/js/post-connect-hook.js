// {{name}}: a post-connect-hook, deciding whether a new connection may go on
// to authenticate. Returning allows it; throwing the reason refuses it.

export const postConnect = {
  postConnect(ip, protocol) {
    if (!ip) throw 'no client address';
  },
};
