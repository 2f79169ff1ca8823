// The reference provider for benchmarks/compare.py: oidc-provider 9 with its development
// interactions (a login form that accepts any login, then a consent form), one confidential
// client for the authorization code flow with PKCE, RS256 ID tokens, in-memory storage; and a
// service client for the client credentials grant, whose access tokens are RS256 JWTs for one
// resource (the clientCredentials and resourceIndicators features).
//
//   node server.mjs PORT CLIENT_ID CLIENT_SECRET REDIRECT_URI [SERVICE_ID SERVICE_SECRET RESOURCE]
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

const [port, clientId, clientSecret, redirectUri, serviceId, serviceSecret, resource] =
  process.argv.slice(2);
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
  }, ...(serviceId ? [{
    client_id: serviceId,
    client_secret: serviceSecret,
    redirect_uris: [],
    grant_types: ['client_credentials'],
    response_types: [],
    token_endpoint_auth_method: 'client_secret_basic',
  }] : [])],
  jwks: { keys: [signingKey] },
  cookies: { keys: [randomBytes(32).toString('base64url')] },
  pkce: { required: () => true },
  features: {
    devInteractions: { enabled: true },
    clientCredentials: { enabled: Boolean(serviceId) },
    // Only the service client's tokens name the resource: the login flow stays as it was.
    resourceIndicators: {
      enabled: Boolean(serviceId),
      defaultResource: (ctx, client) => (client?.clientId === serviceId ? resource : undefined),
      useGrantedResource: () => true,
      getResourceServerInfo: (ctx, resourceIndicator) => {
        if (resourceIndicator !== resource) throw new Error('unknown resource');
        return { scope: '', audience: resource, accessTokenFormat: 'jwt', accessTokenTTL: 600,
                 jwt: { sign: { alg: 'RS256' } } };
      },
    },
  },
  // Every login the development form accepts is an account whose only claim is its subject.
  findAccount: (ctx, accountId) => ({ accountId, claims: () => ({ sub: accountId }) }),
});
provider.on('server_error', (ctx, error) => console.error('server_error', error));

provider.listen(Number(port), '127.0.0.1', () => {
  console.log(`oidc-provider listening on http://127.0.0.1:${port}`);
});
