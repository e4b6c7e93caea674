//! The queue's own tests: the gate, the waits for room, the writer going away.

use super::*;

fn line() -> Msg {
    Msg::Record(Pending::Line(Line::file(b"x\n".to_vec())))
}

#[test]
fn a_closed_queue_refuses_records_but_not_control_messages() {
    let (queue, mut inbox) = queue(4);
    queue.close();
    assert!(matches!(queue.try_push(line()), Err(Refused::Closed(_))));
    let (waiter, _outcome) = tokio::sync::oneshot::channel();
    queue
        .push_waiting(Msg::Flush(waiter, Await::Confirmed), true, None)
        .expect("control messages pass");
    let mut msgs = Vec::new();
    assert_eq!(inbox.take_now(&mut msgs, 8), Taken::Some(1));
    assert!(inbox.settled());
}

#[test]
fn a_full_queue_makes_a_waiting_push_wait_for_the_writer() {
    let (queue, mut inbox) = queue(2);
    queue.try_push(line()).expect("room");
    queue.try_push(line()).expect("room");
    assert!(matches!(queue.try_push(line()), Err(Refused::Full(_))));
    let queue = Arc::new(queue);
    let pusher = {
        let queue = Arc::clone(&queue);
        std::thread::spawn(move || queue.push_waiting(line(), false, None).is_ok())
    };
    std::thread::sleep(Duration::from_millis(20));
    assert!(!inbox.settled(), "the waiting push is counted in flight");
    let mut msgs = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while msgs.len() < 3 {
        assert!(
            Instant::now() < deadline,
            "the waiting push never got through"
        );
        inbox.take_until(
            &mut msgs,
            8,
            Some(Instant::now() + Duration::from_millis(50)),
        );
    }
    assert!(pusher.join().expect("pusher"));
    assert!(inbox.settled());
}

#[test]
fn a_waiting_push_gives_up_at_its_deadline() {
    let (queue, _inbox) = queue(1);
    queue.try_push(line()).expect("room");
    let deadline = Instant::now() + Duration::from_millis(30);
    assert!(matches!(
        queue.push_waiting(line(), false, Some(deadline)),
        Err(Refused::Full(_))
    ));
    assert_eq!(queue.depth(), 1, "the refused push is not counted");
}

#[test]
fn what_the_writer_left_in_the_queue_is_dropped_and_its_waiters_answered() {
    let (queue, inbox) = queue(4);
    let (waiter, outcome) = tokio::sync::oneshot::channel();
    queue
        .push_waiting(Msg::Flush(waiter, Await::Confirmed), true, None)
        .expect("room");
    drop(inbox);
    assert!(outcome.blocking_recv().is_err(), "the waiter was dropped");
    assert!(queue.is_closed());
    assert!(matches!(queue.try_push(line()), Err(Refused::Closed(_))));
    let (waiter, _outcome) = tokio::sync::oneshot::channel();
    assert!(matches!(
        queue.push_waiting(Msg::Stop(waiter, None), true, None),
        Err(Refused::Closed(_))
    ));
    assert_eq!(queue.depth(), 0, "nothing is counted in flight");
}

#[test]
fn a_caller_awaiting_room_learns_when_the_writer_goes() {
    let (queue, inbox) = queue(1);
    queue.try_push(line()).expect("room");
    let queue = Arc::new(queue);
    let pusher = {
        let queue = Arc::clone(&queue);
        std::thread::spawn(move || {
            let (waiter, _outcome) = tokio::sync::oneshot::channel();
            crate::sync::block_on_until(
                queue.push(Msg::Flush(waiter, Await::Confirmed), true),
                None,
            )
        })
    };
    std::thread::sleep(Duration::from_millis(20));
    drop(inbox);
    let pushed = pusher.join().expect("pusher").expect("returned");
    assert!(matches!(pushed, Err(Refused::Closed(_))), "{pushed:?}");
}

#[test]
fn take_until_returns_ended_once_every_sender_is_gone() {
    let (queue, mut inbox) = queue(4);
    queue.try_push(line()).expect("room");
    drop(queue);
    let mut msgs = Vec::new();
    assert_eq!(inbox.take_until(&mut msgs, 8, None), Taken::Some(1));
    assert_eq!(inbox.take_until(&mut msgs, 8, None), Taken::Ended);
}

#[test]
fn a_push_that_finds_half_the_queue_waiting_ends_the_writers_rest() {
    const LONG: Duration = Duration::from_secs(30);
    let (queue, inbox) = queue(8);
    let (rested_tx, rested_rx) = std::sync::mpsc::channel();
    let writer = {
        let wake = inbox.wake();
        std::thread::spawn(move || {
            wake.attach();
            let started = Instant::now();
            wake.rest(LONG);
            rested_tx.send(started.elapsed()).expect("the test waits");
        })
    };
    // Below half the queue, pushes leave the writer resting.
    std::thread::sleep(Duration::from_millis(20));
    for _ in 0..3 {
        queue.try_push(line()).expect("room");
    }
    assert!(
        rested_rx.recv_timeout(Duration::from_millis(100)).is_err(),
        "three of eight waiting ended the rest"
    );
    // The fourth finds half the queue waiting.
    queue.try_push(line()).expect("room");
    let rested = rested_rx
        .recv_timeout(Duration::from_secs(10))
        .expect("the rest never ended");
    assert!(rested < LONG);
    writer.join().expect("writer");
    drop(inbox);
}
