//! AWS: the session of an account (`identity`), its client per region (`client`), live
//! collection in the normal form (`collect`), remediation calls (`execute`) and the
//! janitor's adapter (`janitor`). The arrows run one way: everything builds on `client`,
//! and only `janitor` also uses `execute` (its marks are tag calls).

mod client;
pub mod collect;
pub mod execute;
pub mod identity;
pub mod janitor;

pub use client::AwsClient;
pub(crate) use client::{ListedBucket, on_its_way_out};

/// Per-resource reads (an instance's attribute, a bucket's documents or tags) in flight at
/// once in one collection or refresh; the account's pace bounds the request rate whatever
/// this is.
pub(crate) const READS_IN_FLIGHT: usize = 8;

/// `read(0)`, `read(1)`, … `read(count - 1)`, at most [`READS_IN_FLIGHT`] in flight, their
/// answers in that order. Each future is made only when a slot frees: one that sends SDK
/// requests is a kilobyte or more, and making them all first held 4.4 MB for 3,333
/// buckets while a 10,000-resource detect run parsed its instance listing.
pub(crate) async fn in_order<Fut: Future>(count: usize, read: impl Fn(usize) -> Fut) -> Vec<Fut::Output> {
    use futures_util::{StreamExt, stream};
    // `buffered` pulls from the mapped range only as slots free, so `read` runs lazily.
    stream::iter(0..count).map(read).buffered(READS_IN_FLIGHT).collect().await
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::{READS_IN_FLIGHT, in_order};

    /// Answers come back in the order asked, whatever order the reads finish in; at most
    /// `READS_IN_FLIGHT` futures exist at once (each is made only when a slot frees), and
    /// that many do run together.
    #[tokio::test]
    async fn answers_in_order_with_a_bounded_number_of_futures() {
        let count = 50;
        let made = AtomicUsize::new(0);
        let finished = AtomicUsize::new(0);
        let running = AtomicUsize::new(0);
        let most = AtomicUsize::new(0);
        let answers = in_order(count, |index| {
            let alive = made.fetch_add(1, Ordering::SeqCst) + 1 - finished.load(Ordering::SeqCst);
            assert!(alive <= READS_IN_FLIGHT, "{alive} futures made and not finished");
            let (running, most, finished) = (&running, &most, &finished);
            async move {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                // Later reads finish sooner: the answers must still come back in order.
                for _ in 0..=((count - index) % 7) {
                    tokio::task::yield_now().await;
                }
                running.fetch_sub(1, Ordering::SeqCst);
                finished.fetch_add(1, Ordering::SeqCst);
                index
            }
        })
        .await;
        assert_eq!(answers, (0..count).collect::<Vec<_>>());
        assert_eq!(most.load(Ordering::SeqCst), READS_IN_FLIGHT);
        assert_eq!(made.load(Ordering::SeqCst), count);
    }

    #[tokio::test]
    async fn nothing_to_read_is_no_answer() {
        let answers: Vec<usize> = in_order(0, |index| async move { index }).await;
        assert!(answers.is_empty());
    }
}
