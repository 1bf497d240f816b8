//! Working days, for the deadlines that count them (SEM's decision, the answer to SEM's
//! information request).
//!
//! A working day is a Monday to Friday that is not one of these public holidays:
//!
//! | Holiday        | Date                    |
//! |----------------|-------------------------|
//! | New Year       | 1 January               |
//! | Berchtoldstag  | 2 January               |
//! | Good Friday    | Easter Sunday − 2 days  |
//! | Easter Monday  | Easter Sunday + 1 day   |
//! | Ascension      | Easter Sunday + 39 days |
//! | Whit Monday    | Easter Sunday + 50 days |
//! | National Day   | 1 August                |
//! | Christmas      | 25 December             |
//! | St Stephen's   | 26 December             |
//!
//! Why these: the deadlines run between federal offices (SEM, swissREPAT) and the cantons'
//! counselling services, so they follow the days the federal administration is closed
//! (the Confederation's own public holidays and the days it grants its staff off, which are
//! the same across Switzerland). Cantonal holidays (Labour Day, Corpus Christi, the
//! Knabenschiessen…) differ from canton to canton and do not move a federal deadline. A
//! holiday that falls on a weekend is not made up on another day.
//!
//! Easter Sunday (Gregorian) comes from the `computus` crate.

use chrono::{Datelike, Days, NaiveDate, Weekday};

/// Easter Sunday of `year` in the Gregorian calendar; `None` outside the years `chrono`
/// and `computus` both cover.
pub fn easter_sunday(year: i32) -> Option<NaiveDate> {
    let easter = computus::gregorian(year).ok()?;
    NaiveDate::from_ymd_opt(year, easter.month, easter.day)
}

/// The federal public holidays of `year` (see the module's table), in date order.
pub fn public_holidays(year: i32) -> Vec<NaiveDate> {
    let fixed = [(1, 1), (1, 2), (8, 1), (12, 25), (12, 26)];
    let mut days: Vec<NaiveDate> =
        fixed.iter().filter_map(|&(m, d)| NaiveDate::from_ymd_opt(year, m, d)).collect();
    if let Some(easter) = easter_sunday(year) {
        days.extend(easter.checked_sub_days(Days::new(2)));
        days.extend([1, 39, 50].iter().filter_map(|&n| easter.checked_add_days(Days::new(n))));
    }
    days.sort_unstable();
    days
}

/// Whether `day` is a public holiday.
pub fn is_public_holiday(day: NaiveDate) -> bool {
    public_holidays(day.year()).contains(&day)
}

/// Whether `day` is a working day: Monday to Friday and no public holiday.
pub fn is_working_day(day: NaiveDate) -> bool {
    !matches!(day.weekday(), Weekday::Sat | Weekday::Sun) && !is_public_holiday(day)
}

/// The day `n` working days after `start` (`start` itself does not count, whatever it is):
/// a deadline of 20 working days opened on a Monday without holidays is due four weeks
/// later, on the Monday. `None` past the end of the calendar.
pub fn add_working_days(start: NaiveDate, n: u32) -> Option<NaiveDate> {
    let mut day = start;
    let mut left = n;
    while left > 0 {
        day = day.succ_opt()?;
        if is_working_day(day) {
            left -= 1;
        }
    }
    Some(day)
}

/// The working days from `start` (excluded) to `end` (included); 0 when `end` is not
/// after `start`.
pub fn working_days_between(start: NaiveDate, end: NaiveDate) -> u32 {
    start
        .iter_days()
        .skip(1)
        .take_while(|d| *d <= end)
        .filter(|d| is_working_day(*d))
        .fold(0, |n, _| n + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("a valid date")
    }

    #[test]
    fn easter_falls_on_the_known_sundays() {
        assert_eq!(easter_sunday(2024), Some(date(2024, 3, 31)));
        assert_eq!(easter_sunday(2025), Some(date(2025, 4, 20)));
        assert_eq!(easter_sunday(2026), Some(date(2026, 4, 5)));
        assert_eq!(easter_sunday(2027), Some(date(2027, 3, 28)));
        assert_eq!(easter_sunday(2038), Some(date(2038, 4, 25)));
    }

    #[test]
    fn the_holidays_of_2026_are_the_federal_ones() {
        assert_eq!(
            public_holidays(2026),
            [
                date(2026, 1, 1),
                date(2026, 1, 2),
                date(2026, 4, 3),   // Good Friday
                date(2026, 4, 6),   // Easter Monday
                date(2026, 5, 14),  // Ascension
                date(2026, 5, 25),  // Whit Monday
                date(2026, 8, 1),   // a Saturday
                date(2026, 12, 25), // a Friday
                date(2026, 12, 26),
            ]
        );
        // 2027: Easter on 28 March.
        let holidays = public_holidays(2027);
        for day in [date(2027, 3, 26), date(2027, 3, 29), date(2027, 5, 6), date(2027, 5, 17)] {
            assert!(holidays.contains(&day), "{day}");
        }
    }

    #[test]
    fn weekends_and_holidays_are_no_working_days() {
        assert!(is_working_day(date(2026, 12, 7))); // a Monday
        assert!(!is_working_day(date(2026, 12, 5))); // Saturday
        assert!(!is_working_day(date(2026, 12, 6))); // Sunday
        assert!(!is_working_day(date(2026, 12, 25))); // Christmas, a Friday
        assert!(!is_working_day(date(2026, 4, 3))); // Good Friday
        assert!(is_working_day(date(2026, 5, 1))); // Labour Day is cantonal
    }

    #[test]
    fn working_days_skip_weekends_and_holidays() {
        // Without holidays: 20 working days from Monday 2 November 2026 is Monday 30 November.
        assert_eq!(add_working_days(date(2026, 11, 2), 20), Some(date(2026, 11, 30)));
        // Over Christmas and New Year: from Monday 21 December 2026, 10 working days skip
        // 25 December and 1 January (Fridays), 2 January (a Saturday) and the weekends:
        // Thursday 31 December is the 7th, Wednesday 6 January 2027 the 10th.
        assert_eq!(add_working_days(date(2026, 12, 21), 10), Some(date(2027, 1, 6)));
        // Over Easter 2026: from Wednesday 1 April, Thursday 2 April is the 1st, then Good
        // Friday and Easter Monday are skipped: Tuesday 7 April is the 2nd.
        assert_eq!(add_working_days(date(2026, 4, 1), 2), Some(date(2026, 4, 7)));
        // Opened on a Saturday: Monday is the first.
        assert_eq!(add_working_days(date(2026, 12, 5), 1), Some(date(2026, 12, 7)));
        assert_eq!(add_working_days(date(2026, 12, 5), 0), Some(date(2026, 12, 5)));
    }

    #[test]
    fn counting_back_gives_the_length() {
        for (start, n) in
            [(date(2026, 12, 14), 10), (date(2026, 3, 30), 20), (date(2027, 5, 3), 20)]
        {
            let due = add_working_days(start, n).expect("in range");
            assert_eq!(working_days_between(start, due), n, "{start}");
        }
        assert_eq!(working_days_between(date(2026, 12, 7), date(2026, 12, 1)), 0);
    }
}
