//! A bounded queue of batches for one receiver: samples are packed into batches of at most
//! `max_samples`; when more than `max_batches` wait, the oldest batch is dropped (and
//! counted) so a receiver that is down costs bounded memory, and what reaches it when it is
//! back is the newest data.

use std::collections::VecDeque;
use std::sync::Mutex;

use super::proto::{Sample, SeriesSamples};

/// Samples sent in one request.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Batch {
    pub series: Vec<SeriesSamples>,
    pub samples: usize,
}

impl Batch {
    /// Splits into two batches of about half the samples each (a series may be cut in
    /// two). Used to find the samples a receiver refuses.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use pantheon_metrics::remote_write::proto::{Sample, SeriesSamples};
    /// use pantheon_metrics::remote_write::queue::Batch;
    /// let s = |n: i64| SeriesSamples { labels: Arc::new(vec![]), samples: (0..n).map(|t| Sample { value: 1.0, timestamp: t }).collect() };
    /// let (a, b) = Batch { series: vec![s(3), s(2)], samples: 5 }.split();
    /// assert_eq!((a.samples, b.samples), (2, 3));
    /// assert_eq!((a.series.len(), b.series.len()), (1, 2));
    /// ```
    pub fn split(self) -> (Batch, Batch) {
        let half = self.samples / 2;
        let mut first = Batch::default();
        let mut second = Batch::default();
        for mut s in self.series {
            let room = half - first.samples;
            if room == 0 {
                second.samples += s.samples.len();
                second.series.push(s);
            } else if s.samples.len() <= room {
                first.samples += s.samples.len();
                first.series.push(s);
            } else {
                let rest: Vec<Sample> = s.samples.split_off(room);
                first.samples += s.samples.len();
                second.samples += rest.len();
                second.series.push(SeriesSamples {
                    labels: s.labels.clone(),
                    samples: rest,
                });
                first.series.push(s);
            }
        }
        (first, second)
    }
}

/// What a push did to the queue.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pushed {
    /// Samples dropped with the oldest batches to make room.
    pub dropped: usize,
    /// Samples waiting after the push.
    pub waiting: usize,
}

#[derive(Debug)]
pub struct Queue {
    max_samples: usize,
    max_batches: usize,
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    batches: VecDeque<Batch>,
    samples: usize,
}

impl Queue {
    pub fn new(max_samples: usize, max_batches: usize) -> Queue {
        Queue {
            max_samples: max_samples.max(1),
            max_batches: max_batches.max(1),
            inner: Mutex::new(Inner::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Appends samples: the last batch is filled up first, then new batches are started.
    /// When more than `max_batches` wait, the oldest are dropped.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use pantheon_metrics::remote_write::proto::{Sample, SeriesSamples};
    /// use pantheon_metrics::remote_write::queue::Queue;
    /// let q = Queue::new(4, 2);
    /// let s = |t0: i64, n: i64| vec![SeriesSamples { labels: Arc::new(vec![]), samples: (t0..t0 + n).map(|t| Sample { value: 1.0, timestamp: t }).collect() }];
    /// assert_eq!(q.push(s(0, 3)).dropped, 0);
    /// assert_eq!(q.push(s(3, 3)).waiting, 6); // [0 1 2 3] [4 5]
    /// let p = q.push(s(6, 4));                // [0 1 2 3] [4 5 6 7] [8 9] -> oldest dropped
    /// assert_eq!((p.dropped, p.waiting), (4, 6));
    /// assert_eq!(q.pop().unwrap().series[0].samples[0].timestamp, 4);
    /// ```
    pub fn push(&self, series: Vec<SeriesSamples>) -> Pushed {
        let mut inner = self.lock();
        for mut s in series {
            while !s.samples.is_empty() {
                let room = match inner.batches.back() {
                    Some(b) if b.samples < self.max_samples => self.max_samples - b.samples,
                    _ => {
                        inner.batches.push_back(Batch::default());
                        self.max_samples
                    }
                };
                let take = room.min(s.samples.len());
                let rest = s.samples.split_off(take);
                let part = SeriesSamples {
                    labels: s.labels.clone(),
                    samples: std::mem::replace(&mut s.samples, rest),
                };
                inner.samples += take;
                let batch = inner.batches.back_mut().expect("a batch was just ensured");
                batch.samples += take;
                batch.series.push(part);
            }
        }
        let mut dropped = 0;
        while inner.batches.len() > self.max_batches {
            if let Some(old) = inner.batches.pop_front() {
                dropped += old.samples;
                inner.samples -= old.samples;
            }
        }
        Pushed {
            dropped,
            waiting: inner.samples,
        }
    }

    /// Takes the oldest batch.
    pub fn pop(&self) -> Option<Batch> {
        let mut inner = self.lock();
        let batch = inner.batches.pop_front()?;
        inner.samples -= batch.samples;
        Some(batch)
    }

    /// True when the oldest batch is full, or more than one batch waits: no reason to wait
    /// for more samples before sending.
    pub fn ready(&self) -> bool {
        let inner = self.lock();
        inner.batches.len() > 1
            || inner
                .batches
                .front()
                .is_some_and(|b| b.samples >= self.max_samples)
    }

    /// Samples waiting.
    pub fn len(&self) -> usize {
        self.lock().samples
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Batches waiting.
    pub fn batches(&self) -> usize {
        self.lock().batches.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn series(id: &str, t0: i64, n: i64) -> SeriesSamples {
        SeriesSamples {
            labels: Arc::new(super::super::proto::labels(&[("id", id)])),
            samples: (t0..t0 + n)
                .map(|t| Sample {
                    value: t as f64,
                    timestamp: t,
                })
                .collect(),
        }
    }

    fn all_timestamps(b: &Batch) -> Vec<i64> {
        b.series
            .iter()
            .flat_map(|s| s.samples.iter().map(|x| x.timestamp))
            .collect()
    }

    #[test]
    fn batches_never_exceed_the_bound_and_keep_order() {
        let q = Queue::new(2000, 1000);
        for i in 0..100 {
            q.push(vec![series(&format!("s{i}"), i * 1000, 140)]);
        }
        assert_eq!(q.len(), 14_000);
        assert_eq!(q.batches(), 7);
        let mut seen = Vec::new();
        while let Some(b) = q.pop() {
            assert!(b.samples <= 2000);
            assert_eq!(
                b.samples,
                b.series.iter().map(|s| s.samples.len()).sum::<usize>()
            );
            seen.extend(all_timestamps(&b));
        }
        let expected: Vec<i64> = (0..100)
            .flat_map(|i| (i * 1000..i * 1000 + 140).collect::<Vec<_>>())
            .collect();
        assert_eq!(seen, expected);
        assert!(q.is_empty());
    }

    #[test]
    fn a_full_queue_drops_the_oldest_batch() {
        let q = Queue::new(10, 3);
        let mut dropped = 0;
        for i in 0..10 {
            dropped += q.push(vec![series("x", i * 10, 10)]).dropped;
        }
        assert_eq!(dropped, 70);
        assert_eq!(q.batches(), 3);
        let first = q.pop().unwrap();
        assert_eq!(
            all_timestamps(&first)[0],
            70,
            "the newest three batches remain"
        );
        assert!(q.ready(), "two full batches left");
    }

    #[test]
    fn ready_when_a_batch_is_full_or_several_wait() {
        let q = Queue::new(10, 3);
        q.push(vec![series("x", 0, 5)]);
        assert!(!q.ready());
        q.push(vec![series("x", 5, 5)]);
        assert!(q.ready());
        q.pop();
        q.push(vec![series("x", 5, 3)]);
        q.push(vec![series("x", 5, 10)]);
        assert!(q.ready());
    }

    #[test]
    fn split_halves_keep_every_sample() {
        let b = Batch {
            series: vec![series("a", 0, 7), series("b", 100, 1), series("c", 200, 4)],
            samples: 12,
        };
        let all = all_timestamps(&b);
        let (x, y) = b.split();
        assert_eq!((x.samples, y.samples), (6, 6));
        let mut joined = all_timestamps(&x);
        joined.extend(all_timestamps(&y));
        assert_eq!(joined, all);
        let one = Batch {
            series: vec![series("a", 0, 1)],
            samples: 1,
        };
        let (x, y) = one.split();
        assert_eq!((x.samples, y.samples), (0, 1));
    }
}
