// The baseline of the web app bench's live motion (tests/benches/ui.rs):
// Yjs + y-webrtc doing the same move stream between two headless Chromiums
// (each its own profile, so nothing goes through BroadcastChannel), as a
// Yjs board would: a card's position in the document (`cards` → Y.Map
// {x, y}), and the same as presence (awareness `dragging: {id, x, y}`), which
// is what Corkboard sends for a live drag.
//
// index.html?room=R&signal=ws://127.0.0.1:PORT, bundled by ./x bench with
// esbuild. Times are performance.timeOrigin + performance.now(), ms since
// the epoch, comparable between the two browsers of this machine.
import * as Y from 'yjs'
import { WebrtcProvider } from 'y-webrtc'

const params = new URLSearchParams(location.search)
const now = () => performance.timeOrigin + performance.now()
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

const doc = new Y.Doc()
const provider = new WebrtcProvider(params.get('room'), doc, {
  signaling: [params.get('signal')],
  // Loopback: host candidates only.
  peerOpts: { config: { iceServers: [] } },
  filterBcConns: false,
})
const awareness = provider.awareness
const cards = doc.getMap('cards')
// A first state (clock 1) so the peers see each other's presence on connect.
awareness.setLocalStateField('bench', true)

const peers = () =>
  provider.room ? [...provider.room.webrtcConns.values()].filter((c) => c.connected && !c.closed) : []

window.__status = () => ({
  webrtc: peers().map((c) => ({ synced: c.synced })),
  broadcast: provider.room ? provider.room.bcConns.size : 0,
  presence: [...awareness.getStates().keys()].filter((k) => k !== doc.clientID).length,
})

// Resolves once a WebRTC peer is connected and synced and its presence is here.
window.__ready = () =>
  new Promise((resolve) => {
    const check = () => {
      const s = window.__status()
      if (s.webrtc.some((c) => c.synced) && s.presence > 0) {
        clearInterval(timer)
        resolve(s)
      }
    }
    const timer = setInterval(check, 20)
    check()
  })

// Receiver: [time, x] each time card `id`'s x changes in the document
// (`doc`) or in a peer's presence (`presence`), into window.__arrivals.
window.__observe = (id, kind) => {
  window.__arrivals = []
  let last
  const seen = (x) => {
    if (x !== undefined && x !== last) {
      last = x
      window.__arrivals.push([now(), x])
    }
  }
  if (kind === 'doc') {
    cards.observeDeep(() => {
      const card = cards.get(id)
      seen(card instanceof Y.Map ? card.get('x') : undefined)
    })
  } else {
    awareness.on('change', ({ added, updated }) => {
      for (const client of added.concat(updated)) {
        const dragging = client === doc.clientID ? undefined : awareness.getStates().get(client)?.dragging
        if (dragging && dragging.id === id) seen(dragging.x)
      }
    })
  }
  return true
}

// Sender: moves card `id` to x = 3 × step for step 1..n, one every `gap` ms
// (the document's card is made at x = 0 first); [step, time] before each.
window.__drag = async (id, kind, n, gap) => {
  if (kind === 'doc' && !cards.has(id)) {
    const card = new Y.Map()
    card.set('x', 0)
    card.set('y', 100)
    cards.set(id, card)
    await sleep(200)
  }
  const sent = []
  let next = performance.now()
  for (let step = 1; step <= n; step++) {
    const x = 3 * step
    sent.push([step, now()])
    if (kind === 'doc') {
      const card = cards.get(id)
      doc.transact(() => {
        card.set('x', x)
        card.set('y', 100)
      })
    } else {
      awareness.setLocalStateField('dragging', { id, x, y: 100 })
    }
    next += gap
    await sleep(Math.max(0, next - performance.now()))
  }
  return sent
}

window.__loaded = true
