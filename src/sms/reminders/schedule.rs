//! When a chama's contribution is due, from `chamas.contribution_schedule`
//! and two optional keys of `chamas.settings`:
//!
//! - `monthly`: due on day `settings.due_day` (1 to 31, default 5) of every
//!   month; in a month without that day, on its last day (the 31st becomes
//!   30 April and 28 or 29 February).
//! - `weekly` / `fortnightly`: due every 7 / 14 days counted from
//!   `settings.due_anchor` (`YYYY-MM-DD`), by default the Nairobi date the
//!   chama was created: a weekly chama pays on the weekday it was founded.
//!
//! A key of the wrong shape makes the schedule unknown ([`Schedule::read`]
//! says why): the job skips that chama and logs it rather than remind on a
//! date nobody chose.
//!
//! The **period** of a due date runs from the day after the previous due
//! date to the due date itself; what a member paid into it counts against it.

use chrono::{Datelike, Days, Months, NaiveDate};

/// Day of the month a monthly chama pays on when its settings do not say.
pub const DEFAULT_DUE_DAY: u32 = 5;

/// A chama's contribution rhythm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schedule {
    /// Every `every` days from `anchor` (7 weekly, 14 fortnightly).
    Every { anchor: NaiveDate, every: u64 },
    /// On day `day` of each month, or its last day when shorter.
    Monthly { day: u32 },
}

impl Schedule {
    /// The schedule of a chama row, or why it cannot be read.
    pub fn read(
        schedule: &str,
        settings: &serde_json::Value,
        created_on: NaiveDate,
    ) -> Result<Schedule, String> {
        let every = |days| -> Result<Schedule, String> {
            let anchor = match settings.get("due_anchor") {
                None => created_on,
                Some(value) => value
                    .as_str()
                    .and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
                    .ok_or("settings.due_anchor is not a YYYY-MM-DD date")?,
            };
            Ok(Schedule::Every {
                anchor,
                every: days,
            })
        };
        match schedule {
            "weekly" => every(7),
            "fortnightly" => every(14),
            "monthly" => {
                let day = match settings.get("due_day") {
                    None => DEFAULT_DUE_DAY,
                    Some(value) => value
                        .as_u64()
                        .filter(|d| (1..=31).contains(d))
                        .ok_or("settings.due_day is not a day of the month (1 to 31)")?
                        as u32,
                };
                Ok(Schedule::Monthly { day })
            }
            other => Err(format!("unknown contribution schedule `{other}`")),
        }
    }

    /// The first due date on or after `date`.
    pub fn next_due(self, date: NaiveDate) -> NaiveDate {
        match self {
            Schedule::Every { anchor, every } => {
                let late = days_between(anchor, date).rem_euclid(every as i64) as u64;
                if late == 0 {
                    date
                } else {
                    date + Days::new(every - late)
                }
            }
            Schedule::Monthly { day } => {
                let this_month = due_in_month(date, day);
                if this_month >= date {
                    this_month
                } else {
                    due_in_month(first_of_next_month(date), day)
                }
            }
        }
    }

    /// The last due date strictly before `date`.
    pub fn previous_due(self, date: NaiveDate) -> NaiveDate {
        let day_before = date - Days::new(1);
        match self {
            Schedule::Every { anchor, every } => {
                let late = days_between(anchor, day_before).rem_euclid(every as i64) as u64;
                day_before - Days::new(late)
            }
            Schedule::Monthly { day } => {
                let this_month = due_in_month(day_before, day);
                if this_month <= day_before {
                    this_month
                } else {
                    let last_month = day_before.with_day(1).expect("day 1 exists") - Months::new(1);
                    due_in_month(last_month, day)
                }
            }
        }
    }

    /// The first day of the period that ends on `due`.
    pub fn period_start(self, due: NaiveDate) -> NaiveDate {
        self.previous_due(due) + Days::new(1)
    }
}

fn days_between(from: NaiveDate, to: NaiveDate) -> i64 {
    (to - from).num_days()
}

fn first_of_next_month(date: NaiveDate) -> NaiveDate {
    date.with_day(1).expect("day 1 exists") + Months::new(1)
}

/// Day `day` of `date`'s month, or the month's last day when it is shorter.
fn due_in_month(date: NaiveDate, day: u32) -> NaiveDate {
    let last = first_of_next_month(date) - Days::new(1);
    last.with_day(day.min(last.day()))
        .expect("a day within the month")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn monthly(day: u32) -> Schedule {
        Schedule::Monthly { day }
    }

    #[test]
    fn monthly_is_due_on_its_day_or_the_last_day_of_a_shorter_month() {
        assert_eq!(monthly(5).next_due(d("2026-12-01")), d("2026-12-05"));
        assert_eq!(monthly(5).next_due(d("2026-12-05")), d("2026-12-05"));
        assert_eq!(monthly(5).next_due(d("2026-12-06")), d("2027-01-05"));
        assert_eq!(monthly(31).next_due(d("2026-04-01")), d("2026-04-30"));
        assert_eq!(monthly(31).next_due(d("2027-02-01")), d("2027-02-28"));
        assert_eq!(monthly(30).next_due(d("2028-02-15")), d("2028-02-29"));
        assert_eq!(monthly(29).next_due(d("2100-02-01")), d("2100-02-28"));
        assert_eq!(monthly(31).next_due(d("2027-03-01")), d("2027-03-31"));
    }

    #[test]
    fn the_monthly_period_starts_the_day_after_the_previous_due_date() {
        assert_eq!(monthly(5).period_start(d("2026-12-05")), d("2026-11-06"));
        assert_eq!(monthly(5).period_start(d("2027-01-05")), d("2026-12-06"));
        assert_eq!(monthly(31).period_start(d("2028-03-31")), d("2028-03-01"));
        assert_eq!(monthly(31).period_start(d("2028-02-29")), d("2028-02-01"));
        assert_eq!(monthly(30).period_start(d("2027-03-30")), d("2027-03-01"));
        assert_eq!(monthly(1).period_start(d("2027-01-01")), d("2026-12-02"));
    }

    #[test]
    fn weekly_and_fortnightly_count_from_the_anchor_in_both_directions() {
        let weekly = Schedule::Every {
            anchor: d("2026-11-04"),
            every: 7,
        };
        assert_eq!(weekly.next_due(d("2026-11-04")), d("2026-11-04"));
        assert_eq!(weekly.next_due(d("2026-12-01")), d("2026-12-02"));
        assert_eq!(weekly.next_due(d("2026-10-30")), d("2026-11-04"));
        assert_eq!(weekly.next_due(d("2026-10-20")), d("2026-10-21"));
        assert_eq!(weekly.period_start(d("2026-12-02")), d("2026-11-26"));
        let fortnightly = Schedule::Every {
            anchor: d("2028-02-15"),
            every: 14,
        };
        assert_eq!(fortnightly.next_due(d("2028-02-16")), d("2028-02-29"));
        assert_eq!(fortnightly.next_due(d("2028-03-01")), d("2028-03-14"));
        assert_eq!(fortnightly.period_start(d("2028-02-29")), d("2028-02-16"));
        assert_eq!(fortnightly.previous_due(d("2028-02-15")), d("2028-02-01"));
    }

    #[test]
    fn settings_choose_the_day_and_the_anchor_and_bad_ones_are_refused() {
        let created = d("2026-11-04");
        assert_eq!(
            Schedule::read("monthly", &json!({}), created),
            Ok(monthly(DEFAULT_DUE_DAY))
        );
        assert_eq!(
            Schedule::read("monthly", &json!({"due_day": 31}), created),
            Ok(monthly(31))
        );
        assert_eq!(
            Schedule::read("weekly", &json!({}), created),
            Ok(Schedule::Every {
                anchor: created,
                every: 7
            })
        );
        assert_eq!(
            Schedule::read("fortnightly", &json!({"due_anchor": "2026-01-02"}), created),
            Ok(Schedule::Every {
                anchor: d("2026-01-02"),
                every: 14
            })
        );
        for (schedule, settings) in [
            ("monthly", json!({"due_day": 0})),
            ("monthly", json!({"due_day": 32})),
            ("monthly", json!({"due_day": "5"})),
            ("weekly", json!({"due_anchor": "next friday"})),
            ("weekly", json!({"due_anchor": 5})),
            ("daily", json!({})),
        ] {
            assert!(
                Schedule::read(schedule, &settings, created).is_err(),
                "{schedule} {settings}"
            );
        }
    }
}
