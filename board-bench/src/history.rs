//! The history view's cost, natively, on a 1,000-card board holding
//! 1,000,000 moves (one every 100 ms of its authors' clocks, so about a
//! day and a half of work in ten-second changes): reading its history and
//! sessions (what opening the view does), then slider steps on one viewer
//! (`Board::past`): one change back at a time, as a drag does, and jumps to
//! random moments. `board-bench history [--quick]` prints the table.

use std::time::{Duration, Instant};

use anyhow::Result;
use board_model::sample::{self, WORKED_CARDS as CARDS};
use board_model::{Board, BoardId, ReplicaId};

fn percentile(mut values: Vec<Duration>, p: f64) -> Duration {
    values.sort();
    let rank = ((p / 100.0) * (values.len().saturating_sub(1)) as f64).round() as usize;
    values.get(rank).copied().unwrap_or_default()
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

/// A small deterministic generator (xorshift), so runs are comparable.
struct Steps(u64);

impl Steps {
    fn next(&mut self, below: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % below.max(1) as u64) as usize
    }
}

/// This process's resident memory (Linux), MiB; 0 where unknown.
fn resident_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
            line.split_whitespace().nth(1)?.parse::<f64>().ok()
        })
        .map_or(0.0, |kib| kib / 1024.0)
}

pub fn table(quick: bool) -> Result<String> {
    let moves: usize = if quick { 100_000 } else { 1_000_000 };
    let start_ms: i64 = 1_796_634_000_000;
    eprintln!("history: {moves} moves");
    let board = sample::worked_board(BoardId::from_random_bytes([8; 16]), ReplicaId(1), start_ms, moves)?;
    // As a person opening the board finds it: loaded from its snapshot.
    let saved = board.save()?;
    let board = Board::load(&saved, ReplicaId(2))?;

    let began = Instant::now();
    let history = board.history();
    let read_history = began.elapsed();
    let began = Instant::now();
    let again = board.history();
    let read_again = began.elapsed();
    assert_eq!(again.changes().len(), history.changes().len());
    let began = Instant::now();
    let sessions = board.sessions(&history);
    let read_sessions = began.elapsed();
    let steps = history.changes().len();

    let rss_before = resident_mib();
    let began = Instant::now();
    let mut past = board.past(&history)?;
    let made_viewer = began.elapsed();
    let mut random = Steps(0x9e37_79b9_7f4a_7c15);
    let time_step = |past: &mut board_model::Past, step: usize| -> Result<Duration> {
        let version = history.version_after(step);
        let began = Instant::now();
        let _ = past.show(&version)?.card_count();
        Ok(began.elapsed())
    };
    // A drag back through the last part of the history, one change a step,
    // right after the view opens (the last segment needs no preparing).
    let drag = (steps.saturating_sub(200)..=steps)
        .rev()
        .map(|step| time_step(&mut past, step))
        .collect::<Result<Vec<_>>>()?;
    // Jumps before the segments are made: the whole copy shows them.
    let early_jumps =
        (0..20).map(|_| time_step(&mut past, random.next(steps + 1))).collect::<Result<Vec<_>>>()?;
    // The segments, made as the view does in idle time, a piece at a time.
    let mut pieces = Vec::new();
    loop {
        let began = Instant::now();
        let more = past.prepare(&board);
        pieces.push(began.elapsed());
        if !more {
            break;
        }
    }
    let prepared: Duration = pieces.iter().sum();
    let rss_after = resident_mib();
    // Jumps to random moments.
    let jumps = (0..100).map(|_| time_step(&mut past, random.next(steps + 1))).collect::<Result<Vec<_>>>()?;
    if !past.segmented() {
        anyhow::bail!("the viewer fell back to the whole copy");
    }
    // Reading what a step shows (the view draws every card).
    let mut reads = Vec::new();
    for _ in 0..20 {
        let shown = past.show(&history.version_after(random.next(steps + 1)))?;
        let began = Instant::now();
        let cards = shown.cards();
        reads.push(began.elapsed());
        assert_eq!(cards.len(), CARDS);
    }

    let mut out = String::new();
    out.push_str(&format!(
        "### History view, native ({CARDS} cards, {moves} moves in {steps} changes, {} sessions, snapshot {:.1} MB)\n\n",
        sessions.len(),
        saved.len() as f64 / 1e6
    ));
    out.push_str(
        "Release build, one run, on the machine of section 1 (`board-bench history`). The segments are what \
         the web app's file worker makes while the view is open (the page only if the worker fails).\n\n",
    );
    out.push_str("| what | figure | target |\n|---|---:|---|\n");
    out.push_str(&format!(
        "| open the history view: read the changes (first time after loading; again) | {}; {} | |\n",
        ms(read_history),
        ms(read_again)
    ));
    out.push_str(&format!(
        "| open the history view: group into sessions (cards touched) | {} | |\n",
        ms(read_sessions)
    ));
    out.push_str(&format!("| open the history view: make the slider's viewer | {} | |\n", ms(made_viewer)));
    out.push_str(&format!(
        "| make the viewer's {} segments in idle time: in all; the longest piece | {}; {} | |\n",
        pieces.len(),
        ms(prepared),
        ms(pieces.iter().max().copied().unwrap_or_default())
    ));
    out.push_str(&format!(
        "| process resident memory (it built the board itself first): before the viewer; with its segments made | {rss_before:.0} MiB; {rss_after:.0} MiB | |\n"
    ));
    out.push_str(&format!(
        "| slider step, one change back (drag, {} steps) | p50 {}, p95 {} | ≤ 50 ms |\n",
        drag.len(),
        ms(percentile(drag.clone(), 50.0)),
        ms(percentile(drag, 95.0))
    ));
    out.push_str(&format!(
        "| slider jump to a random moment before the segments are made (20 jumps) | p50 {}, p95 {} | |\n",
        ms(percentile(early_jumps.clone(), 50.0)),
        ms(percentile(early_jumps, 95.0))
    ));
    out.push_str(&format!(
        "| slider jump to a random moment (100 jumps) | p50 {}, p95 {} | ≤ 50 ms |\n",
        ms(percentile(jumps.clone(), 50.0)),
        ms(percentile(jumps, 95.0))
    ));
    out.push_str(&format!(
        "| read the {CARDS} cards a step shows | p50 {} | |\n",
        ms(percentile(reads, 50.0))
    ));
    Ok(out)
}
