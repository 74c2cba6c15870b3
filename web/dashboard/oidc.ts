// Sign-in with the OpenID Connect provider, when the service has one configured: the
// authorization code flow with PKCE, entirely in the page (a public client, no secret), the
// provider's endpoints read from its discovery document. The access token it gets is kept like a
// pasted one: in this tab's session storage only.
import { token } from './api';

/** The provider, as the service announces it in the page. */
export type OidcSettings = { readonly issuer: string; readonly clientId: string };

type Discovery = { authorization_endpoint: string; token_endpoint: string };

const PENDING_KEY = 'dashboard.oidc';

async function discover(settings: OidcSettings): Promise<Discovery> {
  const response = await fetch(
    `${settings.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`,
  );
  if (!response.ok) throw new Error(`The sign-in provider did not answer (${response.status}).`);
  return (await response.json()) as Discovery;
}

function base64url(bytes: Uint8Array): string {
  let text = '';
  for (const byte of bytes) text += String.fromCharCode(byte);
  return btoa(text).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

const random = (size: number) => base64url(crypto.getRandomValues(new Uint8Array(size)));
const redirectUri = () => `${location.origin}/dashboard`;

/** Goes to the provider's sign-in page; it comes back to /dashboard with a code. */
export async function signIn(settings: OidcSettings): Promise<void> {
  const { authorization_endpoint } = await discover(settings);
  const verifier = random(48);
  const state = random(24);
  const challenge = base64url(
    new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier))),
  );
  sessionStorage.setItem(
    PENDING_KEY,
    JSON.stringify({ verifier, state, back: location.pathname + location.search }),
  );
  const url = new URL(authorization_endpoint);
  for (const [name, value] of Object.entries({
    response_type: 'code',
    client_id: settings.clientId,
    redirect_uri: redirectUri(),
    scope: 'openid',
    state,
    code_challenge: challenge,
    code_challenge_method: 'S256',
  }))
    url.searchParams.set(name, value);
  location.assign(url.toString());
}

/**
 * Back from the provider (`?code=&state=` on /dashboard): exchanges the code for a token, keeps
 * it, and returns the page the reader signed in from, with the code gone from the address bar.
 * Undefined when this is not a return from the provider.
 */
export async function completeSignIn(settings: OidcSettings): Promise<string | undefined> {
  const params = new URLSearchParams(location.search);
  const code = params.get('code');
  const error = params.get('error');
  if (!code && !error) return undefined;
  const pending = JSON.parse(sessionStorage.getItem(PENDING_KEY) ?? 'null') as {
    verifier: string;
    state: string;
    back: string;
  } | null;
  sessionStorage.removeItem(PENDING_KEY);
  history.replaceState(history.state, '', location.pathname);
  if (error) throw new Error(`The provider refused the sign-in: ${error}.`);
  if (!pending || params.get('state') !== pending.state)
    throw new Error('That sign-in was not started from this tab; sign in again.');
  const { token_endpoint } = await discover(settings);
  const response = await fetch(token_endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code: code!,
      redirect_uri: redirectUri(),
      client_id: settings.clientId,
      code_verifier: pending.verifier,
    }),
  });
  const body = (await response.json().catch(() => ({}))) as {
    access_token?: string;
    error?: string;
  };
  if (!response.ok || !body.access_token)
    throw new Error(`The provider gave no token (${body.error ?? response.status}).`);
  token.set(body.access_token);
  history.replaceState(history.state, '', pending.back);
  return pending.back;
}
