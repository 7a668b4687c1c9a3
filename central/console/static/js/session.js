// Who the page works as. A person signs in with a user name and password: POST api/v1/session sets an
// HttpOnly cookie that fetch sends by itself (authHeaders() is then empty; the page never sees the
// secret), and the tab only remembers that it is signed in. An integration may still sign in with a
// bearer token, kept in sessionStorage (gone when the tab closes).

const TOKEN = 'fieldwatch.token';
const COOKIE_MODE = 'fieldwatch.session';
let whenRefused = () => {};
let person = null; // the answer of GET api/v1/session, read once per sign-in

export function signedIn() {
  return sessionStorage.getItem(TOKEN) !== null || sessionStorage.getItem(COOKIE_MODE) !== null;
}

export function authHeaders() {
  const token = sessionStorage.getItem(TOKEN);
  return token ? { Authorization: `Bearer ${token}` } : {};
}

// Called when the API answers 401: the token was revoked or the session ended.
export function onRefused(callback) {
  whenRefused = callback;
}

function forget() {
  person = null;
  sessionStorage.removeItem(TOKEN);
  sessionStorage.removeItem(COOKIE_MODE);
}

export function refused() {
  forget();
  whenRefused();
}

// A token is kept only once the API accepts it for reading.
export async function signInWithToken(token) {
  const response = await fetch('api/v1/sites', { headers: { Authorization: `Bearer ${token}` } });
  if (response.status === 401) throw new Error('login.token_refused');
  if (response.status === 403) throw new Error('login.token_cannot_read');
  if (!response.ok) throw new Error('login.unreachable');
  sessionStorage.setItem(TOKEN, token);
}

export async function signInWithPassword(username, password) {
  const response = await fetch('api/v1/session', {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, credentials: 'same-origin',
    body: JSON.stringify({ username, password }),
  });
  if (response.status === 401 || response.status === 403) throw new Error('login.password_refused');
  if (response.status === 429) throw new Error('login.too_many');
  if (!response.ok) throw new Error('login.unreachable');
  sessionStorage.removeItem(TOKEN);
  sessionStorage.setItem(COOKIE_MODE, 'cookie');
  person = null;
}

// The person signed in ({display_name, username, org_id, role, ...}), or null for a token.
export function whoAmI() {
  if (sessionStorage.getItem(COOKIE_MODE) === null) return Promise.resolve(null);
  person ??= fetch('api/v1/session', { credentials: 'same-origin' })
    .then(async (response) => (response.ok ? (await response.json()).user : null), () => null);
  return person;
}

export async function signOut() {
  if (sessionStorage.getItem(COOKIE_MODE) !== null) {
    // the browser sends this page's Origin with a DELETE: the central's CSRF check lets it through
    await fetch('api/v1/session', { method: 'DELETE', credentials: 'same-origin' }).catch(() => {});
  }
  forget();
}
