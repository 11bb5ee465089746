//! Agent names, which is where a build meets the EC2 instance it ran on.

/// The EC2 instance id inside an agent name (`i-0a1b2c3d4e5f67890`, or a name such as
/// the EC2 plugin's `linux (i-0a1b2c3d4e5f67890)`): `i-` and 8 or 17 hex digits.
pub fn instance_id_in(agent: &str) -> Option<&str> {
    let bytes = agent.as_bytes();
    let mut from = 0;
    while let Some(found) = agent[from..].find("i-") {
        let start = from + found;
        let digits = bytes[start + 2..]
            .iter()
            .take_while(|b| b.is_ascii_hexdigit())
            .count();
        let end = start + 2 + digits;
        let bounded_before = start == 0 || !bytes[start - 1].is_ascii_alphanumeric();
        let bounded_after = end == bytes.len() || !bytes[end].is_ascii_alphanumeric();
        if bounded_before && bounded_after && (digits == 8 || digits == 17) {
            return Some(&agent[start..end]);
        }
        from = start + 2;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_instance_ids_in_agent_names() {
        for (name, id) in [
            ("i-0a1b2c3d4e5f67890", Some("i-0a1b2c3d4e5f67890")),
            ("i-1234abcd", Some("i-1234abcd")),
            ("linux (i-0a1b2c3d4e5f67890)", Some("i-0a1b2c3d4e5f67890")),
            (
                "EC2 (aws) - ubuntu (i-0a1b2c3d4e5f67890)",
                Some("i-0a1b2c3d4e5f67890"),
            ),
            ("agent-i-1234abcd-x", Some("i-1234abcd")),
            ("i-123", None),
            ("ip-10-0-1-17.ec2.internal", None),
            ("wifi-0a1b2c3d", None),
            ("linux-1", None),
        ] {
            assert_eq!(instance_id_in(name), id, "{name}");
        }
    }
}
