// {{name}}: an external-auth-hook, authenticating logins instead of the
// provider. `user` is the stored user's JSON for a user SFTPGo knows, else
// undefined. Answer {tag: 'user', val: json}, {tag: 'stored-user'} or
// {tag: 'deny', val: reason}.

export const externalAuth = {
  authenticate(credentials, user) {
    if (user !== undefined) return { tag: 'stored-user' };
    return { tag: 'deny', val: `${credentials.username} is unknown` };
  },
};
