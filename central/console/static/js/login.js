// The login screen: a user name and password (config.login lists "password"), or, one click away, a
// bearer token (config.login also lists "token").
import { html, useState } from './html.js';
import { language, t } from './i18n.js';
import { signInWithPassword, signInWithToken } from './session.js';

export function Login({ config, onSignedIn, onLanguage }) {
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const [useToken, setUseToken] = useState(!config.login.includes('password'));
  const withPassword = !useToken;

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
      ${config.login.includes('token') && config.login.includes('password') && html`
        <button type="button" class="ghost" data-login=${useToken ? 'password' : 'token'}
          onClick=${() => { setUseToken(!useToken); setError(null); }}>
          ${t(useToken ? 'login.use_password' : 'login.use_token')}</button>`}
      <button type="button" class="ghost" data-language=${other} onClick=${() => onLanguage(other)}>
        ${t('header.switch_language')}</button>
    </form>
  </div>`;
}
