//! Where an edge is drawn, from its two cards' rectangles: the side of each
//! card it leaves and enters (chosen facing the other card when automatic),
//! a cubic curve between them leaving each side straight out, arrowheads at
//! the ends that have one, and the middle of the curve for the label. Pure
//! numbers in board units; the app and the SVG export draw them.

use board_model::{End, Point, Side};

/// A card's rectangle in board units.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rect {
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
}

impl Rect {
    fn center(self) -> Point {
        Point { x: self.x + self.w / 2.0, y: self.y + self.h / 2.0 }
    }

    /// The middle of one side, and the direction pointing out of the card.
    pub fn anchor(self, side: Side) -> (Point, (f64, f64)) {
        let c = self.center();
        match side {
            Side::Top => (Point { x: c.x, y: self.y }, (0.0, -1.0)),
            Side::Bottom => (Point { x: c.x, y: self.y + self.h }, (0.0, 1.0)),
            Side::Left => (Point { x: self.x, y: c.y }, (-1.0, 0.0)),
            Side::Right => (Point { x: self.x + self.w, y: c.y }, (1.0, 0.0)),
        }
    }
}

/// The side of `from` that faces `to`.
pub fn facing_side(from: Rect, to: Rect) -> Side {
    let (a, b) = (from.center(), to.center());
    let (dx, dy) = (b.x - a.x, b.y - a.y);
    // Compare in units of each card's half size, so a wide card connects
    // from its long sides when the other card is mostly above or below.
    let (nx, ny) = (dx / (from.w + to.w).max(1.0), dy / (from.h + to.h).max(1.0));
    if nx.abs() >= ny.abs() {
        if dx >= 0.0 { Side::Right } else { Side::Left }
    } else if dy >= 0.0 {
        Side::Bottom
    } else {
        Side::Top
    }
}

/// How an edge is drawn.
#[derive(Clone, Debug, PartialEq)]
pub struct EdgeShape {
    /// The SVG path of the curve.
    pub d: String,
    /// Arrowhead triangles (SVG `points`) at the ends that have one.
    pub arrows: Vec<String>,
    /// Where the label goes: the middle of the curve.
    pub middle: Point,
}

/// Length and half width of an arrowhead, in board units.
const ARROW: (f64, f64) = (12.0, 6.5);

/// The edge's shape between two cards.
pub fn shape(
    from: Rect,
    from_side: Option<Side>,
    from_end: End,
    to: Rect,
    to_side: Option<Side>,
    to_end: End,
) -> EdgeShape {
    let from_side = from_side.unwrap_or_else(|| facing_side(from, to));
    let to_side = to_side.unwrap_or_else(|| facing_side(to, from));
    let (p0, n0) = from.anchor(from_side);
    let (p3, n3) = to.anchor(to_side);
    curve(p0, n0, from_end, p3, Some(n3), to_end)
}

/// The shape of an edge being drawn, from a card's side to the pointer.
pub fn to_point(from: Rect, side: Side, to: Point) -> EdgeShape {
    let (p0, n0) = from.anchor(side);
    curve(p0, n0, End::None, to, None, End::Arrow)
}

fn curve(p0: Point, n0: (f64, f64), start: End, p3: Point, n3: Option<(f64, f64)>, end: End) -> EdgeShape {
    let distance = (p3.x - p0.x).hypot(p3.y - p0.y);
    let reach = (distance * 0.45).clamp(24.0, 220.0);
    let p1 = Point { x: p0.x + n0.0 * reach, y: p0.y + n0.1 * reach };
    let p2 = match n3 {
        Some(n3) => Point { x: p3.x + n3.0 * reach, y: p3.y + n3.1 * reach },
        None => Point { x: (p1.x + p3.x) / 2.0, y: (p1.y + p3.y) / 2.0 },
    };
    let d = format!(
        "M{:.1} {:.1}C{:.1} {:.1} {:.1} {:.1} {:.1} {:.1}",
        p0.x, p0.y, p1.x, p1.y, p2.x, p2.y, p3.x, p3.y
    );
    let mut arrows = Vec::new();
    if start == End::Arrow {
        arrows.push(arrowhead(p0, p1));
    }
    if end == End::Arrow {
        arrows.push(arrowhead(p3, p2));
    }
    let middle = Point {
        x: 0.125 * p0.x + 0.375 * p1.x + 0.375 * p2.x + 0.125 * p3.x,
        y: 0.125 * p0.y + 0.375 * p1.y + 0.375 * p2.y + 0.125 * p3.y,
    };
    EdgeShape { d, arrows, middle }
}

/// A triangle with its tip at `tip`, pointing away from `from`.
fn arrowhead(tip: Point, from: Point) -> String {
    let (dx, dy) = (tip.x - from.x, tip.y - from.y);
    let length = dx.hypot(dy).max(1e-9);
    let (ux, uy) = (dx / length, dy / length);
    let base = Point { x: tip.x - ux * ARROW.0, y: tip.y - uy * ARROW.0 };
    let (px, py) = (-uy * ARROW.1, ux * ARROW.1);
    format!(
        "{:.1},{:.1} {:.1},{:.1} {:.1},{:.1}",
        tip.x,
        tip.y,
        base.x + px,
        base.y + py,
        base.x - px,
        base.y - py
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: Rect = Rect { x: 0.0, y: 0.0, w: 200.0, h: 100.0 };

    #[test]
    fn automatic_sides_face_the_other_card() {
        let right = Rect { x: 500.0, y: 20.0, w: 200.0, h: 100.0 };
        let below = Rect { x: 30.0, y: 400.0, w: 200.0, h: 100.0 };
        assert_eq!(facing_side(A, right), Side::Right);
        assert_eq!(facing_side(right, A), Side::Left);
        assert_eq!(facing_side(A, below), Side::Bottom);
        assert_eq!(facing_side(below, A), Side::Top);
    }

    #[test]
    fn the_curve_runs_from_side_to_side_with_an_arrow_at_its_end() {
        let b = Rect { x: 500.0, y: 0.0, w: 200.0, h: 100.0 };
        let shape = shape(A, None, End::None, b, None, End::Arrow);
        assert!(shape.d.starts_with("M200.0 50.0C"), "{}", shape.d);
        assert!(shape.d.ends_with("500.0 50.0"), "{}", shape.d);
        assert_eq!(shape.arrows.len(), 1);
        assert!(shape.arrows[0].starts_with("500.0,50.0 488.0,"), "{}", shape.arrows[0]);
        assert_eq!(shape.middle, Point { x: 350.0, y: 50.0 });
        let both = super::shape(A, Some(Side::Top), End::Arrow, b, Some(Side::Top), End::Arrow);
        assert_eq!(both.arrows.len(), 2);
    }
}
