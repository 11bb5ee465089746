//! Durations as Jenkins prints them in queue reasons (`3 min 12 sec`, `4,9 sec`,
//! `3 Minuten 12 Sekunden`).

use crate::jenkins::locale::{JVM_DECIMAL_SEPARATOR, Lang, jvm_integer};

/// hudson.Util.getTimeSpanString: the two largest units, the second only when the first
/// is below 10; seconds under 10 with one decimal. The unit words come from the
/// request's language (hudson/Messages.properties and Messages_de.properties, `Util.*`),
/// the number from the JVM's locale (`MessageFormat.format`): German here, so `4,9`.
pub fn time_span(ms: u64, lang: Lang) -> String {
    const SEC: u64 = 1000;
    const MIN: u64 = 60 * SEC;
    const HOUR: u64 = 60 * MIN;
    const DAY: u64 = 24 * HOUR;
    const MONTH: u64 = 30 * DAY;
    const YEAR: u64 = 365 * DAY;
    let years = ms / YEAR;
    let months = ms % YEAR / MONTH;
    let days = ms % YEAR % MONTH / DAY;
    let hours = ms % DAY / HOUR;
    let minutes = ms % HOUR / MIN;
    let seconds = ms % MIN / SEC;
    let millis = ms % SEC;
    let whole = |n: u64, unit: Unit| unit.word(lang, jvm_integer(n), n == 1);
    let pair = |big: u64, big_unit: Unit, small: u64, small_unit: Unit| {
        if big < 10 {
            format!("{} {}", whole(big, big_unit), whole(small, small_unit))
        } else {
            whole(big, big_unit)
        }
    };
    if years > 0 {
        pair(years, Unit::Year, months, Unit::Month)
    } else if months > 0 {
        pair(months, Unit::Month, days, Unit::Day)
    } else if days > 0 {
        pair(days, Unit::Day, hours, Unit::Hour)
    } else if hours > 0 {
        pair(hours, Unit::Hour, minutes, Unit::Minute)
    } else if minutes > 0 {
        pair(minutes, Unit::Minute, seconds, Unit::Second)
    } else if seconds >= 10 {
        whole(seconds, Unit::Second)
    } else if seconds >= 1 {
        decimal_seconds(seconds * 10 + millis / 100, 10, lang)
    } else if millis >= 100 {
        decimal_seconds(millis / 10, 100, lang)
    } else {
        whole(millis, Unit::Milli)
    }
}

#[derive(Debug, Clone, Copy)]
enum Unit {
    Year,
    Month,
    Day,
    Hour,
    Minute,
    Second,
    Milli,
}

impl Unit {
    /// `Util.<unit>` of the request's language: `{0} <word>`, where German (and English
    /// `day`) choose the word with `{0,choice,0#…|1#…|1<…}`: singular for exactly 1.
    fn word(self, lang: Lang, amount: String, one: bool) -> String {
        let (singular, plural) = match (lang, self) {
            (Lang::English, Unit::Year) => ("yr", "yr"),
            (Lang::English, Unit::Month) => ("mo", "mo"),
            (Lang::English, Unit::Day) => ("day", "days"),
            (Lang::English, Unit::Hour) => ("hr", "hr"),
            (Lang::English, Unit::Minute) => ("min", "min"),
            (Lang::English, Unit::Second) => ("sec", "sec"),
            (Lang::German, Unit::Year) => ("Jahr", "Jahre"),
            (Lang::German, Unit::Month) => ("Monat", "Monate"),
            (Lang::German, Unit::Day) => ("Tag", "Tage"),
            (Lang::German, Unit::Hour) => ("Stunde", "Stunden"),
            (Lang::German, Unit::Minute) => ("Minute", "Minuten"),
            (Lang::German, Unit::Second) => ("Sekunde", "Sekunden"),
            (_, Unit::Milli) => ("ms", "ms"),
        };
        format!("{amount} {}", if one { singular } else { plural })
    }
}

/// `scaled / divisor` seconds the way java.text.NumberFormat prints a float: no trailing
/// zeros, no separator for whole numbers (`1.0f` is "1", and then singular).
fn decimal_seconds(scaled: u64, divisor: u64, lang: Lang) -> String {
    let whole = scaled / divisor;
    let frac = scaled % divisor;
    if frac == 0 {
        return Unit::Second.word(lang, jvm_integer(whole), whole == 1);
    }
    let width = if divisor == 10 { 1 } else { 2 };
    let digits = format!("{frac:0width$}");
    let amount = format!(
        "{whole}{JVM_DECIMAL_SEPARATOR}{}",
        digits.trim_end_matches('0')
    );
    Unit::Second.word(lang, amount, false)
}
