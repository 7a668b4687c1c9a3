// A latitude/longitude grid with labels at the map's edges: the basemap when there is no tile server.
/* global L */

const STEPS_DEG = [10, 5, 2, 1, 0.5, 0.2, 0.1, 0.05, 0.02, 0.01, 0.005, 0.002, 0.001];
const MIN_LINES = 4;

function label(text, anchor) {
  const span = document.createElement('span');
  span.className = 'grid-label';
  span.textContent = text;
  return L.divIcon({ html: span, className: 'grid-icon', iconSize: null, iconAnchor: anchor });
}

function degrees(value, digits, positive, negative) {
  return `${Math.abs(value).toFixed(digits)}°${value >= 0 ? positive : negative}`;
}

export function coordinateGrid() {
  const group = L.layerGroup();
  let map = null;

  function draw() {
    group.clearLayers();
    const b = map.getBounds();
    const span = Math.min(b.getEast() - b.getWest(), b.getNorth() - b.getSouth());
    const step = STEPS_DEG.find((s) => span / s >= MIN_LINES) ?? STEPS_DEG.at(-1);
    const digits = Math.max(0, Math.ceil(-Math.log10(step) - 1e-9));
    const style = { color: '#2b3b4d', weight: 1, interactive: false };
    for (let i = Math.ceil(b.getWest() / step); i * step <= b.getEast(); i++) {
      const lon = i * step;
      group.addLayer(L.polyline([[b.getSouth(), lon], [b.getNorth(), lon]], style));
      group.addLayer(L.marker([b.getSouth(), lon], {
        icon: label(degrees(lon, digits, 'E', 'W'), [-4, 24]), interactive: false, keyboard: false,
      }));
    }
    for (let i = Math.ceil(b.getSouth() / step); i * step <= b.getNorth(); i++) {
      const lat = i * step;
      group.addLayer(L.polyline([[lat, b.getWest()], [lat, b.getEast()]], style));
      group.addLayer(L.marker([lat, b.getWest()], {
        icon: label(degrees(lat, digits, 'N', 'S'), [-4, 16]), interactive: false, keyboard: false,
      }));
    }
  }

  const Grid = L.Layer.extend({
    onAdd(added) {
      map = added;
      group.addTo(map);
      map.on('moveend zoomend resize', draw);
      draw();
    },
    onRemove(removed) {
      removed.off('moveend zoomend resize', draw);
      group.remove();
    },
  });
  return new Grid();
}
