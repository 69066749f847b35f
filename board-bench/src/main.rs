//! `board-bench`: runs the board workloads on Corkboard's board model, raw
//! Loro, Automerge and Yrs in one process, prints a Markdown table and, with
//! `--write FILE`, records it in FILE (BENCHMARKS.md) between markers.
//!
//! Usage: `board-bench [--quick] [--write BENCHMARKS.md]`;
//! `board-bench record NAME FILE < table` records another bench's table;
//! `board-bench history [--quick]` prints the history view's table. Memory is measured
//! in a child process per engine (`board-bench load-rss ENGINE FILE`), so one
//! engine's allocations never count against another.

mod board_engine;
mod engine;
mod history;
mod loro_engine;
mod report;

use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::board_engine::BoardEngine;
use crate::engine::Engine;
use crate::loro_engine::{LoroEngine, LoroUndoEventsEngine};
use crate::report::{HistoryRow, Report, Sizes};

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("record") {
        // `board-bench record NAME FILE`: stdin (another bench's table) into FILE's NAME section.
        let (Some(name), Some(file)) = (args.get(1), args.get(2)) else {
            bail!("usage: board-bench record NAME FILE < table");
        };
        let mut table = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut table)?;
        print!("{table}");
        return report::write_named_section(file, name, &table).with_context(|| format!("writing {file}"));
    }
    if args.first().map(String::as_str) == Some("history") {
        print!("{}", history::table(args.iter().any(|a| a == "--quick"))?);
        return Ok(());
    }
    if args.first().map(String::as_str) == Some("load-rss") {
        let (Some(engine), Some(file)) = (args.get(1), args.get(2)) else {
            bail!("usage: board-bench load-rss ENGINE FILE");
        };
        return load_rss(engine, file);
    }
    let quick = args.iter().any(|a| a == "--quick");
    let write = args.iter().position(|a| a == "--write").and_then(|i| args.get(i + 1)).cloned();
    let sizes = if quick { Sizes::QUICK } else { Sizes::FULL };
    let mut report = Report::new(sizes);
    run::<BoardEngine>(&mut report)?;
    eprintln!("Corkboard board-model: moves on a headless replica (no undo, no events)");
    board_engine::timed_moves_headless(sizes.cards, sizes.timed_moves / 10, 1);
    let node = board_engine::timed_moves_headless(sizes.cards, sizes.timed_moves, 2);
    report.node_move_us = Some(node.as_secs_f64() * 1e6 / sizes.timed_moves as f64);
    run::<LoroEngine>(&mut report)?;
    run::<LoroUndoEventsEngine>(&mut report)?;
    run_others(&mut report)?;
    let table = report.markdown();
    println!("{table}");
    if let Some(path) = write {
        report::write_section(&path, &table).with_context(|| format!("writing {path}"))?;
        eprintln!("recorded in {path}");
    }
    Ok(())
}

/// Engines other than ours, compared in the same run.
fn run_others(report: &mut Report) -> Result<()> {
    run::<automerge_engine::AutomergeEngine>(report)?;
    run::<yrs_engine::YrsEngine>(report)
}

mod automerge_engine;
mod yrs_engine;

fn engine_key<E: Engine>() -> &'static str {
    E::NAME
}

fn run<E: Engine>(report: &mut Report) -> Result<()> {
    let sizes = report.sizes;
    eprintln!("{}: moves", E::NAME);
    // Warm up, then measure.
    E::timed_moves(sizes.cards, sizes.timed_moves / 10, 1);
    let moves = E::timed_moves(sizes.cards, sizes.timed_moves, 2);
    let per_move_us = moves.as_secs_f64() * 1e6 / sizes.timed_moves as f64;

    eprintln!("{}: history of {} moves", E::NAME, sizes.history_moves);
    let build_start = Instant::now();
    let (full, trimmed) = E::saved_history(sizes.cards, sizes.history_moves, 3);
    let build = build_start.elapsed();
    let file = std::env::temp_dir().join(format!("board-bench-{}.bin", std::process::id()));
    std::fs::write(&file, &full)?;
    let measured = measure_load(engine_key::<E>(), &file.to_string_lossy())?;
    let trimmed_load = match &trimmed {
        Some(bytes) => {
            std::fs::write(&file, bytes)?;
            Some(measure_load(engine_key::<E>(), &file.to_string_lossy())?)
        }
        None => None,
    };
    std::fs::remove_file(&file).ok();

    eprintln!("{}: reconcile", E::NAME);
    let reconcile = E::reconcile(sizes.offline_edits, 4);
    eprintln!("{}: colours", E::NAME);
    let colours = E::concurrent_colours(sizes.colour_peers);
    report.rows.push(HistoryRow {
        engine: E::NAME,
        per_move_us,
        build,
        full_bytes: full.len(),
        trimmed_bytes: trimmed.as_ref().map(Vec::len),
        load: measured,
        trimmed_load,
        reconcile,
        colours,
    });
    Ok(())
}

/// What loading saved bytes cost, measured in a fresh child process.
#[derive(Debug, Clone, Copy)]
pub struct Load {
    pub time: Duration,
    /// Peak resident memory of the whole child process, KiB.
    pub peak_kib: u64,
    /// Resident memory added by the load (after minus before), KiB.
    pub added_kib: u64,
}

fn measure_load(engine: &str, file: &str) -> Result<Load> {
    let exe = std::env::current_exe()?;
    let output = Command::new(exe).args(["load-rss", engine, file]).output()?;
    if !output.status.success() {
        bail!("load-rss {engine} failed: {}", String::from_utf8_lossy(&output.stderr));
    }
    let text = String::from_utf8_lossy(&output.stdout);
    let field = |name: &str| -> Result<u64> {
        text.split_whitespace()
            .find_map(|kv| kv.strip_prefix(name).and_then(|v| v.strip_prefix('=')))
            .context(format!("{name} missing in {text:?}"))?
            .parse()
            .context("number")
    };
    Ok(Load {
        time: Duration::from_micros(field("micros")?),
        peak_kib: field("peak_kib")?,
        added_kib: field("rss_kib")?.saturating_sub(field("base_kib")?),
    })
}

fn load_rss(engine: &str, file: &str) -> Result<()> {
    let bytes = std::fs::read(file)?;
    let base = status_kib("VmRSS")?;
    let start = Instant::now();
    let cards = match engine {
        e if e == BoardEngine::NAME => BoardEngine::load_and_read(&bytes),
        e if e == LoroEngine::NAME || e == LoroUndoEventsEngine::NAME => LoroEngine::load_and_read(&bytes),
        e if e == automerge_engine::AutomergeEngine::NAME => {
            automerge_engine::AutomergeEngine::load_and_read(&bytes)
        }
        e if e == yrs_engine::YrsEngine::NAME => yrs_engine::YrsEngine::load_and_read(&bytes),
        other => bail!("unknown engine {other}"),
    };
    let micros = start.elapsed().as_micros();
    let rss = status_kib("VmRSS")?;
    let peak = status_kib("VmHWM")?;
    println!("cards={cards} micros={micros} base_kib={base} rss_kib={rss} peak_kib={peak}");
    Ok(())
}

fn status_kib(field: &str) -> Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    status
        .lines()
        .find_map(|line| line.strip_prefix(field).and_then(|rest| rest.strip_prefix(':')))
        .and_then(|rest| rest.split_whitespace().next())
        .context("no such field in /proc/self/status")?
        .parse()
        .context("number")
}
