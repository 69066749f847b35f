//! Pointer gestures on the board, for every card at once (event
//! delegation): press and drag to move, the handle to resize, click and
//! shift-click to select, shift-drag for a marquee, drag empty space or the
//! wheel to pan, ctrl/cmd+wheel to zoom around the pointer; and the camera
//! (zoom by steps, to 100%, to fit).
//!
//! By touch (a pen is a precise finger): one finger drags a card or pans,
//! two fingers pan and pinch-zoom around their midpoint, a double tap makes
//! or edits a card as a double-click does, and a long press on a card
//! selects it and opens its menu (colour, bring to front, delete).

use std::collections::HashSet;

use board_model::{CardId, Content, EdgeId, Kind, Point, Side, Size};
use leptos::html;
use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;

use crate::dom;
use crate::engine;
use crate::view_model::{BoardSignals, Camera, MIN_ZOOM};

/// Pixels a pointer must travel before a press becomes a drag.
const DRAG_THRESHOLD: f64 = 3.0;
/// How far apart (CSS px) the two presses of a double-click may land.
const DOUBLE_CLICK_SLOP: f64 = 8.0;
/// A tap: a touch that ends within this many px and ms of where it began.
const TAP_SLOP: f64 = 10.0;
const TAP_MS: f64 = 350.0;
/// Two taps this close in time and place are a double tap.
const DOUBLE_TAP_MS: f64 = 400.0;
const DOUBLE_TAP_SLOP: f64 = 28.0;
/// A touch held this long without moving is a long press.
const LONG_PRESS_MS: i32 = 500;
/// Compatibility mouse events a browser sends after touches this recent are ignored.
const AFTER_TOUCH_MS: f64 = 800.0;

#[derive(Clone, Debug, Default)]
enum Gesture {
    #[default]
    Idle,
    Pan {
        start: (f64, f64),
        camera: Camera,
    },
    Press {
        start: (f64, f64),
        board_start: (f64, f64),
        dragging: bool,
    },
    Resize {
        id: CardId,
        start: (f64, f64),
        size: Size,
        kind: Kind,
        aspect: Option<f64>,
    },
    Marquee {
        start: (f64, f64),
        base: HashSet<CardId>,
    },
    /// An edge being drawn from a card's side handle.
    Connect {
        from: CardId,
        side: Side,
    },
    /// Two fingers: the board point under their midpoint stays under it,
    /// the zoom follows their spread.
    Pinch {
        board_mid: (f64, f64),
        spread: f64,
        zoom: f64,
    },
}

/// Fingers (and pens) on the board, for taps, double taps, long presses
/// and pinches.
#[derive(Clone, Debug, Default)]
struct Touches {
    /// Each one down: pointer id and its board-relative screen point.
    down: Vec<(i32, (f64, f64))>,
    /// The first finger's press: where and when, for telling a tap.
    press: Option<((f64, f64), f64)>,
    /// The last tap: where and when, for telling a double tap.
    last_tap: Option<((f64, f64), f64)>,
    /// Counts presses, so a long-press timer knows whether its press lasted.
    generation: u64,
    /// When a touch last ended (compatibility mouse events follow).
    last_touch_ms: Option<f64>,
}

fn is_touch(ev: &web_sys::PointerEvent) -> bool {
    matches!(ev.pointer_type().as_str(), "touch" | "pen")
}

fn midpoint_and_spread(a: (f64, f64), b: (f64, f64)) -> ((f64, f64), f64) {
    (((a.0 + b.0) / 2.0, (a.1 + b.1) / 2.0), (a.0 - b.0).hypot(a.1 - b.1).max(1.0))
}

/// The board element and what its gestures keep between events.
#[derive(Clone, Copy)]
pub struct Canvas {
    pub signals: BoardSignals,
    pub board_ref: NodeRef<html::Div>,
    pub marquee: RwSignal<Option<(f64, f64, f64, f64)>>,
    gesture: StoredValue<Gesture>,
    last_pointer: StoredValue<Option<(f64, f64)>>,
    /// Where the board's top-left corner is in the window. Kept between
    /// pointer moves: reading it forces a layout, and during a drag every
    /// frame has just moved cards. Read again on each press and on resize.
    origin: StoredValue<Option<(f64, f64)>>,
    /// Where the last two left-button presses were: a double-click counts
    /// only when both landed in the same spot, whatever produced the events
    /// (some synthetic input counts any two quick clicks as a double one).
    presses: StoredValue<[(f64, f64); 2]>,
    touches: StoredValue<Touches>,
}

impl Canvas {
    pub fn new(signals: BoardSignals) -> Canvas {
        Canvas {
            signals,
            board_ref: NodeRef::new(),
            marquee: RwSignal::new(None),
            gesture: StoredValue::new(Gesture::Idle),
            last_pointer: StoredValue::new(None),
            origin: StoredValue::new(None),
            presses: StoredValue::new([(f64::NAN, f64::NAN); 2]),
            touches: StoredValue::new(Touches::default()),
        }
    }

    /// Board-relative screen coordinates of a client point.
    pub fn to_screen(self, client_x: f64, client_y: f64) -> (f64, f64) {
        let origin = self.origin.get_value().or_else(|| {
            let rect = self.board_ref.get_untracked()?.get_bounding_client_rect();
            let origin = (rect.left(), rect.top());
            self.origin.set_value(Some(origin));
            Some(origin)
        });
        match origin {
            Some((left, top)) => (client_x - left, client_y - top),
            None => (client_x, client_y),
        }
    }

    pub fn to_board(self, client_x: f64, client_y: f64) -> Point {
        let (sx, sy) = self.to_screen(client_x, client_y);
        let (x, y) = self.signals.camera.get_untracked().to_board(sx, sy);
        Point { x, y }
    }

    /// The board's size on screen, kept in the signals for the engine.
    pub fn measure(self) -> (f64, f64) {
        self.origin.set_value(None);
        let size = self
            .board_ref
            .get_untracked()
            .map(|b| {
                let rect = b.get_bounding_client_rect();
                (rect.width(), rect.height())
            })
            .unwrap_or((1280.0, 720.0));
        if self.signals.viewport.get_untracked() != size {
            self.signals.viewport.set(size);
        }
        size
    }

    pub fn view_center(self) -> Point {
        let (w, h) = self.measure();
        let (x, y) = self.signals.camera.get_untracked().to_board(w / 2.0, h / 2.0);
        Point { x, y }
    }

    /// Where pasted things go: the pointer's last place, else the middle.
    pub fn paste_point(self) -> Point {
        match self.last_pointer.get_value() {
            Some((x, y)) => Point { x, y },
            None => self.view_center(),
        }
    }

    pub fn pointer_down(self, ev: &web_sys::PointerEvent) {
        if ev.button() != 0 && ev.button() != 1 {
            return;
        }
        self.origin.set_value(None);
        if self.signals.card_menu.get_untracked().is_some() {
            self.signals.card_menu.set(None);
        }
        if is_touch(ev) {
            let here = self.to_screen(ev.client_x() as f64, ev.client_y() as f64);
            let fingers = self.touches.with_value(|t| t.down.len());
            self.touches.update_value(|t| {
                t.down.retain(|(id, _)| *id != ev.pointer_id());
                t.down.push((ev.pointer_id(), here));
                t.generation += 1;
                t.press = (fingers == 0).then(|| (here, dom::performance_now()));
            });
            if fingers >= 1 {
                ev.prevent_default();
                self.begin_pinch();
                return;
            }
        }
        if ev.button() == 0 {
            let here = (ev.client_x() as f64, ev.client_y() as f64);
            self.presses.update_value(|[before, last]| (*before, *last) = (*last, here));
        }
        let Some(target) = ev.target().and_then(|t| t.dyn_into::<web_sys::Element>().ok()) else { return };
        if target.closest("a, button, input").ok().flatten().is_some() {
            return;
        }
        let card = target.closest("[data-card-id]").ok().flatten();
        let mut card_id = card
            .as_ref()
            .and_then(|c| c.get_attribute("data-card-id"))
            .and_then(|id| id.parse::<CardId>().ok());
        // A group is taken by its label or its resize handle; inside, the
        // board goes on (pan, marquee, double-click for a note).
        let group = card.as_ref().is_some_and(|c| c.get_attribute("data-kind").as_deref() == Some("group"));
        if group && target.closest(".group-label, [data-handle=resize]").ok().flatten().is_none() {
            card_id = None;
        }
        // The past is only looked at: a card pressed there is selected (to
        // restore it), and the press pans, moving nothing.
        let past = self.signals.history.with_untracked(Option::is_some);
        let past_card = if past { card_id.take() } else { None };
        let edge = edge_under(&target).filter(|_| !past);
        // Typing in a note being edited: leave the pointer to the text.
        if target.closest(".card.editing textarea").ok().flatten().is_some() {
            return;
        }
        ev.prevent_default();
        blur_active();
        let screen = self.to_screen(ev.client_x() as f64, ev.client_y() as f64);
        let board_point = self.to_board(ev.client_x() as f64, ev.client_y() as f64);
        let camera = self.signals.camera.get_untracked();
        let handle_side = target
            .closest("[data-handle=connect]")
            .ok()
            .flatten()
            .and_then(|h| h.get_attribute("data-side"))
            .and_then(|side| Side::parse(&side));
        let extend = ev.shift_key() || ev.meta_key() || ev.ctrl_key();
        let next = if ev.button() == 1 {
            Gesture::Pan { start: screen, camera }
        } else if let Some(id) = edge.filter(|_| card_id.is_none()) {
            engine::with(|e| e.select_edge(Some(id)));
            Gesture::Idle
        } else if let (Some(from), Some(side)) = (card_id, handle_side) {
            self.signals.connecting.set(Some((from, side, board_point)));
            Gesture::Connect { from, side }
        } else if let Some(id) = card_id {
            if target.closest("[data-handle=resize]").ok().flatten().is_some() {
                resize_gesture(id, screen)
            } else {
                engine::with(|e| {
                    if extend {
                        e.toggle_selected(id);
                    } else if !e.is_selected(id) {
                        e.select_only(Some(id));
                    }
                });
                Gesture::Press { start: screen, board_start: (board_point.x, board_point.y), dragging: false }
            }
        } else if let Some(id) = past_card {
            engine::with(|e| if extend { e.toggle_selected(id) } else { e.select_only(Some(id)) });
            Gesture::Pan { start: screen, camera }
        } else if ev.shift_key() && !past {
            let base: HashSet<CardId> =
                engine::with(|e| e.selection().into_iter().collect()).unwrap_or_default();
            Gesture::Marquee { start: (board_point.x, board_point.y), base }
        } else {
            engine::with(|e| {
                e.select_only(None);
                e.select_edge(None);
            });
            Gesture::Pan { start: screen, camera }
        };
        if let Some(board) = self.board_ref.get_untracked() {
            let _ = board.set_pointer_capture(ev.pointer_id());
        }
        if let (true, Gesture::Press { .. }, Some(id)) = (is_touch(ev), &next, card_id) {
            self.await_long_press(id, screen);
        }
        self.gesture.set_value(next);
    }

    /// After [`LONG_PRESS_MS`], if this press is still down and has not
    /// moved: the card's menu.
    fn await_long_press(self, id: CardId, screen: (f64, f64)) {
        let generation = self.touches.with_value(|t| t.generation);
        dom::set_timeout(LONG_PRESS_MS, move || {
            let lasted = self.touches.with_value(|t| t.generation == generation && t.down.len() == 1);
            let still = matches!(self.gesture.get_value(), Gesture::Press { dragging: false, .. });
            if lasted && still {
                self.gesture.set_value(Gesture::Idle);
                self.touches.update_value(|t| t.press = None);
                engine::with(|e| e.select_only(Some(id)));
                self.signals.card_menu.set(Some((id, screen)));
            }
        });
    }

    /// A second finger came down: whatever the first was doing ends where it
    /// is, and the two fingers pan and zoom.
    fn begin_pinch(self) {
        match self.gesture.get_value() {
            Gesture::Press { dragging: true, .. } => {
                engine::with(|e| e.end_drag());
            }
            Gesture::Marquee { .. } => self.marquee.set(None),
            Gesture::Connect { .. } => self.signals.connecting.set(None),
            Gesture::Resize { id, .. } => {
                let size =
                    engine::card_signal(id).map(|s| s.with_untracked(|v| Size { width: v.w, height: v.h }));
                if let Some(size) = size {
                    engine::with(|e| e.commit_size(id, size));
                }
            }
            _ => {}
        }
        let Some((a, b)) = self.touches.with_value(|t| Some((t.down.first()?.1, t.down.get(1)?.1))) else {
            return;
        };
        self.touches.update_value(|t| t.press = None);
        let (mid, spread) = midpoint_and_spread(a, b);
        let camera = self.signals.camera.get_untracked();
        self.gesture.set_value(Gesture::Pinch {
            board_mid: camera.to_board(mid.0, mid.1),
            spread,
            zoom: camera.zoom,
        });
    }

    pub fn pointer_move(self, ev: &web_sys::PointerEvent) {
        let screen = self.to_screen(ev.client_x() as f64, ev.client_y() as f64);
        if is_touch(ev) {
            self.touches.update_value(|t| {
                if let Some(finger) = t.down.iter_mut().find(|(id, _)| *id == ev.pointer_id()) {
                    finger.1 = screen;
                }
            });
            if let Gesture::Pinch { board_mid, spread, zoom } = self.gesture.get_value() {
                let Some((a, b)) = self.touches.with_value(|t| Some((t.down.first()?.1, t.down.get(1)?.1)))
                else {
                    return;
                };
                let (mid, now) = midpoint_and_spread(a, b);
                let zoom = (zoom * now / spread).clamp(MIN_ZOOM, crate::view_model::MAX_ZOOM);
                self.signals.camera.set(Camera {
                    x: mid.0 - board_mid.0 * zoom,
                    y: mid.1 - board_mid.1 * zoom,
                    zoom,
                });
                return;
            }
        }
        let point = self.to_board(ev.client_x() as f64, ev.client_y() as f64);
        self.last_pointer.set_value(Some((point.x, point.y)));
        if !matches!(self.gesture.get_value(), Gesture::Press { dragging: true, .. }) {
            engine::with(|e| e.set_cursor(Some(point)));
        }
        let (signals, marquee) = (self.signals, self.marquee);
        let zoom = signals.camera.get_untracked().zoom;
        self.gesture.update_value(|g| match g {
            Gesture::Idle => {}
            Gesture::Pan { start, camera } => {
                signals.camera.set(Camera {
                    x: camera.x + screen.0 - start.0,
                    y: camera.y + screen.1 - start.1,
                    zoom: camera.zoom,
                });
            }
            Gesture::Press { start, board_start, dragging } => {
                let moved = (screen.0 - start.0).hypot(screen.1 - start.1);
                if !*dragging && moved >= DRAG_THRESHOLD {
                    *dragging = true;
                    engine::with(|e| e.begin_drag());
                }
                if *dragging {
                    let (dx, dy) = (point.x - board_start.0, point.y - board_start.1);
                    engine::with(|e| e.drag_by(dx, dy, point));
                }
            }
            Gesture::Resize { id, start, size, kind, aspect } => {
                let min = kind.min_size();
                let mut width = (size.width + (screen.0 - start.0) / zoom).max(min.width);
                let mut height = (size.height + (screen.1 - start.1) / zoom).max(min.height);
                if let Some(aspect) = aspect {
                    // Images keep their natural aspect ratio.
                    if width / height > *aspect {
                        height = (width / *aspect).max(min.height);
                    } else {
                        width = (height * *aspect).max(min.width);
                    }
                }
                let (id, size) = (*id, Size { width, height });
                engine::with(|e| e.preview_size(id, size));
            }
            Gesture::Connect { from, side } => signals.connecting.set(Some((*from, *side, point))),
            Gesture::Pinch { .. } => {}
            Gesture::Marquee { start, base } => {
                let (x0, y0, x1, y1) = (start.0, start.1, point.x, point.y);
                marquee.set(Some((x0.min(x1), y0.min(y1), (x1 - x0).abs(), (y1 - y0).abs())));
                let mut selection = base.clone();
                let inside = engine::with(|e| e.cards_in(x0, y0, x1, y1)).unwrap_or_default();
                selection.extend(inside);
                engine::with(|e| e.set_selection(selection));
            }
        });
    }

    pub fn pointer_up(self, ev: &web_sys::PointerEvent) {
        let finished = self.gesture.get_value();
        self.gesture.set_value(Gesture::Idle);
        if let Some(board) = self.board_ref.get_untracked() {
            let _ = board.release_pointer_capture(ev.pointer_id());
        }
        if is_touch(ev) {
            let now = dom::performance_now();
            let screen = self.to_screen(ev.client_x() as f64, ev.client_y() as f64);
            let mut double_tap = false;
            self.touches.update_value(|t| {
                t.down.retain(|(id, _)| *id != ev.pointer_id());
                t.last_touch_ms = Some(now);
                t.generation += 1;
                let tapped = ev.type_() == "pointerup"
                    && t.press.take().is_some_and(|(at, when)| {
                        (screen.0 - at.0).hypot(screen.1 - at.1) <= TAP_SLOP && now - when <= TAP_MS
                    });
                if !tapped {
                    return;
                }
                double_tap = t.last_tap.is_some_and(|(at, when)| {
                    (screen.0 - at.0).hypot(screen.1 - at.1) <= DOUBLE_TAP_SLOP && now - when <= DOUBLE_TAP_MS
                });
                t.last_tap = if double_tap { None } else { Some((screen, now)) };
            });
            if matches!(finished, Gesture::Pinch { .. }) {
                // The finger left on the board does nothing until it lifts.
                return;
            }
            if double_tap {
                self.double_click_at(ev.client_x() as f64, ev.client_y() as f64);
            }
        }
        match finished {
            Gesture::Press { dragging: true, .. } => {
                engine::with(|e| e.end_drag());
            }
            Gesture::Resize { id, .. } => {
                let size =
                    engine::card_signal(id).map(|s| s.with_untracked(|v| Size { width: v.w, height: v.h }));
                if let Some(size) = size {
                    engine::with(|e| e.commit_size(id, size));
                }
            }
            Gesture::Marquee { .. } => self.marquee.set(None),
            Gesture::Connect { from, side } => {
                self.signals.connecting.set(None);
                // The card under the pointer (capture sends the release to the board).
                let to = dom::document()
                    .and_then(|d| d.element_from_point(ev.client_x() as f32, ev.client_y() as f32))
                    .and_then(|under| under.closest("[data-card-id]").ok().flatten())
                    .and_then(|card| card.get_attribute("data-card-id"))
                    .and_then(|id| id.parse::<CardId>().ok());
                if let Some(to) = to.filter(|to| *to != from) {
                    engine::with(|e| e.connect(from, Some(side), to));
                }
            }
            _ => {}
        }
    }

    pub fn pointer_leave(self) {
        if matches!(self.gesture.get_value(), Gesture::Idle) {
            engine::with(|e| e.set_cursor(None));
        }
    }

    /// A double-click on empty space makes a note; on a note, edits it; on a
    /// link, edits its address.
    pub fn double_click(self, ev: &web_sys::MouseEvent) {
        let [first, second] = self.presses.get_value();
        if (first.0 - second.0).hypot(first.1 - second.1) > DOUBLE_CLICK_SLOP {
            return;
        }
        // Taps make their own double taps; the browser's double-click after them is not another.
        let last_touch = self.touches.with_value(|t| t.last_touch_ms);
        if last_touch.is_some_and(|at| dom::performance_now() - at < AFTER_TOUCH_MS) {
            return;
        }
        self.double_click_at(ev.client_x() as f64, ev.client_y() as f64);
    }

    /// What a double-click or a double tap at a client point does.
    fn double_click_at(self, client_x: f64, client_y: f64) {
        if self.signals.history.with_untracked(Option::is_some) {
            return;
        }
        // Pointer capture retargets clicks to the board: ask what is under the pointer.
        let under = dom::document().and_then(|d| d.element_from_point(client_x as f32, client_y as f32));
        let Some(target) = under else { return };
        if target.closest("a, button, input").ok().flatten().is_some() {
            return;
        }
        let point = self.to_board(client_x, client_y);
        let edge = edge_under(&target);
        let card = target.closest("[data-card-id]").ok().flatten();
        if let (Some(id), None) = (edge, card.as_ref()) {
            self.signals.labelling.set(Some(id));
            return;
        }
        // Inside a group, off its label: a new note there.
        let in_group_body =
            card.as_ref().is_some_and(|c| c.get_attribute("data-kind").as_deref() == Some("group"))
                && target.closest(".group-label").ok().flatten().is_none();
        match card.filter(|_| !in_group_body) {
            None => {
                engine::with(|e| e.add_note(point, ""));
            }
            Some(card) => {
                if let Some(id) = card.get_attribute("data-card-id").and_then(|id| id.parse::<CardId>().ok())
                {
                    super::keys::edit_card(self, id);
                }
            }
        }
    }

    /// The wheel pans, or zooms around the pointer with ctrl/cmd (and a
    /// trackpad's pinch). Attached by hand: it must not be passive, to keep
    /// the page from zooming.
    pub fn install_wheel(self) {
        Effect::new(move |_| {
            let Some(board) = self.board_ref.get() else { return };
            let handler = Closure::<dyn FnMut(web_sys::WheelEvent)>::new(move |ev: web_sys::WheelEvent| {
                ev.prevent_default();
                let (sx, sy) = self.to_screen(ev.client_x() as f64, ev.client_y() as f64);
                let camera = self.signals.camera.get_untracked();
                let unit = if ev.delta_mode() == 1 { 16.0 } else { 1.0 };
                if ev.ctrl_key() || ev.meta_key() {
                    let factor = (-ev.delta_y() * unit * 0.01).exp();
                    self.signals.camera.set(camera.zoom_around(camera.zoom * factor, sx, sy));
                } else {
                    self.signals.camera.set(Camera {
                        x: camera.x - ev.delta_x() * unit,
                        y: camera.y - ev.delta_y() * unit,
                        zoom: camera.zoom,
                    });
                }
            });
            let options = web_sys::AddEventListenerOptions::new();
            options.set_passive(false);
            let _ = board.add_event_listener_with_callback_and_add_event_listener_options(
                "wheel",
                handler.as_ref().unchecked_ref(),
                &options,
            );
            handler.forget();
        });
    }

    /// Pans (never zooms) so the board rectangle `(x0, y0, x1, y1)` is in
    /// view, if it is not already.
    pub fn reveal(self, (x0, y0, x1, y1): (f64, f64, f64, f64)) {
        let (w, h) = self.measure();
        let camera = self.signals.camera.get_untracked();
        let (left, top) = (x0 * camera.zoom + camera.x, y0 * camera.zoom + camera.y);
        let (right, bottom) = (x1 * camera.zoom + camera.x, y1 * camera.zoom + camera.y);
        const MARGIN: f64 = 24.0;
        if left >= MARGIN && top >= MARGIN && right <= w - MARGIN && bottom <= h - MARGIN {
            return;
        }
        self.signals.camera.set(Camera {
            x: w / 2.0 - (x0 + x1) / 2.0 * camera.zoom,
            y: h / 2.0 - (y0 + y1) / 2.0 * camera.zoom,
            zoom: camera.zoom,
        });
    }

    pub fn zoom_by(self, factor: f64) {
        let camera = self.signals.camera.get_untracked();
        self.zoom_to(camera.zoom * factor);
    }

    pub fn zoom_to(self, zoom: f64) {
        let (w, h) = self.measure();
        let camera = self.signals.camera.get_untracked();
        self.signals.camera.set(camera.zoom_around(zoom, w / 2.0, h / 2.0));
    }

    pub fn zoom_to_fit(self) {
        let Some(bounds) = engine::with(|e| e.bounds()).flatten() else {
            self.signals.camera.set(Camera::default());
            return;
        };
        self.zoom_to_rect(bounds, 64.0);
    }

    /// Pans and zooms (never past 100%) so the board rectangle
    /// `(x0, y0, x1, y1)` fills the view inside `padding` pixels.
    pub fn zoom_to_rect(self, (x0, y0, x1, y1): (f64, f64, f64, f64), padding: f64) {
        let (w, h) = self.measure();
        let zoom = ((w - 2.0 * padding) / (x1 - x0).max(1.0))
            .min((h - 2.0 * padding) / (y1 - y0).max(1.0))
            .clamp(MIN_ZOOM, 1.0);
        let x = w / 2.0 - (x0 + x1) / 2.0 * zoom;
        let y = h / 2.0 - (y0 + y1) / 2.0 * zoom;
        self.signals.camera.set(Camera { x, y, zoom });
    }
}

/// A press on a card's resize handle: the card selected, images keeping
/// their aspect ratio.
fn resize_gesture(id: CardId, screen: (f64, f64)) -> Gesture {
    let found = engine::with(|e| {
        e.select_only(Some(id));
        e.board().card(id)
    })
    .flatten();
    let Some(card) = found else { return Gesture::Idle };
    let aspect = match &card.content {
        Content::Image(image) if image.natural_height > 0 => {
            Some(image.natural_width as f64 / image.natural_height as f64)
        }
        _ => None,
    };
    Gesture::Resize { id, start: screen, size: card.size, kind: card.kind(), aspect }
}

fn blur_active() {
    if let Some(active) = dom::document().and_then(|d| d.active_element())
        && let Ok(element) = active.dyn_into::<web_sys::HtmlElement>()
    {
        let _ = element.blur();
    }
}

/// Opens the board a pinned-board card holds (its link is this app's own
/// kind of address: the board opens in place).
pub fn open_pinned_board(id: CardId) {
    let Some(card) = engine::with(|e| e.board().card(id)).flatten() else { return };
    let Content::Board { link } = card.content else { return };
    match board_key::link::ShareLink::parse(&link) {
        Ok(link) => dom::set_hash(&link.fragment()),
        Err(error) => crate::notify::error(&format!("This pinned board's link can't be opened: {error}")),
    }
}

/// The edge an element belongs to: its line or its label.
fn edge_under(target: &web_sys::Element) -> Option<EdgeId> {
    target
        .closest("[data-edge-id], [data-label-of]")
        .ok()
        .flatten()
        .and_then(|e| e.get_attribute("data-edge-id").or_else(|| e.get_attribute("data-label-of")))
        .and_then(|id| id.parse::<EdgeId>().ok())
}
