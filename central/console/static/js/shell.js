// The frame of every page: the header (name, pages, live link, clock, sound, language, sign-out) and
// the banner that says since when the live link is down.
import { html, useEffect, useNow, useState } from './html.js';
import { language, t } from './i18n.js';
import { dateTime, duration, zoneOffset } from './format.js';
import { muted, setMuted, unlock } from './sound.js';
import { whoAmI } from './session.js';
import { api } from './api.js';

function Clock() {
  const now = useNow();
  return html`<span class="clock" title=${t('header.time_zone')}>
    ${dateTime(now)} <small>${zoneOffset(now)}</small></span>`;
}

function LiveBadge({ live }) {
  const up = live.up;
  return html`<span class=${`live ${up ? 'up' : 'down'}`} data-live=${up ? 'up' : 'down'}>
    <i></i>${up ? t('live.up') : t('live.connecting')}</span>`;
}

function DownBanner({ since }) {
  const now = useNow();
  return html`<div class="banner" role="alert" data-banner="live-down">
    ${t('live.down', { since: dateTime(since), for: duration(now - since) })}</div>`;
}

function SoundToggle() {
  const [off, setOff] = useState(muted());
  const toggle = () => {
    unlock();
    setMuted(!off);
    setOff(!off);
  };
  return html`<button type="button" class="ghost" data-sound=${off ? 'off' : 'on'} onClick=${toggle}
    aria-pressed=${!off}>${off ? t('header.sound_off') : t('header.sound_on')}</button>`;
}

// The person signed in, by display name, and their organization (nothing for a token).
function Who() {
  const [user, setUser] = useState(null);
  const [org, setOrg] = useState(null);
  useEffect(() => {
    whoAmI().then((who) => {
      setUser(who);
      if (who) api.orgs().then((r) => setOrg(r.data.find((o) => o.id === who.org_id)?.name ?? who.org_id), () => {});
    });
  }, []);
  return user && html`<span class="who" title=${user.username}>${user.display_name}</span>
    ${org && html`<span class="org" title=${t('header.org')}>${org}</span>`}`;
}

export function Shell({ store, page, onLanguage, onSignOut, children }) {
  const nav = [['home', '#/', t('nav.home')], ['fleet', '#/fleet', t('nav.fleet')]];
  const other = language() === 'zh' ? 'en' : 'zh';
  return html`<div class="shell">
    <header class="topbar">
      <a class="brand" href="#/"><b>FieldWatch</b><span>${t('app.title')}</span></a>
      <nav>${nav.map(([name, href, label]) => html`
        <a href=${href} class=${page === name ? 'current' : ''} aria-current=${page === name ? 'page' : null}>
          ${label}</a>`)}</nav>
      <div class="spacer"></div>
      <${LiveBadge} live=${store.state.live} />
      <${Clock} />
      <${SoundToggle} />
      <button type="button" class="ghost" data-language=${other} onClick=${() => onLanguage(other)}>
        ${t('header.switch_language')}</button>
      <${Who} />
      <button type="button" class="ghost" onClick=${onSignOut}>${t('header.sign_out')}</button>
    </header>
    ${store.state.live.downSince !== null && html`<${DownBanner} since=${store.state.live.downSince} />`}
    ${store.state.error && html`<div class="banner" role="alert">${t('error.read', { reason: store.state.error })}</div>`}
    <main>${children}</main>
  </div>`;
}
