//! Durations as Jenkins prints them in queue reasons (`3 min 12 sec`, `4.9 sec`).

/// hudson.Util.getTimeSpanString: the two largest units, the second only when the first
/// is below 10; seconds under 10 with one decimal.
pub fn time_span(ms: u64) -> String {
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
    let day = |n: u64| format!("{n} {}", if n == 1 { "day" } else { "days" });
    let pair = |big: u64, big_label: String, small_label: String| {
        if big < 10 {
            format!("{big_label} {small_label}")
        } else {
            big_label
        }
    };
    if years > 0 {
        pair(years, format!("{years} yr"), format!("{months} mo"))
    } else if months > 0 {
        pair(months, format!("{months} mo"), day(days))
    } else if days > 0 {
        pair(days, day(days), format!("{hours} hr"))
    } else if hours > 0 {
        pair(hours, format!("{hours} hr"), format!("{minutes} min"))
    } else if minutes > 0 {
        pair(minutes, format!("{minutes} min"), format!("{seconds} sec"))
    } else if seconds >= 10 {
        format!("{seconds} sec")
    } else if seconds >= 1 {
        decimal_seconds(seconds * 10 + millis / 100, 10)
    } else if millis >= 100 {
        decimal_seconds(millis / 10, 100)
    } else {
        format!("{millis} ms")
    }
}

/// Formats `scaled / divisor` seconds the way java.text.NumberFormat prints a float:
/// no trailing zeros, no decimal point for whole numbers.
fn decimal_seconds(scaled: u64, divisor: u64) -> String {
    let whole = scaled / divisor;
    let frac = scaled % divisor;
    if frac == 0 {
        return format!("{whole} sec");
    }
    let width = if divisor == 10 { 1 } else { 2 };
    let digits = format!("{frac:0width$}");
    format!("{whole}.{} sec", digits.trim_end_matches('0'))
}
