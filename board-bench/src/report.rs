//! The benchmark report: workload sizes, result rows, the Markdown table
//! with our standing against PRODUCT.md's targets, and recording it in
//! BENCHMARKS.md between markers.

use std::fmt::Write as _;
use std::time::Duration;

use crate::Load;
use crate::engine::{Colours, Reconcile};

/// How big each workload is.
#[derive(Debug, Clone, Copy)]
pub struct Sizes {
    pub cards: usize,
    pub timed_moves: usize,
    pub history_moves: usize,
    pub offline_edits: usize,
    pub colour_peers: usize,
}

impl Sizes {
    /// The sizes PRODUCT.md's targets are stated for.
    pub const FULL: Sizes = Sizes {
        cards: 1_000,
        timed_moves: 200_000,
        history_moves: 1_000_000,
        offline_edits: 10_000,
        colour_peers: 100,
    };
    /// A tenth of the history, for a quick look.
    pub const QUICK: Sizes = Sizes {
        cards: 1_000,
        timed_moves: 20_000,
        history_moves: 100_000,
        offline_edits: 10_000,
        colour_peers: 100,
    };
}

/// One engine's results.
#[derive(Debug)]
pub struct HistoryRow {
    pub engine: &'static str,
    pub per_move_us: f64,
    pub build: Duration,
    pub full_bytes: usize,
    pub trimmed_bytes: Option<usize>,
    pub load: Load,
    pub trimmed_load: Option<Load>,
    pub reconcile: Reconcile,
    pub colours: Colours,
}

#[derive(Debug)]
pub struct Report {
    pub sizes: Sizes,
    pub rows: Vec<HistoryRow>,
    /// A committed move on a headless replica (a node's: `Board::load_headless`, no undo, no events), µs.
    pub node_move_us: Option<f64>,
}

fn ms(duration: Duration) -> String {
    format!("{:.1} ms", duration.as_secs_f64() * 1e3)
}

fn mib(bytes: usize) -> String {
    format!("{:.2} MiB", bytes as f64 / (1024.0 * 1024.0))
}

fn kib_as_mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

fn verdict(ok: bool) -> &'static str {
    if ok { "meets" } else { "misses" }
}

impl Report {
    pub fn new(sizes: Sizes) -> Report {
        Report { sizes, rows: Vec::new(), node_move_us: None }
    }

    pub fn markdown(&self) -> String {
        let s = self.sizes;
        let mut out = String::new();
        let _ = writeln!(out, "### Machine\n\n{}\n", machine());
        let _ = writeln!(
            out,
            "Sizes: {} cards; {} timed moves; history of {} moves; {} offline edits per side; {} colour peers.\n",
            s.cards, s.timed_moves, s.history_moves, s.offline_edits, s.colour_peers
        );
        let _ = writeln!(out, "### 1. One card move, committed\n");
        let _ = writeln!(out, "| engine | µs per move |\n|---|---:|");
        for row in &self.rows {
            let _ = writeln!(out, "| {} | {:.2} |", row.engine, row.per_move_us);
            if row.engine.starts_with("Corkboard")
                && let Some(node) = self.node_move_us
            {
                let _ = writeln!(
                    out,
                    "| Corkboard board-model, headless (a node's replica: no undo, no events) | {node:.2} |"
                );
            }
        }
        let _ = writeln!(out, "\n### 2. A board of {} cards after {} moves\n", s.cards, s.history_moves);
        let _ = writeln!(
            out,
            "| engine | build | full save | load + read (full) | peak RSS | RSS added | trimmed save | load + read (trimmed) | peak RSS (trimmed) |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|"
        );
        for row in &self.rows {
            let trimmed = row.trimmed_bytes.map_or("n/a".into(), mib);
            let (trimmed_time, trimmed_peak) = match row.trimmed_load {
                Some(load) => (ms(load.time), kib_as_mib(load.peak_kib)),
                None => ("n/a".into(), "n/a".into()),
            };
            let _ = writeln!(
                out,
                "| {} | {:.1} s | {} | {} | {} | {} | {} | {} | {} |",
                row.engine,
                row.build.as_secs_f64(),
                mib(row.full_bytes),
                ms(row.load.time),
                kib_as_mib(row.load.peak_kib),
                kib_as_mib(row.load.added_kib),
                trimmed,
                trimmed_time,
                trimmed_peak
            );
        }
        let _ = writeln!(out, "\n### 3. Two replicas, {} offline edits each, reconcile\n", s.offline_edits);
        let _ = writeln!(
            out,
            "| engine | bytes exchanged | bytes of the changes | ratio | round trips | compute |\n|---|---:|---:|---:|---:|---:|"
        );
        for row in &self.rows {
            let r = row.reconcile;
            let _ = writeln!(
                out,
                "| {} | {} | {} | {:.2}× | {} | {} |",
                row.engine,
                r.bytes_exchanged,
                r.change_bytes,
                r.bytes_exchanged as f64 / r.change_bytes.max(1) as f64,
                r.round_trips,
                ms(r.compute)
            );
        }
        let _ = writeln!(out, "\n### 4. {} peers each set the same card's colour once\n", s.colour_peers);
        let _ = writeln!(out, "| engine | apply all | saved size | converged |\n|---|---:|---:|---|");
        for row in &self.rows {
            let c = row.colours;
            let _ = writeln!(
                out,
                "| {} | {} | {} B | {} |",
                row.engine,
                ms(c.apply),
                c.saved_bytes,
                if c.converged { "yes" } else { "NO" }
            );
        }
        out.push_str(&self.standing());
        out
    }

    /// Where we stand against PRODUCT.md's targets.
    fn standing(&self) -> String {
        let ours = self.rows.iter().find(|r| r.engine.starts_with("Corkboard"));
        let loro = self.rows.iter().find(|r| r.engine == "Loro (raw)");
        let loro_fair = self.rows.iter().find(|r| r.engine.starts_with("Loro (raw, with"));
        let (Some(ours), Some(loro)) = (ours, loro) else { return String::new() };
        let ratio = ours.per_move_us / loro.per_move_us;
        let r = ours.reconcile;
        let bytes_ratio = r.bytes_exchanged as f64 / r.change_bytes.max(1) as f64;
        let full_history = self.sizes.history_moves >= 1_000_000;
        let mut out = String::from(
            "\n### Against the targets (PRODUCT.md)\n\n| target | figure | standing |\n|---|---|---|\n",
        );
        let _ = writeln!(
            out,
            "| move commit ≤ 5 µs | {:.2} µs | {} |",
            ours.per_move_us,
            verdict(ours.per_move_us <= 5.0)
        );
        let _ = writeln!(
            out,
            "| move commit ≤ 1.5× raw Loro (bare: no undo, no events) | {:.2}× | {} |",
            ratio,
            verdict(ratio <= 1.5)
        );
        if let Some(node) = self.node_move_us {
            let node_ratio = node / loro.per_move_us;
            let _ = writeln!(
                out,
                "| … on a node's replica (headless: no undo, no events; `corkboard-peer serve`, the desktop's node) | {node:.2} µs, {node_ratio:.2}× raw Loro | {} |",
                verdict(node <= 5.0 && node_ratio <= 1.5)
            );
        }
        if let Some(fair) = loro_fair {
            let fair_ratio = ours.per_move_us / fair.per_move_us;
            let _ = writeln!(
                out,
                "| move commit ≤ 1.5× raw Loro with an undo manager and a subscriber (what the board does) | {:.2}× | {} |",
                fair_ratio,
                verdict(fair_ratio <= 1.5)
            );
        }
        let scale = if full_history { "" } else { " (quick run: a tenth of the history)" };
        let _ = writeln!(
            out,
            "| open 1,000 cards / 1M moves ≤ 50 ms{scale} | {} (full history), {} (trimmed) | {} |",
            ms(ours.load.time),
            ours.trimmed_load.map_or("n/a".into(), |l| ms(l.time)),
            verdict(ours.load.time.as_millis() <= 50)
        );
        let _ = writeln!(
            out,
            "| … ≤ 64 MB resident | peak {} (full), {} (trimmed) | {} |",
            kib_as_mib(ours.load.peak_kib),
            ours.trimmed_load.map_or("n/a".into(), |l| kib_as_mib(l.peak_kib)),
            verdict(ours.load.peak_kib <= 64 * 1024)
        );
        let _ = writeln!(
            out,
            "| reconcile in 1 round trip | {} | {} |",
            r.round_trips,
            verdict(r.round_trips <= 1.0)
        );
        let _ = writeln!(
            out,
            "| reconcile ≤ 1.2× the changes' bytes | {:.2}× | {} |",
            bytes_ratio,
            verdict(bytes_ratio <= 1.2)
        );
        let _ = writeln!(
            out,
            "| reconcile ≤ 50 ms compute | {} | {} |",
            ms(r.compute),
            verdict(r.compute.as_millis() <= 50)
        );
        out
    }
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines().find_map(|l| {
                l.strip_prefix("model name").map(|r| r.trim_start_matches([' ', '\t', ':']).to_owned())
            })
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|info| info.lines().next().map(|l| l.split_whitespace().nth(1).unwrap_or("0").to_owned()))
        .and_then(|kib| kib.parse::<u64>().ok())
        .map_or("unknown".into(), |kib| format!("{:.0} GiB", kib as f64 / 1048576.0));
    let rustc = std::process::Command::new("rustc")
        .arg("--version")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    let os = std::fs::read_to_string("/etc/os-release")
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| l.strip_prefix("PRETTY_NAME=").map(|v| v.trim_matches('"').to_owned()))
        })
        .unwrap_or_default();
    format!(
        "{cpu}, {cores} cores, {memory} RAM; {os}; {rustc}; release build (`cargo run --release -p board-bench`)."
    )
}

/// Replaces the `board-bench` section of `path` (appending it when absent).
pub fn write_section(path: &str, table: &str) -> std::io::Result<()> {
    write_named_section(path, "board-bench", table)
}

/// Replaces the section between `<!-- NAME:start -->` and `<!-- NAME:end -->`
/// in `path` (appending it when absent).
pub fn write_named_section(path: &str, name: &str, table: &str) -> std::io::Result<()> {
    let (start_marker, end_marker) = (format!("<!-- {name}:start -->"), format!("<!-- {name}:end -->"));
    let existing = std::fs::read_to_string(path).unwrap_or_default();
    let section = format!("{start_marker}\n{}\n{end_marker}", table.trim_end());
    let updated = match (existing.find(&start_marker), existing.find(&end_marker)) {
        (Some(start), Some(end)) if end > start => {
            format!("{}{}{}", &existing[..start], section, &existing[end + end_marker.len()..])
        }
        _ => format!("{existing}\n{section}\n"),
    };
    std::fs::write(path, updated)
}
