// The console's entry: reads the page config and the language, then shows the login or the pages.
// Pages are addressed by the URL's hash (#/, #/alarms/12, #/sites/slope-north, #/fleet), so a page can
// be bookmarked, reloaded, and opened with the keyboard from any link.
import { html, render, useEffect, useState } from './html.js';
import { loadLanguage, savedLanguage } from './i18n.js';
import { setTimeZone } from './format.js';
import { createStore } from './store.js';
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

function Console({ config, onLanguage, onSignOut }) {
  const [store] = useState(createStore);
  const [where, setWhere] = useState(route);
  const [, setVersion] = useState(0);
  useEffect(() => {
    const unsubscribe = store.subscribe(() => setVersion((v) => v + 1));
    const unannounce = store.onAnnounce((alarm) => chime(alarm.level));
    const moved = () => setWhere(route());
    addEventListener('hashchange', moved);
    store.start();
    return () => {
      store.stop();
      unsubscribe();
      unannounce();
      removeEventListener('hashchange', moved);
    };
  }, []);
  useEffect(() => markReady(store));
  useEffect(() => {
    const open = [...store.state.alarms.values()].filter((a) => a.status === 'open' && a.level >= 3).length;
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

function App({ config }) {
  const [, setLanguageVersion] = useState(0);
  const [inside, setInside] = useState(signedIn);
  const changeLanguage = async (lang) => {
    await loadLanguage(lang);
    setLanguageVersion((v) => v + 1);
  };
  useEffect(() => onRefused(() => setInside(false)), []);
  const leave = () => {
    signOut();
    setInside(false);
  };
  if (!inside) return html`<${Login} config=${config} onSignedIn=${() => setInside(true)} onLanguage=${changeLanguage} />`;
  return html`<${Console} config=${config} onLanguage=${changeLanguage} onSignOut=${leave} />`;
}

async function boot() {
  const [config] = await Promise.all([
    fetch('console/config.json').then((r) => r.json()),
    loadLanguage(savedLanguage()),
  ]);
  setTimeZone(config.time_zone);
  addEventListener('pointerdown', unlock, { once: true });
  addEventListener('keydown', unlock, { once: true });
  render(html`<${App} config=${config} />`, document.getElementById('app'));
}

boot();
