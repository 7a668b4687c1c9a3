// Who the page works as. Until the accounts issue lands this is a bearer token the officer enters
// (kept in sessionStorage: gone when the tab closes). With accounts, POST api/v1/session sets an
// HttpOnly cookie that fetch sends by itself: authHeaders() is then empty and nothing else changes.

const TOKEN = 'fieldwatch.token';
let whenRefused = () => {};

export function signedIn() {
  return sessionStorage.getItem(TOKEN) !== null;
}

export function authHeaders() {
  const token = sessionStorage.getItem(TOKEN);
  return token ? { Authorization: `Bearer ${token}` } : {};
}

// Called when the API answers 401: the token was revoked (or the session expired).
export function onRefused(callback) {
  whenRefused = callback;
}

export function refused() {
  sessionStorage.removeItem(TOKEN);
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

// The accounts issue's login (shown once config.login lists "password").
export async function signInWithPassword(username, password) {
  const response = await fetch('api/v1/session', {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, credentials: 'same-origin',
    body: JSON.stringify({ username, password }),
  });
  if (response.status === 401 || response.status === 403) throw new Error('login.password_refused');
  if (!response.ok) throw new Error('login.unreachable');
  const session = await response.json();
  sessionStorage.setItem(TOKEN, session.token);
}

export function signOut() {
  sessionStorage.removeItem(TOKEN);
}
