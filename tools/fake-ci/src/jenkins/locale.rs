//! The language of an answer. The fake plays a Jenkins whose JVM default locale is German
//! (`de_DE`), because that is where a client that sends no `Accept-Language` breaks.
//!
//! Jenkins words `why` and offline causes through localizer's `LocaleProvider`, which
//! Jenkins wires to `Functions.getCurrentLocale()`: the request's `getLocale()`, else
//! `Locale.getDefault()` (jenkinsci/jenkins core/src/main/java/hudson/WebAppMain.java:164-169,
//! hudson/Functions.java:2189-2197). Without `Accept-Language` the servlet's `getLocale()`
//! is the server's default locale (jakarta.servlet.ServletRequest#getLocale); with one, Jetty
//! takes the entry of highest quality. localizer then looks for `Messages_<lang>.properties`
//! and falls back to the base (English) bundle, never to the JVM's locale
//! (kohsuke/localizer ResourceBundleHolder.get). Numbers inside the texts are formatted by
//! `MessageFormat.format`, i.e. in the JVM's locale whatever the request asked
//! (ResourceBundleHolder.format, Localizable.toString): `4,9 sec`, `Build #1.234`.

use crate::http::Req;

/// The language the texts of one answer are in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    /// The base bundles (`Messages.properties`): asked for `en`, or for a language the fake
    /// has no translation of.
    English,
    /// `Messages_de.properties`: asked for `de`, or nothing asked (the JVM's locale).
    #[default]
    German,
}

impl Lang {
    pub fn of(req: &Req) -> Lang {
        let header: Vec<&str> = req
            .headers
            .get_all("accept-language")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        Lang::from_accept_language(&header.join(","))
    }

    /// The language of the entry of highest quality (the first among equals; `q=0` means
    /// "not this one"), as the servlet's `getLocale()` picks it.
    pub fn from_accept_language(header: &str) -> Lang {
        let mut best: Option<(&str, f32)> = None;
        for entry in header.split(',') {
            let mut parts = entry.split(';');
            let tag = parts.next().unwrap_or("").trim();
            if tag.is_empty() {
                continue;
            }
            let quality = parts
                .filter_map(|p| p.trim().strip_prefix("q="))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            if quality <= 0.0 {
                continue;
            }
            if best.is_none_or(|(_, q)| quality > q) {
                best = Some((tag, quality));
            }
        }
        let Some((tag, _)) = best else {
            return Lang::German;
        };
        let language = tag.split(['-', '_']).next().unwrap_or("");
        if language.eq_ignore_ascii_case("de") {
            Lang::German
        } else {
            // English, and every language the fake has no bundle for: localizer falls
            // back to the base bundle. (A real Jenkins answers `fr` or `ja` in French or
            // Japanese; the fake only speaks German and English.)
            Lang::English
        }
    }
}

/// An integer as `MessageFormat` prints a `Number` argument in the JVM's (German) locale:
/// groups of three digits separated by `.`.
pub fn jvm_integer(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('.');
        }
        out.push(c);
    }
    out
}

/// The decimal separator of the JVM's (German) locale.
pub const JVM_DECIMAL_SEPARATOR: char = ',';

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_language_of_the_best_entry() {
        let cases: &[(&str, Lang)] = &[
            ("", Lang::German),
            ("en", Lang::English),
            ("en-US,en;q=0.9", Lang::English),
            ("EN-gb", Lang::English),
            ("de", Lang::German),
            ("de-AT", Lang::German),
            ("de;q=0.5, en;q=0.8", Lang::English),
            ("en;q=0.5, de", Lang::German),
            ("en;q=0, de;q=0.1", Lang::German),
            ("en;q=0", Lang::German),
            ("fr-FR", Lang::English),
            ("*", Lang::English),
            (" , ", Lang::German),
        ];
        for (header, expected) in cases {
            assert_eq!(Lang::from_accept_language(header), *expected, "{header:?}");
        }
    }

    #[test]
    fn integers_grouped_as_a_german_jvm_prints_them() {
        assert_eq!(jvm_integer(7), "7");
        assert_eq!(jvm_integer(475), "475");
        assert_eq!(jvm_integer(1234), "1.234");
        assert_eq!(jvm_integer(1_234_567), "1.234.567");
    }
}
