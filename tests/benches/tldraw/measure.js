// Frame-cost probes for a drag: synthetic pointer events dispatched on `el`,
// starting at client point (x, y) and moving by (+2, +1) per frame.
// Not tied to tldraw: Corkboard's page can run the same functions.
//
// Import this module before anything else on the page: at import it starts a
// requestAnimationFrame chain that stays first in every frame's callback list
// (a callback registered while the frame's callbacks run goes to the end of
// the next frame's list), so `frameStart` is the time the frame's work began,
// before the app's own rAF callbacks.

let frameStart = 0;
const lead = () => {
  frameStart = performance.now();
  requestAnimationFrame(lead);
};
requestAnimationFrame(lead);

const channel = new MessageChannel();
let wake;
channel.port1.onmessage = () => wake();
const task = () => new Promise((r) => { wake = r; channel.port2.postMessage(0); });
const frame = () => new Promise((r) => requestAnimationFrame(r));
const layout = () => void document.body.offsetHeight;

function pointer(el) {
  return (type, buttons, x, y) => el.dispatchEvent(new PointerEvent(type, {
    bubbles: true, cancelable: true, clientX: x, clientY: y,
    pointerId: 1, pointerType: 'mouse', isPrimary: true, button: 0, buttons,
  }));
}

// Event to the task after it: the work done while handling the move plus the
// rendering of the frame it was dispatched in (it is dispatched from a rAF
// callback). Corkboard's methodology, unchanged.
export async function frameCost(el, x, y, n) {
  const ev = pointer(el);
  const base = [], costs = [];
  for (let i = 0; i < n; i++) {
    await frame();
    const t0 = performance.now();
    await task(); layout();
    base.push(performance.now() - t0);
  }
  ev('pointerdown', 1, x, y); await task();
  for (let i = 0; i < n; i++) {
    await frame(); x += 2; y += 1;
    const t0 = performance.now();
    ev('pointermove', 1, x, y);
    await task(); layout();
    costs.push(performance.now() - t0);
  }
  ev('pointerup', 0, x, y);
  return { base, costs };
}

// Same, plus the work of the frames after it, for apps that queue a move and
// apply it in a later requestAnimationFrame callback (tldraw does, and skips
// a frame that comes less than ~7 ms after the one it last ran in, which
// happens in headless Chromium). Per move:
//   frame N:         dispatch (in a rAF callback) .. the task after N rendered
//   frames N+1..N+k: frameStart (before the app's rAF callbacks) .. the task
//                    after that frame rendered
// costs[i] is the sum of these k+1 spans (the idle time between frames left
// out); base[i] the same spans with no event dispatched, so costs - base is
// the main-thread work one move causes. latency[i] is dispatch to the end of
// the first of these frames in which the element's position on screen had
// changed (-1 if in none); with k = 2 the next move is dispatched in N+3.
export async function frameCostToFrame(el, x, y, n, k = 2) {
  const ev = pointer(el);
  const base = [], costs = [], latency = [];
  let left = el.getBoundingClientRect().left;
  const moved = () => left !== (left = el.getBoundingClientRect().left);
  const measure = async (move) => {
    await frame();
    const t0 = performance.now();
    if (move) { x += 2; y += 1; ev('pointermove', 1, x, y); }
    await task(); layout();
    let t = performance.now(), sum = t - t0, seen = moved() ? t - t0 : -1;
    for (let j = 0; j < k; j++) {
      await frame();
      const f0 = frameStart;
      await task(); layout();
      t = performance.now();
      sum += t - f0;
      if (moved() && seen < 0) seen = t - t0;
    }
    return [sum, seen];
  };
  for (let i = 0; i < n; i++) base.push((await measure(false))[0]);
  ev('pointerdown', 1, x, y); await task();
  for (let i = 0; i < n; i++) {
    const [sum, seen] = await measure(true);
    costs.push(sum); latency.push(seen);
  }
  ev('pointerup', 0, x, y);
  return { base, costs, latency };
}
