// The login screen. Today the API knows bearer tokens only, so the page asks for one (config.login is
// ["token"]); the accounts issue adds "password" to config.login and the user-name form below is shown.
import { html, useState } from './html.js';
import { language, t } from './i18n.js';
import { signInWithPassword, signInWithToken } from './session.js';

export function Login({ config, onSignedIn, onLanguage }) {
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const withPassword = config.login.includes('password');

  async function submit(event) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setBusy(true);
    setError(null);
    try {
      if (withPassword) await signInWithPassword(form.get('username'), form.get('password'));
      else await signInWithToken(String(form.get('token')).trim());
      onSignedIn();
    } catch (e) {
      setError(e.message);
    } finally {
      setBusy(false);
    }
  }

  const other = language() === 'zh' ? 'en' : 'zh';
  return html`<div class="login-page">
    <form class="login card" onSubmit=${submit}>
      <h1>FieldWatch</h1>
      <p class="muted">${t('app.title')}</p>
      ${withPassword ? html`
        <label>${t('login.username')}<input name="username" autocomplete="username" required autofocus /></label>
        <label>${t('login.password')}<input name="password" type="password" autocomplete="current-password" required /></label>
      ` : html`
        <label>${t('login.token')}<input name="token" type="password" autocomplete="off" required autofocus
          placeholder="fwt_..." /></label>
        <p class="hint">${t('login.token_hint')}</p>
      `}
      ${error && html`<p class="error" role="alert">${t(error)}</p>`}
      <button type="submit" class="primary" disabled=${busy}>${t('login.submit')}</button>
      <button type="button" class="ghost" data-language=${other} onClick=${() => onLanguage(other)}>
        ${t('header.switch_language')}</button>
    </form>
  </div>`;
}
