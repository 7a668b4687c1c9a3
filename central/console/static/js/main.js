// The console's entry: reads the page config and the language, then shows the login or the pages.
// Pages are addressed by the URL's hash (#/, #/alarms/12, #/sites/slope-north, #/fleet), so a page can
// be bookmarked, reloaded, and opened with the keyboard from any link.
import { html, render, useEffect, useState } from './html.js';
import { loadLanguage, savedLanguage } from './i18n.js';
import { setTimeZone } from './format.js';
import { setQualityFlags } from './quality.js';
import { createStore } from './store.js';
import { isShelved } from './levels.js';
import { onRefused, signOut, signedIn } from './session.js';
import { chime, unlock } from './sound.js';
import { Shell } from './shell.js';
import { Login } from './login.js';
import { Desk } from './desk.js';
import { CountyMap } from './map.js';
import { AlarmPage } from './alarm.js';
import { SitePage } from './site.js';
import { FleetPage } from './fleet.js';

function route() {
  const [page, id] = location.hash.replace(/^#\/?/, '').split('/');
  return { page: page || 'home', id: id === undefined ? null : decodeURIComponent(id) };
}

// Marks the moment the page first shows the county (on the first screen: the map's markers and the
// desk's rows), for bench/console.py and the tests. Child effects (the map's update) run before this.
function markReady(store) {
  if (store.state.loaded && !document.documentElement.dataset.ready) {
    requestAnimationFrame(() => {
      performance.mark('fieldwatch:ready');
      document.documentElement.dataset.ready = 'true';
    });
  }
}

function Home({ store, config }) {
  return html`<div class="home">
    <section class="map-pane card"><${CountyMap} store=${store} config=${config} /></section>
    <aside class="desk-pane"><${Desk} store=${store} /></aside>
  </div>`;
}

function Console({ store, config, onLanguage, onSignOut }) {
  const [where, setWhere] = useState(route);
  const [, setVersion] = useState(0);
  useEffect(() => {
    const unsubscribe = store.subscribe(() => setVersion((v) => v + 1));
    const unannounce = store.onAnnounce((alarm) => chime(alarm.level));
    const moved = () => setWhere(route());
    addEventListener('hashchange', moved);
    setVersion((v) => v + 1); // whatever the store read before this subscription
    return () => {
      unsubscribe();
      unannounce();
      removeEventListener('hashchange', moved);
    };
  }, []);
  useEffect(() => markReady(store));
  useEffect(() => {
    const open = [...store.state.alarms.values()].filter((a) => a.status === 'open' && a.level >= 3 && !isShelved(a)).length;
    document.title = open ? `(${open}) FieldWatch` : 'FieldWatch';
  });
  const pages = {
    home: () => html`<${Home} store=${store} config=${config} />`,
    alarms: () => html`<${AlarmPage} key=${where.id} store=${store} id=${where.id} />`,
    sites: () => html`<${SitePage} key=${where.id} store=${store} id=${where.id} />`,
    fleet: () => html`<${FleetPage} store=${store} />`,
  };
  const page = (pages[where.page] ?? pages.home)();
  return html`<${Shell} store=${store} page=${where.page} onLanguage=${onLanguage} onSignOut=${onSignOut}>${page}</${Shell}>`;
}

// The store lives as long as the sign-in: started before the first render (its stream and reads
// overlap the page's first paint), stopped at sign-out.
function App({ config, started }) {
  const [, setLanguageVersion] = useState(0);
  const [store, setStore] = useState(() => started);
  const changeLanguage = async (lang) => {
    await loadLanguage(lang);
    setLanguageVersion((v) => v + 1);
  };
  const leave = () => {
    store?.stop();
    setStore(null);
  };
  useEffect(() => onRefused(leave), [store]);
  const enter = () => {
    const fresh = createStore();
    fresh.start();
    setStore(fresh);
  };
  if (!store) return html`<${Login} config=${config} onSignedIn=${enter} onLanguage=${changeLanguage} />`;
  return html`<${Console} store=${store} config=${config} onLanguage=${changeLanguage}
    onSignOut=${async () => { await signOut(); leave(); }} />`;
}

async function boot() {
  let started = null;
  if (signedIn()) {
    started = createStore();
    started.start(); // reads the county while the page's config, language and first paint happen
  }
  const [config] = await Promise.all([
    fetch('console/config.json').then((r) => r.json()),
    loadLanguage(savedLanguage()),
  ]);
  setTimeZone(config.time_zone);
  setQualityFlags(config.quality);
  addEventListener('pointerdown', unlock, { once: true });
  addEventListener('keydown', unlock, { once: true });
  render(html`<${App} config=${config} started=${started} />`, document.getElementById('app'));
}

boot();
