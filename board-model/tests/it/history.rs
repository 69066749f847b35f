//! The board's past: times and authors recorded per change (times from the
//! caller), sessions of work, the board as it was at a time, restoring a
//! past version as a new change that peers receive, copying the past into a
//! new board, boards without times, and trimmed history.

use board_model::{Board, BoardId, Color, EdgeId, NewEdge, Point, Reading, ReplicaId, SESSION_GAP_SECS};

use crate::support::{id, note, rendered};

const MONDAY: i64 = 1_796_634_000_000; // Monday 2026-12-07 09:00 UTC, in ms
const HOUR: i64 = 3_600_000;

fn board_by(replica: u64, author: &str, at: i64) -> Board {
    Board::create_at(BoardId::from_random_bytes([9; 16]), "Week", ReplicaId(replica), at, author)
        .expect("board")
}

fn sync(a: &mut Board, b: &mut Board) {
    let to_b = a.updates_since(&b.version());
    let to_a = b.updates_since(&a.version());
    if !to_b.is_empty() {
        b.import_updates(&to_b).expect("to b");
    }
    if !to_a.is_empty() {
        a.import_updates(&to_a).expect("to a");
    }
}

/// Alice works on Monday morning, Bob on Tuesday, Alice again on Wednesday.
fn week() -> (Board, Board) {
    let mut alice = board_by(1, "Alice", MONDAY);
    alice.add_card(note(id(1), "Plan", 0.0, 0.0)).expect("note 1");
    alice.set_clock(MONDAY + 10 * 60_000);
    alice.add_card(note(id(2), "Budget", 300.0, 0.0)).expect("note 2");
    let mut bob = Board::empty(ReplicaId(2)).expect("bob");
    bob.set_author("Bob");
    sync(&mut alice, &mut bob);
    bob.set_clock(MONDAY + 24 * HOUR);
    bob.move_cards(&[(id(1), Point { x: 500.0, y: 500.0 })]).expect("move");
    bob.set_clock(MONDAY + 24 * HOUR + 5 * 60_000);
    bob.set_text(id(2), "Budget: 2k").expect("text");
    sync(&mut alice, &mut bob);
    alice.set_clock(MONDAY + 48 * HOUR);
    alice.delete_cards(&[id(2)]).expect("delete");
    sync(&mut alice, &mut bob);
    (alice, bob)
}

#[test]
fn changes_record_the_time_and_author_they_were_made_by() {
    let (alice, bob) = week();
    for board in [&alice, &bob] {
        let history = board.history();
        let made: Vec<(i64, Option<&str>)> =
            history.changes().iter().map(|c| (c.at, c.author.as_deref())).collect();
        assert!(made.windows(2).all(|w| w[0].0 <= w[1].0), "oldest first: {made:?}");
        assert_eq!(made.first().map(|m| m.0), Some(MONDAY / 1000));
        assert!(made.iter().any(|m| m == &((MONDAY + 24 * HOUR) / 1000, Some("Bob"))), "{made:?}");
        assert!(made.iter().all(|m| m.1.is_some()), "every change has its author: {made:?}");
        assert!(!history.trimmed());
        assert_eq!(history.begins_at(), Some(MONDAY / 1000));
    }
}

#[test]
fn sessions_say_who_worked_when_and_on_how_many_cards() {
    let (alice, _) = week();
    let history = alice.history();
    let sessions = alice.sessions(&history);
    assert_eq!(sessions.len(), 3, "{sessions:?}");
    assert_eq!(sessions[0].authors, ["Alice"]);
    assert_eq!(sessions[0].cards, 2);
    assert_eq!(sessions[0].from, MONDAY / 1000);
    assert_eq!(sessions[0].to, (MONDAY + 10 * 60_000) / 1000);
    assert_eq!(sessions[1].authors, ["Bob"]);
    assert_eq!(sessions[1].cards, 2, "Bob moved one card and wrote in another");
    assert_eq!(sessions[2].authors, ["Alice"]);
    assert_eq!(sessions[2].cards, 1);
    assert_eq!(sessions.last().map(|s| s.end), Some(history.changes().len()));
    assert!(sessions.windows(2).all(|w| w[1].from - w[0].to > SESSION_GAP_SECS));
}

#[test]
fn the_board_as_it_was_at_a_time_is_a_copy_that_leaves_the_board_alone() {
    let (alice, _) = week();
    let now = rendered(&alice);
    let history = alice.history();

    let monday = alice.at(&history.version_at((MONDAY + HOUR) / 1000)).expect("monday");
    let cards = monday.cards();
    assert_eq!(cards.len(), 2);
    assert_eq!(monday.card(id(1)).map(|c| c.position), Some(Point { x: 0.0, y: 0.0 }));

    let tuesday = alice.at(&history.version_at((MONDAY + 30 * HOUR) / 1000)).expect("tuesday");
    assert_eq!(tuesday.card(id(1)).map(|c| c.position), Some(Point { x: 500.0, y: 500.0 }));
    assert!(matches!(
        tuesday.card(id(2)).map(|c| c.content),
        Some(board_model::Content::Note { text }) if text == "Budget: 2k"
    ));

    let before = alice.at(&history.version_at(MONDAY / 1000 - 1)).expect("before it began");
    assert_eq!(before.card_count(), 0);
    // Stepping through every change: each step holds one more change.
    for count in 0..=history.changes().len() {
        alice.at(&history.version_after(count)).expect("a step");
    }
    assert_eq!(rendered(&alice), now, "looking at the past changed nothing");
}

#[test]
fn restoring_a_past_version_is_a_new_change_peers_receive_and_undo_takes_back() {
    let (mut alice, mut bob) = week();
    let history = alice.history();
    let monday = history.version_at((MONDAY + HOUR) / 1000);
    let expected = rendered(&alice.at(&monday).expect("monday"));
    let changes_before = history.changes().len();

    alice.set_clock(MONDAY + 72 * HOUR);
    alice.restore(&monday).expect("restore");
    assert_eq!(rendered(&alice), expected);
    let after = alice.history();
    assert!(after.changes().len() > changes_before, "history grew, nothing was rewritten");
    assert_eq!(after.changes().last().map(|c| c.at), Some((MONDAY + 72 * HOUR) / 1000));

    sync(&mut alice, &mut bob);
    assert_eq!(rendered(&bob), expected, "Bob sees the restore like any edit");

    alice.undo().expect("undo");
    assert_eq!(alice.card_count(), 1, "undoing the restore brings back the week's end");
}

#[test]
fn one_card_restored_from_the_past_comes_back_as_it_was_and_nothing_else_changes() {
    let mut alice = board_by(1, "Alice", MONDAY);
    alice.add_card(note(id(1), "Plan", 0.0, 0.0)).expect("note 1");
    alice.add_card(note(id(2), "Budget", 300.0, 0.0)).expect("note 2");
    let mut bob = Board::empty(ReplicaId(2)).expect("bob");
    bob.set_author("Bob");
    sync(&mut alice, &mut bob);
    // Tuesday: Bob writes the budget and links it to the plan.
    bob.set_clock(MONDAY + 24 * HOUR);
    bob.set_text(id(2), "Budget: 2k").expect("text");
    let edge = EdgeId::from_random_bytes([5; 16]);
    bob.add_edge(NewEdge::between(edge, id(2), id(1))).expect("edge");
    bob.set_edge_label(edge, "pays for").expect("label");
    sync(&mut alice, &mut bob);
    // Wednesday: Alice moves the plan, deletes the budget, adds a note.
    alice.set_clock(MONDAY + 48 * HOUR);
    alice.move_cards(&[(id(1), Point { x: 40.0, y: 40.0 })]).expect("move");
    alice.delete_cards(&[id(2)]).expect("delete");
    alice.add_card(note(id(3), "New on Wednesday", 900.0, 0.0)).expect("note 3");
    sync(&mut alice, &mut bob);
    assert!(!alice.contains(id(2)) && alice.edge_count() == 0, "the budget and its edge are gone");
    let tuesday = alice.history().version_at((MONDAY + 25 * HOUR) / 1000);
    let then = alice.at(&tuesday).expect("tuesday");
    let plan_now = alice.card(id(1)).expect("plan");

    alice.set_clock(MONDAY + 72 * HOUR);
    assert_eq!(alice.restore_cards(&tuesday, &[id(2)]).expect("restore"), 1);
    let budget = alice.card(id(2)).expect("the budget is back");
    let budget_then = then.card(id(2)).expect("budget then");
    assert_eq!(alice.text(id(2)).expect("text"), "Budget: 2k", "its text once, as it was");
    assert_eq!(
        (budget.position, budget.size, budget.color.clone()),
        (budget_then.position, budget_then.size, budget_then.color.clone())
    );
    let edges = alice.edges();
    assert_eq!(edges.len(), 1, "its edge to the plan came back");
    assert_eq!((edges[0].from.card, edges[0].to.card, edges[0].label.as_str()), (id(2), id(1), "pays for"));
    assert_eq!(alice.card(id(1)), Some(plan_now), "the other cards stay as they are now");
    assert!(alice.contains(id(3)));

    sync(&mut alice, &mut bob);
    assert_eq!(rendered(&bob), rendered(&alice), "Bob receives the restore like any edit");

    alice.undo().expect("undo");
    assert!(!alice.contains(id(2)) && alice.edge_count() == 0, "one undo step takes the restore back");
    assert!(alice.contains(id(3)));
}

#[test]
fn a_card_restored_while_still_on_the_board_gets_its_place_colour_and_text_back() {
    let (mut alice, _) = week();
    let monday = alice.history().version_at((MONDAY + HOUR) / 1000);
    alice.set_clock(MONDAY + 72 * HOUR);
    alice.set_color(&[id(1)], Some(Color::Preset(3))).expect("colour");
    alice.set_text(id(1), "Plan, rewritten").expect("text");
    assert_eq!(alice.restore_cards(&monday, &[id(1), id(9)]).expect("restore"), 1, "card 9 never existed");
    let plan = alice.card(id(1)).expect("plan");
    assert_eq!(plan.position, Point { x: 0.0, y: 0.0 }, "back where Alice put it on Monday");
    assert_eq!(plan.color, None);
    assert_eq!(alice.text(id(1)).expect("text"), "Plan");
    assert!(!alice.contains(id(2)), "the card deleted on Wednesday stays deleted");
    assert_eq!(alice.restore_cards(&monday, &[id(9)]).expect("nothing"), 0);
}

#[test]
fn a_past_version_copied_to_a_new_board_keeps_its_cards_under_a_new_id() {
    let (alice, _) = week();
    let monday = alice.history().version_at((MONDAY + HOUR) / 1000);
    let new_id = BoardId::from_random_bytes([4; 16]);
    let copy = alice.copy_at(&monday, new_id, "Week, as on Monday", ReplicaId(7)).expect("copy");
    assert_eq!(copy.id(), Some(new_id));
    assert_eq!(copy.title(), "Week, as on Monday");
    assert_eq!(copy.card_count(), 2);
    assert_eq!(alice.card_count(), 1);
    assert!(!copy.can_undo());
}

#[test]
fn undoing_an_edit_keeps_its_author() {
    let mut board = board_by(1, "Alice", MONDAY);
    board.add_card(note(id(1), "Plan", 0.0, 0.0)).expect("note");
    board.undo().expect("undo");
    assert_eq!(board.card_count(), 0);
    assert!(board.history().changes().iter().all(|c| c.author.as_deref() == Some("Alice")));
    assert!(!board.can_undo(), "the author's entry is not an undo step");
}

#[test]
fn a_board_made_before_times_were_recorded_still_opens_and_shows_its_history() {
    let mut old = Board::create(BoardId::from_random_bytes([2; 16]), "Old", ReplicaId(1)).expect("old");
    old.add_card(note(id(1), "From long ago", 0.0, 0.0)).expect("note");
    let saved = old.save().expect("save");
    let mut board = Board::load(&saved, ReplicaId(3)).expect("load");
    let history = board.history();
    assert!(history.changes().iter().all(|c| c.at == 0 && c.author.is_none()));
    assert_eq!(history.begins_at(), None);
    board.set_clock(MONDAY);
    board.set_author("Carol");
    board.add_card(note(id(2), "Today", 0.0, 0.0)).expect("note");
    let history = board.history();
    let last = history.changes().last().expect("a change");
    assert_eq!((last.at, last.author.as_deref()), (MONDAY / 1000, Some("Carol")));
    assert_eq!(board.sessions(&history).len(), 2);
}

#[test]
fn a_history_read_elsewhere_comes_back_whole_and_bad_bytes_are_an_error() {
    let alice = busy_week();
    let reading = Reading::of(&alice);
    let back = Reading::decode(&reading.encode()).expect("decode");
    assert_eq!(back.history.changes(), reading.history.changes());
    assert_eq!(back.sessions, reading.sessions);
    assert_eq!(back.history.trimmed(), reading.history.trimmed());
    let steps = back.history.changes().len();
    assert_eq!(back.history.version_after(steps - 3), reading.history.version_after(steps - 3));
    // A viewer made from a history read elsewhere (and the snapshot it was
    // read from) shows the same past.
    let mut past = alice.past_from(&back.history, &alice.save().expect("save")).expect("viewer");
    let version = back.history.version_after(steps / 2);
    assert_eq!(rendered(past.show(&version).expect("show")), rendered(&alice.at(&version).expect("at")));
    let shallow = Board::load(&alice.save_shallow().expect("shallow"), ReplicaId(8)).expect("load");
    let trimmed = Reading::decode(&Reading::of(&shallow).encode()).expect("decode");
    assert!(trimmed.history.trimmed());
    assert_eq!(trimmed.history.version_after(0), shallow.history().version_after(0));
    for bad in [&b""[..], b"\xff\xff\xff", &reading.encode()[..10]] {
        assert!(Reading::decode(bad).is_err(), "{bad:?}");
    }
    let mut wrong = reading.clone();
    wrong.sessions[0].end = steps + 5;
    assert!(Reading::decode(&wrong.encode()).is_err(), "a session past the end");
}

#[test]
fn a_trimmed_board_says_its_history_was_trimmed() {
    let (alice, _) = week();
    let shallow = alice.save_shallow().expect("shallow");
    let board = Board::load(&shallow, ReplicaId(5)).expect("load");
    let history = board.history();
    assert!(history.trimmed());
    assert!(history.changes().len() < alice.history().changes().len());
}

#[test]
fn a_viewer_steps_through_the_past_and_back_to_now() {
    let (alice, _) = week();
    let history = alice.history();
    let mut past = alice.past(&history).expect("viewer");
    let steps = history.changes().len();
    let mut counts = Vec::new();
    for count in (0..=steps).chain((0..=steps).rev()) {
        let version = history.version_after(count);
        let shown = past.show(&version).expect("a step");
        assert_eq!(rendered(shown), rendered(&alice.at(&version).expect("at")), "step {count}");
        counts.push(shown.card_count());
    }
    assert_eq!(counts.first(), Some(&0));
    assert_eq!(counts.last(), Some(&0));
    assert!(counts.contains(&2));
    let now = past.show(&history.version_after(steps)).expect("now");
    assert_eq!(rendered(now), rendered(&alice));
}

/// Two people editing apart and together over a week: moves, texts,
/// cards added and deleted, concurrent changes merged.
fn busy_week() -> Board {
    let (mut alice, mut bob) = week();
    for day in 0..6 {
        let at = MONDAY + (72 + day * 24) * HOUR;
        alice.set_clock(at);
        bob.set_clock(at + HOUR);
        for step in 0..8 {
            let x = (day * 10 + step) as f64;
            alice.move_cards(&[(id(1), Point { x, y: 0.0 })]).expect("alice moves");
            bob.move_cards(&[(id(1), Point { x: 0.0, y: x })]).expect("bob moves");
        }
        alice.add_card(note(id(10 + day as u8), "A day's note", 0.0, 0.0)).expect("note");
        bob.set_text(id(1), &format!("Plan, day {day}")).expect("text");
        if day % 2 == 1 {
            sync(&mut alice, &mut bob);
            bob.delete_cards(&[id(9 + day as u8)]).expect("delete");
        }
    }
    sync(&mut alice, &mut bob);
    alice
}

#[test]
fn a_viewer_cut_in_segments_shows_every_moment_as_the_whole_board_does() {
    let alice = busy_week();
    let history = alice.history();
    let steps = history.changes().len();
    let shows_as_it_was = |past: &mut board_model::Past, count: usize| {
        let version = history.version_after(count);
        let shown = past.show(&version).expect("a moment");
        assert_eq!(rendered(shown), rendered(&alice.at(&version).expect("at")), "after {count} changes");
    };
    // Segments of a few operations: many of them, ending anywhere.
    let mut prepared = alice.past_in_segments(&history, 7).expect("viewer");
    let mut pieces = 1;
    while prepared.prepare(&alice) {
        pieces += 1;
    }
    assert!(pieces > 10 && !prepared.preparing(), "{pieces} pieces");
    for count in (0..=steps).chain((0..=steps).rev()).chain([0, steps / 2, 3, steps, steps / 3]) {
        shows_as_it_was(&mut prepared, count);
    }
    assert!(prepared.segmented(), "shown by the segments, not the whole copy");
    // Jumps before the pieces are made, and while they are.
    let mut fresh = alice.past_in_segments(&history, 7).expect("viewer");
    for count in [steps, steps / 2, 0, steps - 1, 3, steps / 3, steps] {
        shows_as_it_was(&mut fresh, count);
        fresh.prepare(&alice);
    }
    assert!(fresh.segmented());
    // Segments made by one viewer serve another of the same board and history.
    let mut taking = alice.past_in_segments(&history, 7).expect("viewer");
    let mut index = 0;
    while let Some(snapshot) = prepared.segment_snapshot(index) {
        taking.add_segment(index + 1, snapshot.to_vec());
        assert!(taking.segment_snapshot(index).is_none(), "a segment out of turn is not taken");
        let more = taking.add_segment(index, snapshot.to_vec());
        index += 1;
        assert_eq!(more, index < pieces, "after {index}");
    }
    for count in [0, steps / 2, 3, steps / 3] {
        shows_as_it_was(&mut taking, count);
    }
    assert!(taking.segmented());
}

#[test]
fn a_board_received_whole_from_a_peer_shows_and_restores_its_past() {
    let mut node = board_by(11, "Ann", MONDAY);
    node.add_card(note(id(1), "Monday's plan", 120.0, 120.0)).expect("note 1");
    node.add_card(note(id(2), "Keep the budget", 420.0, 120.0)).expect("note 2");
    node.set_clock(MONDAY + 48 * HOUR);
    node.move_cards(&[(id(1), Point { x: 160.0, y: 300.0 })]).expect("move");
    node.delete_cards(&[id(2)]).expect("delete");
    node.add_card(note(id(3), "Wednesday's idea", 720.0, 120.0)).expect("note 3");
    let saved = node.save().expect("save");
    let stored = Board::load(&saved, ReplicaId(12)).expect("load");
    // The page receives it as updates into an empty replica.
    let mut page = Board::empty(ReplicaId(13)).expect("page");
    page.import_updates(&stored.updates_since(&page.version())).expect("import");
    let history = page.history();
    assert_eq!(page.sessions(&history).len(), 2);
    let mut past = page.past(&history).expect("past");
    let monday = history.version_at((MONDAY + HOUR) / 1000);
    assert!(past.show(&monday).expect("monday").contains(id(2)));
    page.set_clock(MONDAY + 72 * HOUR);
    assert_eq!(page.restore_cards(&monday, &[id(2)]).expect("restore"), 1);
    assert_eq!(page.text(id(2)).expect("text"), "Keep the budget");
}
