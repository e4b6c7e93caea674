//! The intake's door: how an offer racing the end of the sink never leaves
//! a record in the intake that nobody will take or count.
//!
//! The sink's thread, as its last act, closes the door and then gives up
//! whatever is left in the intake. An offer looks at the door before it
//! pushes (refusing at once if it is closed) and again after: if the door
//! closed meanwhile, the thread's give-up may have run before the push, so
//! the offer gives up what it finds itself. Both sides give up through the
//! same channel receive, so each record is given up (and counted) once.
//! The two looks and the close are `SeqCst`: either the thread's give-up
//! sees the push, or the offer's second look sees the close (`model` checks
//! this with loom: `RUSTFLAGS="--cfg clh_loom" cargo test --release --lib
//! model`).

#[cfg(clh_loom)]
use loom::sync::atomic::{AtomicBool, Ordering};
#[cfg(not(clh_loom))]
use std::sync::atomic::{AtomicBool, Ordering};

/// Open while the sink's thread runs.
#[derive(Debug, Default)]
pub(crate) struct Door {
    closed: AtomicBool,
}

impl Door {
    /// The thread ended (or is ending): offers are refused; whoever finds
    /// records in the intake gives them up.
    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }

    /// The thread's last act, before it gives up what the intake holds.
    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
    }
}

#[cfg(all(test, clh_loom))]
mod model {
    use super::*;
    use loom::sync::{Arc, Mutex};

    /// An offer pushes while the thread closes the door and gives up the
    /// intake: however they interleave, the record is given up exactly once
    /// and the intake ends empty.
    #[test]
    fn a_record_offered_while_the_sink_ends_is_given_up_exactly_once() {
        loom::model(|| {
            let door = Arc::new(Door::default());
            let intake = Arc::new(Mutex::new(Vec::new()));
            let given_up = Arc::new(Mutex::new(Vec::new()));
            let give_up = |intake: &Mutex<Vec<u32>>, given_up: &Mutex<Vec<u32>>| {
                let left: Vec<u32> = intake.lock().unwrap().drain(..).collect();
                given_up.lock().unwrap().extend(left);
            };
            let offer = {
                let (door, intake, given_up) = (
                    Arc::clone(&door),
                    Arc::clone(&intake),
                    Arc::clone(&given_up),
                );
                loom::thread::spawn(move || {
                    if door.is_closed() {
                        return false; // refused, counted by the offer
                    }
                    intake.lock().unwrap().push(7);
                    if door.is_closed() {
                        give_up(&intake, &given_up);
                    }
                    true
                })
            };
            door.close();
            give_up(&intake, &given_up);
            let pushed = offer.join().unwrap();
            assert!(intake.lock().unwrap().is_empty(), "a record left behind");
            let given_up = given_up.lock().unwrap();
            assert_eq!(given_up.len(), usize::from(pushed), "{given_up:?}");
        });
    }

    /// Without the second look the record can be left behind: the model
    /// finds it (so the check above can fail).
    #[test]
    #[should_panic(expected = "a record left behind")]
    fn without_the_second_look_a_record_is_left_behind() {
        loom::model(|| {
            let door = Arc::new(Door::default());
            let intake = Arc::new(Mutex::new(Vec::new()));
            let offer = {
                let (door, intake) = (Arc::clone(&door), Arc::clone(&intake));
                loom::thread::spawn(move || {
                    if !door.is_closed() {
                        intake.lock().unwrap().push(7);
                    }
                })
            };
            door.close();
            intake.lock().unwrap().clear();
            offer.join().unwrap();
            assert!(intake.lock().unwrap().is_empty(), "a record left behind");
        });
    }
}
