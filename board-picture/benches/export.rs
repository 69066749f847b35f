//! Export of a big map: a 1,000-card board (notes with Markdown, in
//! groups of 25) with 2,000 edges, written as SVG and rendered to PNG at
//! 2 px per unit, against reading the same board's cards and edges (what
//! any export must do) in the same run. Prints a Markdown section
//! (`cargo bench -p board-picture --bench export`; `./x bench` runs it).

use std::time::Instant;

use board_model::{Board, BoardId, CardId, Content, NewCard, NewEdge, Point, ReplicaId};

const CARDS: usize = 1_000;
const EDGES: usize = 2_000;
const RUNS: usize = 5;

fn board() -> Board {
    let mut board =
        Board::create(BoardId(uuid::Uuid::from_bytes([3; 16])), "Map", ReplicaId(1)).expect("board");
    let mut ids = Vec::with_capacity(CARDS);
    let cards: Vec<NewCard> = (0..CARDS)
        .map(|i| {
            let id = CardId::from_random_bytes((i as u128 + 1).to_le_bytes());
            ids.push(id);
            NewCard {
                id,
                position: Point { x: (i % 40) as f64 * 260.0, y: (i / 40) as f64 * 200.0 },
                size: None,
                color: (i % 7 != 0).then(|| board_model::Color::Preset((i % 6) as u8 + 1)),
                content: Content::Note {
                    text: format!("# Card {i}\n\nSome *notes* about it.\n\n- [ ] one\n- [x] two"),
                },
                created_by: "bench".into(),
                created_at: 0,
            }
        })
        .collect();
    board.add_cards(cards).expect("cards");
    let edges: Vec<NewEdge> = (0..EDGES)
        .map(|i| {
            let (from, to) = (ids[i % CARDS], ids[(i * 7 + 1) % CARDS]);
            let id = board_model::EdgeId::from_random_bytes((i as u128 + 10_000).to_le_bytes());
            let mut edge = NewEdge::between(id, from, to);
            if i % 5 == 0 {
                edge.label = format!("step {i}");
            }
            edge
        })
        .collect();
    board.add_edges(edges).expect("edges");
    board
}

fn median(mut times: Vec<f64>) -> f64 {
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

fn main() {
    let board = board();
    let time = |f: &mut dyn FnMut()| {
        median(
            (0..RUNS)
                .map(|_| {
                    let start = Instant::now();
                    f();
                    start.elapsed().as_secs_f64() * 1000.0
                })
                .collect(),
        )
    };
    let read = time(&mut || {
        std::hint::black_box((board.cards(), board.edges()));
    });
    let mut svg = String::new();
    let svg_ms = time(&mut || svg = board_picture::svg(&board, None, &|_| None).svg);
    let mut png = Vec::new();
    let png_ms = time(&mut || png = board_picture::png::png(&svg, 2.0).expect("png"));
    let (w, h) = (
        u32::from_be_bytes([png[16], png[17], png[18], png[19]]),
        u32::from_be_bytes([png[20], png[21], png[22], png[23]]),
    );
    println!("### Export: {CARDS} cards (Markdown notes) and {EDGES} edges, median of {RUNS} (release)");
    println!();
    println!("| what | time | × reading the cards and edges |");
    println!("|---|---|---|");
    println!("| read `cards()` + `edges()` (baseline) | {read:.1} ms | 1.0× |");
    println!("| SVG ({:.1} MB) | {svg_ms:.1} ms | {:.1}× |", svg.len() as f64 / 1e6, svg_ms / read);
    println!(
        "| PNG from it ({w}×{h} px, {:.1} MB; scaled to ≤ 64 MP) | {png_ms:.0} ms | {:.0}× |",
        png.len() as f64 / 1e6,
        png_ms / read
    );
}
