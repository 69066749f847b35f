//! A sync too big for one message, cut into parts: a peer that lacks a
//! long past (a fresh replica joining a board with a million moves) gets
//! the changes it lacks oldest first, a bounded number of operations per
//! part. Each part imports on its own — its dependencies are in earlier
//! parts or already held — so the joiner draws the board as it arrives and
//! no message comes near the protocol's size limit.

use std::collections::VecDeque;
use std::ops::ControlFlow;

use loro::{ExportMode, ID, IdSpan, VersionVector};

use super::{Board, Version};

/// Operations in one part of a sync sent in parts: about a megabyte or two
/// of updates (a move is two to four dozen bytes of them).
pub const SYNC_PART_OPS: u64 = 40_000;

/// One part of a sync: operation ranges in causal order, and what the
/// receiver holds once it has them (with everything before).
#[derive(Clone, Debug)]
pub struct SyncPart {
    spans: Vec<IdSpan>,
    end: Version,
}

impl SyncPart {
    /// What the receiver holds after this part and every part before it.
    pub fn end(&self) -> &Version {
        &self.end
    }

    /// Operations in this part.
    pub fn ops(&self) -> u64 {
        self.spans.iter().map(|span| u64::try_from(span.counter.end - span.counter.start).unwrap_or(0)).sum()
    }
}

impl Board {
    /// Operations this replica holds that `since` lacks.
    pub fn ops_missing_from(&self, since: &Version) -> u64 {
        self.doc
            .oplog_vv()
            .iter()
            .map(|(peer, end)| {
                let from = since.0.get(peer).copied().unwrap_or(0);
                u64::try_from(end - from).unwrap_or(0)
            })
            .sum()
    }

    /// The changes `since` lacks in parts of at most `max_ops` operations,
    /// oldest first (by Lamport time, so every operation comes after the
    /// ones it depends on). Empty when nothing is missing or when this
    /// board's history is trimmed (a trimmed board sends what it has in
    /// one piece, [`Board::updates_since`]).
    pub fn sync_parts(&self, since: &Version, max_ops: u64) -> VecDeque<SyncPart> {
        let max_ops = max_ops.max(1);
        if self.doc.is_shallow() || self.version().included_in(since) {
            return VecDeque::new();
        }
        // Every change with operations `since` lacks, as (Lamport of its
        // first missing op, peer, first missing counter, end counter).
        let mut missing: Vec<(u32, u64, i32, i32)> = Vec::new();
        let heads: Vec<ID> = self.doc.oplog_frontiers().iter().collect();
        let _ = self.doc.travel_change_ancestors(&heads, &mut |meta| {
            let peer = meta.id.peer;
            let start = meta.id.counter;
            let end = start + i32::try_from(meta.len).unwrap_or(i32::MAX);
            let held = since.0.get(&peer).copied().unwrap_or(0);
            if end > held {
                let from = start.max(held);
                let lamport = meta.lamport + u32::try_from(from - start).unwrap_or(0);
                missing.push((lamport, peer, from, end));
            }
            ControlFlow::Continue(())
        });
        missing.sort_unstable();
        let mut parts = VecDeque::new();
        let mut reached: VersionVector = since.0.clone();
        let mut spans: Vec<IdSpan> = Vec::new();
        let mut room = max_ops;
        for (_, peer, mut from, end) in missing {
            while from < end {
                let take = (end - from).min(i32::try_from(room).unwrap_or(i32::MAX));
                push_span(&mut spans, IdSpan::new(peer, from, from + take));
                from += take;
                reached.extend_to_include_last_id(ID::new(peer, from - 1));
                room -= take as u64;
                if room == 0 {
                    parts.push_back(SyncPart {
                        spans: std::mem::take(&mut spans),
                        end: Version(reached.clone()),
                    });
                    room = max_ops;
                }
            }
        }
        if !spans.is_empty() {
            parts.push_back(SyncPart { spans, end: Version(reached) });
        }
        parts
    }

    /// The updates of one part (empty if the export fails: the next
    /// version announcement asks again).
    pub fn export_part(&self, part: &SyncPart) -> Vec<u8> {
        self.doc.export(ExportMode::updates_in_range(part.spans.clone())).unwrap_or_default()
    }
}

/// Adds `span` to `spans`, joined to the last one when it continues it.
fn push_span(spans: &mut Vec<IdSpan>, span: IdSpan) {
    if let Some(last) = spans.last_mut()
        && last.peer == span.peer
        && last.counter.end == span.counter.start
    {
        last.counter.end = span.counter.end;
        return;
    }
    spans.push(span);
}
