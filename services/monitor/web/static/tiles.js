// A preview of a job's web-map output: the PNG tiles of one zoom of one
// pyramid, placed on their x/y grid.

import { el } from './dom.js';
import { tileURL } from './api.js';

// MAX_TILES is how many tiles one zoom shows at most.
const MAX_TILES = 1024;
// VIEW is the width in pixels the grid fits into.
const VIEW = 768;
// EAGER is how many tiles load at once; a bigger grid loads as it scrolls
// into view.
const EAGER = 64;

export class TilePreview {
  constructor({ panel, grid, setSelect, zoomSelect, note }) {
    Object.assign(this, { panel, grid, setSelect, zoomSelect, note });
    this.sets = [];
    this.key = '';
    setSelect.addEventListener('change', () => this.pickSet());
    zoomSelect.addEventListener('change', () => this.draw());
  }

  // load shows the tile sets of a job ([{task_id, prefix, min_zoom,
  // max_zoom, zooms: {"z": [[x, y], ...]}}]); it keeps the choices made
  // when the sets did not change.
  load(sets) {
    sets = (sets || []).filter((s) => s.zooms && Object.keys(s.zooms).length > 0);
    const key = JSON.stringify(sets.map((s) => [s.prefix, Object.entries(s.zooms).map(([z, xy]) => [z, xy.length])]));
    if (key === this.key) return;
    this.key = key;
    this.sets = sets;
    this.panel.hidden = sets.length === 0;
    const prev = this.setSelect.value;
    this.setSelect.replaceChildren(...sets.map((s, i) => el('option', { value: i }, `${s.prefix} (${s.task_id})`)));
    const keep = sets.findIndex((s, i) => String(i) === prev);
    if (keep >= 0) this.setSelect.value = prev;
    this.pickSet();
  }

  pickSet() {
    const s = this.sets[Number(this.setSelect.value)];
    if (!s) {
      this.grid.replaceChildren();
      return;
    }
    const prev = this.zoomSelect.value;
    const zooms = Object.keys(s.zooms).map(Number).sort((a, b) => a - b);
    this.zoomSelect.replaceChildren(...zooms.map((z) => el('option', { value: z }, String(z))));
    // Keep the zoom when the new set has it, else the deepest zoom that
    // still fits the preview, else the shallowest.
    const fits = zooms.filter((z) => s.zooms[z].length <= 64);
    this.zoomSelect.value = zooms.includes(Number(prev)) ? prev : String(fits.length ? fits[fits.length - 1] : zooms[0]);
    this.draw();
  }

  draw() {
    const s = this.sets[Number(this.setSelect.value)];
    const z = Number(this.zoomSelect.value);
    const xy = s && s.zooms[z];
    if (!xy || xy.length === 0) {
      this.grid.replaceChildren();
      return;
    }
    const shown = xy.slice(0, MAX_TILES);
    let x0 = Infinity;
    let y0 = Infinity;
    let x1 = -Infinity;
    let y1 = -Infinity;
    for (const [x, y] of shown) {
      x0 = Math.min(x0, x);
      y0 = Math.min(y0, y);
      x1 = Math.max(x1, x);
      y1 = Math.max(y1, y);
    }
    const cols = x1 - x0 + 1;
    const rows = y1 - y0 + 1;
    const size = Math.max(16, Math.min(256, Math.floor(VIEW / cols)));
    const loading = shown.length > EAGER ? 'lazy' : 'eager';
    this.grid.style.gridTemplateColumns = `repeat(${cols}, ${size}px)`;
    this.grid.style.gridTemplateRows = `repeat(${rows}, ${size}px)`;
    this.grid.dataset.zoom = String(z);
    this.grid.replaceChildren(...shown.map(([x, y]) => {
      const img = el('img', { src: tileURL(s.prefix, z, x, y), alt: `${z}/${x}/${y}`, title: `${s.prefix} ${z}/${x}/${y}`,
        'data-tile': `${z}/${x}/${y}`, loading, width: size, height: size });
      img.style.gridColumn = String(x - x0 + 1);
      img.style.gridRow = String(y - y0 + 1);
      img.addEventListener('error', () => img.classList.add('missing'), { once: true });
      return img;
    }));
    this.note.textContent = `zoom ${z}: ${xy.length} tiles, x ${x0}–${x1}, y ${y0}–${y1}` +
      (xy.length > shown.length ? ` (first ${shown.length} shown)` : '');
  }
}
