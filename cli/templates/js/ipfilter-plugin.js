// {{name}}: an ipfilter-plugin, allowing or refusing client addresses.
// Returning allows; throwing the reason refuses.

export const ipfilter = {
  checkIp(ip, protocol) {
    if (ip.startsWith('192.0.2.')) throw `${ip} is refused`;
  },
  reload() {},
};
