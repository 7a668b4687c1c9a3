// The Leaflet map of the county: a marker per site coloured by its worst hazard level (data-site-id,
// data-level), equipment faults as a separate badge (data-faults, never the hazard colour), a blind site
// marked (data-blind), its name beside it, devices when zoomed in, and the basemap: tiles from config.map_tiles, or else a
// coordinate grid and the shipped outlines, so the map needs nothing outside the central.
/* global L */
import { coordinateGrid } from './grid.js';
import { t } from './i18n.js';

const DEVICES_FROM_ZOOM = 13;
const CHINA = [[18, 73], [54, 135]];

function sitePin(site) {
  const pin = document.createElement('div');
  pin.className = 'site-pin';
  pin.dataset.siteId = site.id;
  const faults = document.createElement('s');
  faults.className = 'fault-badge';
  pin.append(document.createElement('i'), document.createElement('b'), faults);
  return pin;
}

function paint(entry, site) {
  const { pin } = entry;
  pin.dataset.level = site.level;
  pin.dataset.faults = site.faults;
  pin.dataset.blind = site.blind;
  pin.querySelector('b').textContent = site.openAlarms > 0 ? site.openAlarms : '';
  const badge = pin.querySelector('.fault-badge');
  badge.textContent = site.blind ? '?' : site.faults > 0 ? '!' : '';
  pin.title = [site.blind && t('map.blind'), site.faults > 0 && t('map.faults', { n: site.faults })].filter(Boolean).join('\n');
  entry.label.textContent = site.name;
  entry.marker.setZIndexOffset(site.level * 1000);
}

export function createMapView(element, config, { renderPopup }) {
  const map = L.map(element, { minZoom: 3, maxZoom: 18, attributionControl: Boolean(config.map_tiles) });
  map.fitBounds(CHINA);
  if (config.map_tiles) {
    L.tileLayer(config.map_tiles, { maxZoom: 18 }).addTo(map);
  } else {
    element.classList.add('no-tiles');
    coordinateGrid().addTo(map);
  }
  if (config.boundaries) {
    fetch('console/boundaries.geojson').then((r) => r.json()).then((outlines) => {
      L.geoJSON(outlines, { style: { className: 'boundary', color: '#5b7a99', weight: 1.5, fill: false }, interactive: false })
        .addTo(map).bringToBack();
    });
  }
  const sites = new Map(); // id -> {marker, pin, label, popup}
  const devices = L.layerGroup();
  let fitted = false;

  function addSite(site) {
    const pin = sitePin(site);
    const icon = L.divIcon({ html: pin, className: 'site-icon', iconSize: [30, 30], iconAnchor: [15, 15] });
    const marker = L.marker([site.lat, site.lon], { icon, title: site.name, riseOnHover: true }).addTo(map);
    const label = document.createElement('span');
    marker.bindTooltip(label, { permanent: true, direction: 'right', offset: [14, 0], className: 'site-label' });
    const popup = document.createElement('div');
    marker.bindPopup(popup, { minWidth: 300, maxWidth: 380 });
    marker.on('popupopen', () => renderPopup(popup, site.id));
    marker.on('popupclose', () => renderPopup(popup, null));
    const entry = { marker, pin, label, popup };
    sites.set(site.id, entry);
    return entry;
  }

  function showDevices(list) {
    devices.clearLayers();
    for (const d of list) {
      const dot = L.circleMarker([d.lat, d.lon], { radius: 5, weight: 1.5, className: `device-dot level-${d.level}` });
      dot.bindTooltip(`${d.gateway_id} / ${d.device}`);
      devices.addLayer(dot);
    }
  }

  map.on('zoomend', () => {
    if (map.getZoom() >= DEVICES_FROM_ZOOM) devices.addTo(map);
    else devices.remove();
  });

  function fit(list) {
    if (!list.length) map.fitBounds(CHINA);
    else if (list.length === 1) map.setView([list[0].lat, list[0].lon], 12);
    else map.fitBounds(L.latLngBounds(list.map((s) => [s.lat, s.lon])), { padding: [60, 60], maxZoom: 12 });
  }

  return {
    update(state) {
      for (const site of state.sites.values()) {
        if (site.lat == null || site.lon == null) continue;
        const entry = sites.get(site.id) ?? addSite(site);
        entry.marker.setLatLng([site.lat, site.lon]);
        paint(entry, site);
        if (entry.marker.isPopupOpen()) renderPopup(entry.popup, site.id);
      }
      for (const [id, entry] of sites) {
        if (!state.sites.has(id)) {
          entry.marker.remove();
          sites.delete(id);
        }
      }
      showDevices(state.devices);
      if (!fitted && state.loaded) {
        fit([...state.sites.values()].filter((s) => s.lat != null));
        fitted = true;
      }
    },
    invalidate: () => map.invalidateSize(),
    destroy: () => map.remove(),
  };
}
