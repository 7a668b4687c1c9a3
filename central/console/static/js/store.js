// The console's picture of the county: sites and devices (the map layer), the active alarms and the
// gateways, read from the API at start and after every (re)connection of the live stream, and changed
// in between by the stream's events. Views subscribe() and render from store.state.
import { api } from './api.js';
import { ACTIVE_STATUSES, isShelved, siteLevel } from './levels.js';
import { follow } from './live.js';

const MAP_REFRESH_MS = 50; // an alarm change re-reads the map layer (the sites' levels): a burst, once
const ALARM_LIMIT = 500;
const FLASH_MS = 12_000;
const SUBSCRIBE_WAIT_MS = 1000;

// A new alarm, or one that rose, at orange or red, not yet acknowledged nor shelved: announce it.
export function worthAnnouncing(before, after) {
  return after.status === 'open' && after.level >= 3 && !isShelved(after)
    && (!before || after.level > before.level || isShelved(before));
}

function siteOf(feature) {
  const [lon, lat] = feature.geometry.coordinates;
  const p = feature.properties;
  return { id: feature.id.slice('site:'.length), name: p.name, type: p.type, lat, lon, level: siteLevel(p),
    openAlarms: p.open_alarms, faults: p.faults?.count ?? 0, blind: Boolean(p.blind), gateways: p.gateways,
    properties: p };
}

function deviceOf(feature) {
  const [lon, lat] = feature.geometry.coordinates;
  return { ...feature.properties, lat, lon, level: siteLevel(feature.properties) };
}

export function createStore() {
  const state = {
    sites: new Map(),
    devices: [],
    alarms: new Map(), // active alarms only (ACTIVE_STATUSES), shelved ones too
    alarmsTruncated: false,
    gateways: new Map(),
    loaded: false,
    error: null, // why the last read failed (the API's reason), until one succeeds
    live: { up: false, downSince: null },
    flashing: new Map(), // alarm id -> until (ms)
  };
  const listeners = new Set();
  const announcers = new Set();
  let reading = 0; // refreshes in flight: events wait in `held` meanwhile, then apply on top
  let held = [];
  let mapTimer = null;
  let mapRead = 0;
  let stop = null;
  let fallback = null;

  const notify = () => listeners.forEach((listener) => listener());

  function setLayer(layer) {
    const sites = new Map();
    const devices = [];
    for (const feature of layer.features) {
      if (feature.properties.kind === 'site') sites.set(feature.id.slice('site:'.length), siteOf(feature));
      else devices.push(deviceOf(feature));
    }
    state.sites = sites;
    state.devices = devices;
  }

  function announce(before, after) {
    if (!state.loaded || !worthAnnouncing(before, after)) return;
    state.flashing.set(after.id, Date.now() + FLASH_MS);
    setTimeout(notify, FLASH_MS + 50);
    announcers.forEach((announcer) => announcer(after));
  }

  function applyAlarm(alarm) {
    const before = state.alarms.get(alarm.id);
    if (before && before.updated_ms > alarm.updated_ms) return; // older than what we hold
    if (ACTIVE_STATUSES.includes(alarm.status)) state.alarms.set(alarm.id, alarm);
    else state.alarms.delete(alarm.id);
    announce(before, alarm);
  }

  function applyGateway(change) {
    const gateway = state.gateways.get(change.gateway_id);
    if (gateway) state.gateways.set(gateway.id, { ...gateway, ...change, id: gateway.id });
    else refreshGateways().catch(() => {}); // a new gateway: read them all
  }

  function apply(kind, payload) {
    if (reading) {
      held.push([kind, payload]);
      return;
    }
    if (kind === 'alarm') {
      applyAlarm(payload);
      refreshMapSoon();
    } else if (kind === 'gateway') {
      applyGateway(payload);
    }
    notify();
  }

  function refreshMapSoon() {
    clearTimeout(mapTimer);
    mapTimer = setTimeout(async () => {
      const mine = ++mapRead;
      try {
        const layer = await api.map();
        if (mine !== mapRead) return; // a later read is on its way
        setLayer(layer);
        notify();
      } catch {
        // the central is unreachable: the stream's reconnection reads everything again
      }
    }, MAP_REFRESH_MS);
  }

  async function refreshGateways() {
    const gateways = await api.gateways();
    state.gateways = new Map(gateways.data.map((g) => [g.id, g]));
    notify();
  }

  async function refresh() {
    reading += 1;
    try {
      const active = { status: ACTIVE_STATUSES, sort: 'level', limit: ALARM_LIMIT };
      const [layer, alarms, shelved, gateways] = await Promise.all([
        api.map(), api.alarms(active), api.alarms({ ...active, shelved: true }), api.gateways(),
      ]);
      mapRead += 1;
      setLayer(layer);
      const before = state.alarms;
      state.alarms = new Map([...alarms.data, ...shelved.data].map((a) => [a.id, a]));
      state.alarmsTruncated = alarms.count > alarms.data.length;
      state.gateways = new Map(gateways.data.map((g) => [g.id, g]));
      for (const alarm of state.alarms.values()) announce(before.get(alarm.id), alarm);
      state.loaded = true;
      state.error = null;
    } catch (error) {
      state.error = error.message;
    } finally {
      reading -= 1;
      if (!reading) {
        const events = held;
        held = [];
        events.forEach(([kind, payload]) => apply(kind, payload));
      }
      notify();
    }
  }

  return {
    state,
    refresh,
    refreshGateways,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    onAnnounce(announcer) {
      announcers.add(announcer);
      return () => announcers.delete(announcer);
    },
    isFlashing(id) {
      return (state.flashing.get(id) ?? 0) > Date.now();
    },
    start() {
      // The state is read once the stream is subscribed (so no change in between is missed); should the
      // subscription be slow (a proxy that buffers the stream), it is read anyway after a moment.
      fallback = setTimeout(refresh, SUBSCRIBE_WAIT_MS);
      stop = follow({
        onEvent: apply,
        onSubscribed() {
          clearTimeout(fallback);
          state.live = { up: true, downSince: null };
          refresh();
        },
        onDown(since) {
          state.live = { up: false, downSince: since };
          notify();
        },
      });
    },
    stop() {
      stop?.();
      clearTimeout(fallback);
      clearTimeout(mapTimer);
    },
  };
}
