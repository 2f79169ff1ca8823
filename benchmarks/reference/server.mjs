// The reference provider for benchmarks/compare.py: oidc-provider 9 with its development
// interactions (a login form that accepts any login, then a consent form), one confidential
// client for the authorization code flow with PKCE, RS256 ID tokens, in-memory storage.
//
//   node server.mjs PORT CLIENT_ID CLIENT_SECRET REDIRECT_URI
//
// Node and oidc-provider come from npm into benchmarks/.cache/ (compare.py installs them);
// OIDC_PROVIDER_MODULES names that node_modules folder.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const modules = process.env.OIDC_PROVIDER_MODULES
  ?? join(import.meta.dirname, '..', '.cache', 'node_modules');
const { default: Provider } = await import(
  pathToFileURL(join(modules, 'oidc-provider', 'lib', 'index.js')).href);

const [port, clientId, clientSecret, redirectUri] = process.argv.slice(2);
if (!redirectUri) {
  console.error('usage: node server.mjs PORT CLIENT_ID CLIENT_SECRET REDIRECT_URI');
  process.exit(2);
}

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: 'reference-rs256', alg: 'RS256', use: 'sig' };

const provider = new Provider(`http://127.0.0.1:${port}`, {
  clients: [{
    client_id: clientId,
    client_secret: clientSecret,
    redirect_uris: [redirectUri],
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  jwks: { keys: [signingKey] },
  cookies: { keys: [randomBytes(32).toString('base64url')] },
  pkce: { required: () => true },
  features: { devInteractions: { enabled: true } },
  // Every login the development form accepts is an account whose only claim is its subject.
  findAccount: (ctx, accountId) => ({ accountId, claims: () => ({ sub: accountId }) }),
});
provider.on('server_error', (ctx, error) => console.error('server_error', error));

provider.listen(Number(port), '127.0.0.1', () => {
  console.log(`oidc-provider listening on http://127.0.0.1:${port}`);
});
