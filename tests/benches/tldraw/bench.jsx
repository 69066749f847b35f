// tldraw baseline for Corkboard's drag benchmark. measure.js comes first: it
// must start its rAF chain before tldraw starts its own.
import { frameCost, frameCostToFrame } from './measure.js';
import { getAssetUrlsByImport } from '@tldraw/assets/imports';
import sprite from '@tldraw/assets/icons/icon/0_merged.svg';
import { createRoot } from 'react-dom/client';
import { Tldraw, createShapeId, iconTypes, toRichText } from 'tldraw';
import 'tldraw/tldraw.css';

// Fonts, icons and translations inlined as data: URLs (see build.sh), so the
// page fetches nothing from tldraw's CDN. Icons are a sprite that tldraw puts
// unquoted into a CSS url(), which takes a base64 data: URL but not the
// percent-encoded one esbuild makes of a text file: hence the .svg=base64
// loader and this icon map.
const assetUrls = {
  ...getAssetUrlsByImport(),
  icons: Object.fromEntries(iconTypes.map((name) => [name, `data:image/svg+xml;base64,${sprite}#${name}`])),
};
// tldraw refuses to create more than 4,000 shapes on a page by default.
const options = { maxShapesPerPage: 20000 };

// Grid origin: the top-left card's top edge sits below tldraw's menu panel.
const LEFT = 30, TOP = 60, COLS = 40, DX = 240, DY = 180, W = 200, H = 150;

let editor;
window.benchReady = new Promise((resolve) => {
  createRoot(document.getElementById('root')).render(
    <Tldraw assetUrls={assetUrls} options={options} onMount={(e) => { editor = e; resolve(e); }} />,
  );
});

const frame = () => new Promise((r) => requestAnimationFrame(r));
const cardAt = (id) => document.querySelector(`[data-shape-id="${id}"]`);

async function drag(measure, moves) {
  const id = createShapeId('card0');
  const el = cardAt(id);
  if (!el) throw new Error(`${id} is not on screen: call bench.setup(n) first`);
  const r = el.getBoundingClientRect();
  const before = editor.getShape(id);
  const result = await measure(el, r.left + 30, r.top + 12, moves);
  const after = editor.getShape(id);
  return { ...result, dx: after.x - before.x, dy: after.y - before.y };
}

window.bench = {
  async setup(n) {
    // tldraw's license check treats a production build on file:// as an
    // unlicensed deployment and unmounts the editor 5 s after mount; on
    // http://127.0.0.1 it counts as local development (see README.md).
    if (location.protocol === 'file:') throw new Error('serve this page from http://127.0.0.1, not file://');
    await window.benchReady;
    editor.run(() => {
      editor.deleteShapes([...editor.getCurrentPageShapeIds()]);
      editor.createShapes(Array.from({ length: n }, (_, i) => ({
        id: createShapeId(`card${i}`),
        type: 'geo',
        x: LEFT + (i % COLS) * DX,
        y: TOP + Math.floor(i / COLS) * DY,
        // Solid fill: a press anywhere inside grabs the card, as on a corkboard.
        props: { geo: 'rectangle', w: W, h: H, fill: 'solid', richText: toRichText(`Note ${i}`) },
      })));
      editor.selectNone();
    }, { history: 'ignore' });
    if (editor.getCurrentPageShapeIds().size !== n) throw new Error(`tldraw did not create ${n} shapes`);
    editor.setCamera({ x: 0, y: 0, z: 1 }, { immediate: true });
    const id = createShapeId('card0');
    for (const t0 = performance.now(); !cardAt(id);) {
      if (performance.now() - t0 > 60_000) throw new Error(`${id} was not rendered`);
      await frame();
    }
    await frame(); await frame();
    return id;
  },
  frameCost: (moves) => drag(frameCost, moves),
  frameCostToFrame: (moves) => drag(frameCostToFrame, moves),
};
