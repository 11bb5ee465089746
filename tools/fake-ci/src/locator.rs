//! TeamCity locators: `dim:value,dim2:(nested:value)`; a lone value without a dimension
//! means id (when numeric) or name.

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Locator {
    /// A value given without a dimension.
    pub single: Option<String>,
    /// Dimensions in the order given, values as written (nested ones keep their parens).
    pub dims: Vec<(String, String)>,
}

impl Locator {
    pub fn parse(text: &str) -> Result<Locator, String> {
        let text = text.trim();
        let mut locator = Locator::default();
        if text.is_empty() {
            return Ok(locator);
        }
        let parts = split_top(text, ',')?;
        if parts.len() == 1 && find_top(parts[0], ':').is_none() {
            locator.single = Some(unwrap_parens(parts[0]).to_owned());
            return Ok(locator);
        }
        for part in parts {
            let Some(colon) = find_top(part, ':') else {
                return Err(format!(
                    "Bad locator syntax: '{text}'. Details: dimension without a value: '{part}'"
                ));
            };
            let name = part[..colon].trim();
            if name.is_empty() {
                return Err(format!(
                    "Bad locator syntax: '{text}'. Details: empty dimension name"
                ));
            }
            locator
                .dims
                .push((name.to_owned(), part[colon + 1..].trim().to_owned()));
        }
        Ok(locator)
    }

    /// The value of a dimension, outer parentheses removed.
    pub fn get(&self, dim: &str) -> Option<&str> {
        self.dims
            .iter()
            .find(|(d, _)| d == dim)
            .map(|(_, v)| unwrap_parens(v))
    }

    pub fn has(&self, dim: &str) -> bool {
        self.dims.iter().any(|(d, _)| d == dim)
    }

    pub fn nested(&self, dim: &str) -> Result<Option<Locator>, String> {
        self.get(dim).map(Locator::parse).transpose()
    }

    pub fn number(&self, dim: &str) -> Result<Option<usize>, String> {
        self.get(dim)
            .map(|v| {
                v.parse::<usize>().map_err(|_| {
                    format!("Invalid value of dimension '{dim}': '{v}' is not a number")
                })
            })
            .transpose()
    }

    /// `true`, `false` or `any` (None) for boolean dimensions; absent is None too.
    pub fn boolean(&self, dim: &str) -> Result<Option<bool>, String> {
        match self.get(dim) {
            None | Some("any") => Ok(None),
            Some(v) if v.eq_ignore_ascii_case("true") => Ok(Some(true)),
            Some(v) if v.eq_ignore_ascii_case("false") => Ok(Some(false)),
            Some(v) => Err(format!(
                "Invalid value of dimension '{dim}': '{v}'. Should be 'true', 'false' or 'any'"
            )),
        }
    }

    /// Dimensions not in `supported`, for TeamCity's 400.
    pub fn unknown<'a>(&'a self, supported: &[&str]) -> Vec<&'a str> {
        self.dims
            .iter()
            .map(|(d, _)| d.as_str())
            .filter(|d| !supported.contains(d))
            .collect()
    }

    /// The locator of another page: TeamCity moves count and start to the end.
    pub fn with_page(&self, count: usize, start: usize) -> String {
        let mut parts: Vec<String> = Vec::new();
        if let Some(single) = &self.single {
            parts.push(format!("id:{single}"));
        }
        parts.extend(
            self.dims
                .iter()
                .filter(|(d, _)| !matches!(d.as_str(), "count" | "start" | "lookupLimit"))
                .map(|(d, v)| format!("{d}:{v}")),
        );
        parts.push(format!("count:{count}"));
        parts.push(format!("start:{start}"));
        parts.join(",")
    }
}

fn unwrap_parens(value: &str) -> &str {
    let v = value.trim();
    if v.starts_with('(') && v.ends_with(')') && matching_close(v) == Some(v.len() - 1) {
        &v[1..v.len() - 1]
    } else {
        v
    }
}

fn matching_close(text: &str) -> Option<usize> {
    let mut depth = 0;
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

fn find_top(text: &str, wanted: char) -> Option<usize> {
    let mut depth = 0i32;
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            c if c == wanted && depth == 0 => return Some(i),
            _ => {}
        }
    }
    None
}

fn split_top(text: &str, sep: char) -> Result<Vec<&str>, String> {
    let mut parts = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth < 0 {
                    return Err(format!(
                        "Bad locator syntax: '{text}'. Details: unbalanced ')' at {i}"
                    ));
                }
            }
            c if c == sep && depth == 0 => {
                parts.push(&text[start..i]);
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    if depth != 0 {
        return Err(format!(
            "Bad locator syntax: '{text}'. Details: unclosed '('"
        ));
    }
    parts.push(&text[start..]);
    Ok(parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_dimensions_and_nesting() {
        let loc =
            Locator::parse("pool:(name:Linux x),connected:true,compatible:(build:(id:12)),count:5")
                .expect("parses");
        assert_eq!(loc.get("pool"), Some("name:Linux x"));
        assert_eq!(
            loc.nested("pool")
                .expect("nested")
                .expect("present")
                .get("name"),
            Some("Linux x")
        );
        let compatible = loc.nested("compatible").expect("nested").expect("present");
        assert_eq!(
            compatible
                .nested("build")
                .expect("nested")
                .expect("present")
                .get("id"),
            Some("12")
        );
        assert_eq!(loc.boolean("connected"), Ok(Some(true)));
        assert_eq!(loc.number("count"), Ok(Some(5)));
        assert_eq!(
            loc.unknown(&["pool", "connected", "count"]),
            vec!["compatible"]
        );
    }

    #[test]
    fn single_values_and_errors() {
        assert_eq!(
            Locator::parse("7").expect("parses").single.as_deref(),
            Some("7")
        );
        assert_eq!(Locator::parse("").expect("parses"), Locator::default());
        assert!(Locator::parse("pool:(id:1").is_err());
        assert!(Locator::parse("a:1)").is_err());
        assert!(Locator::parse("a:1,b").is_err());
        assert!(
            Locator::parse("connected:maybe")
                .expect("parses")
                .boolean("connected")
                .is_err()
        );
        assert!(
            Locator::parse("count:x")
                .expect("parses")
                .number("count")
                .is_err()
        );
    }

    #[test]
    fn paging_moves_count_and_start_last() {
        let loc = Locator::parse("count:2,pool:(id:1),start:4,authorized:any").expect("parses");
        assert_eq!(
            loc.with_page(2, 6),
            "pool:(id:1),authorized:any,count:2,start:6"
        );
    }
}
