// The real OpenID provider lucia's end-to-end tests sign in against: npm
// oidc-provider@9 with its development login and consent forms, one
// confidential client, PKCE required, in-memory storage and dev signing keys.
//
// Configuration comes from the environment (set by tests/oauth/conftest.py):
//   OIDC_CLIENT_ID, OIDC_CLIENT_SECRET, OIDC_REDIRECT_URIS (space-separated),
//   OIDC_PORT (0 or unset: any free port). It listens on 127.0.0.1 only and
// prints one line "ISSUER <url>" once it accepts connections.

import http from 'node:http';
import crypto from 'node:crypto';

import Provider from 'oidc-provider';

const clientId = process.env.OIDC_CLIENT_ID || 'lucia-test';
const clientSecret = process.env.OIDC_CLIENT_SECRET;
const redirectUris = (process.env.OIDC_REDIRECT_URIS || '').split(' ').filter(Boolean);
if (!clientSecret || redirectUris.length === 0) {
  console.error('OIDC_CLIENT_SECRET and OIDC_REDIRECT_URIS are required');
  process.exit(2);
}

// The port must be known before the Provider exists (it is part of the
// issuer), so bind first and hand requests over once the Provider is built.
let handler = (req, res) => { res.statusCode = 503; res.end(); };
const server = http.createServer((req, res) => handler(req, res));
server.listen(Number(process.env.OIDC_PORT || 0), '127.0.0.1', () => {
  const { port } = server.address();
  const issuer = `http://127.0.0.1:${port}`;

  const provider = new Provider(issuer, {
    clients: [{
      client_id: clientId,
      client_secret: clientSecret,
      redirect_uris: redirectUris,
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    }],
    pkce: { required: () => true },
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name', 'preferred_username'],
    },
    // Any login the dev form accepts is an account whose subject is that login.
    async findAccount(ctx, sub) {
      return {
        accountId: sub,
        async claims() {
          return {
            sub,
            email: `${sub}@example.test`,
            email_verified: true,
            name: `Test user ${sub}`,
            preferred_username: sub,
          };
        },
      };
    },
    cookies: { keys: [crypto.randomBytes(32).toString('hex')] },
    features: { devInteractions: { enabled: true } },
  });
  provider.on('server_error', (ctx, err) => console.error('server_error', err));

  handler = provider.callback();
  console.log(`ISSUER ${issuer}`);
});

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
