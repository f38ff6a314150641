//! The one-line summary printed after goose's report: every hop of every step
//! together, so the figures the targets talk about are in one place.

use goose::metrics::{GooseMetrics, GooseRequestMetricTimingData};

/// All steps' hops added up.
#[derive(Debug, Default)]
pub struct Summary {
    pub hops: usize,
    pub errors: usize,
    pub seconds: usize,
    pub times: GooseRequestMetricTimingData,
    /// The same times with goose's coordinated-omission correction, when
    /// `--co-mitigation` is on.
    pub corrected: Option<GooseRequestMetricTimingData>,
}

impl Summary {
    /// Adds up the requests of a finished run.
    pub fn of(metrics: &GooseMetrics) -> Summary {
        let mut summary = Summary {
            seconds: metrics.duration,
            ..Summary::default()
        };
        for request in metrics.requests.values() {
            summary.hops += request.success_count + request.fail_count;
            summary.errors += request.fail_count;
            merge(&mut summary.times, &request.raw_data);
            if let Some(corrected) = &request.coordinated_omission_data {
                merge(
                    summary.corrected.get_or_insert_with(Default::default),
                    corrected,
                );
            }
        }
        summary
    }

    /// Hops per second over the measured part of the run.
    pub fn rate(&self) -> f64 {
        self.hops as f64 / self.seconds.max(1) as f64
    }

    /// The summary, one line per distribution.
    pub fn lines(&self) -> Vec<String> {
        let mut lines = vec![format!(
            "SUMMARY hops={} seconds={} hops/s={:.0} {} errors={}",
            self.hops,
            self.seconds,
            self.rate(),
            latencies(&self.times),
            self.errors
        )];
        if let Some(corrected) = &self.corrected {
            lines.push(format!(
                "SUMMARY (coordinated-omission corrected) {}",
                latencies(corrected)
            ));
        }
        lines
    }
}

/// `p50=0.81ms p95=… p99=… max=…`.
fn latencies(times: &GooseRequestMetricTimingData) -> String {
    let ms = |us: u64| format!("{:.2}ms", us as f64 / 1000.0);
    format!(
        "p50={} p95={} p99={} max={}",
        ms(times.percentile_us(0.50)),
        ms(times.percentile_us(0.95)),
        ms(times.percentile_us(0.99)),
        ms(times.maximum_time_us)
    )
}

/// Adds `other`'s times to `into` (goose keeps its own merge private).
fn merge(into: &mut GooseRequestMetricTimingData, other: &GooseRequestMetricTimingData) {
    if other.counter == 0 {
        return;
    }
    for (&bucket, &count) in other.times_us.iter() {
        let before = into.times_us.get(&bucket).copied().unwrap_or(0);
        into.times_us.insert(bucket, before + count);
    }
    if into.counter == 0 || other.minimum_time_us < into.minimum_time_us {
        into.minimum_time_us = other.minimum_time_us;
    }
    into.maximum_time_us = into.maximum_time_us.max(other.maximum_time_us);
    into.total_time_us += other.total_time_us;
    into.counter += other.counter;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Timing data holding `times` (µs), each in a bucket of its own (< 128 µs).
    fn timings(times: &[u64]) -> GooseRequestMetricTimingData {
        let mut data = GooseRequestMetricTimingData::default();
        for &us in times {
            merge(
                &mut data,
                &GooseRequestMetricTimingData {
                    times_us: {
                        let mut b = goose::metrics::TimeBuckets::new();
                        b.insert(us, 1);
                        b
                    },
                    minimum_time_us: us,
                    maximum_time_us: us,
                    total_time_us: us,
                    counter: 1,
                },
            );
        }
        data
    }

    #[test]
    fn merging_keeps_every_time() {
        let mut all = timings(&[10, 20, 30]);
        merge(&mut all, &timings(&[20, 100]));
        merge(&mut all, &GooseRequestMetricTimingData::default());
        assert_eq!(all.counter, 5);
        assert_eq!(all.minimum_time_us, 10);
        assert_eq!(all.maximum_time_us, 100);
        assert_eq!(all.total_time_us, 180);
        assert_eq!(all.times_us.get(&20), Some(&2));
        assert_eq!(all.percentile_us(0.5), 20);
    }

    #[test]
    fn the_line_reads_in_milliseconds() {
        let summary = Summary {
            hops: 500,
            errors: 2,
            seconds: 10,
            times: timings(&[100, 120]),
            corrected: None,
        };
        assert_eq!(summary.rate(), 50.0);
        let line = &summary.lines()[0];
        assert!(
            line.starts_with("SUMMARY hops=500 seconds=10 hops/s=50 p50="),
            "{line}"
        );
        assert!(line.ends_with("max=0.12ms errors=2"), "{line}");
    }
}
