//! Where each checkpoint object lives in the bucket. The one place that spells object
//! keys, so the documented layout (tools/ci-checkpoint/README.md) and the code agree:
//!
//! ```text
//! claims/<instance-id>/<slot>.json                            Claim: the build running on one executor of the instance
//! claims/<instance-id>.json                                   Claim: the same, written by ci-checkpoint before slots (read only)
//! checkpoints/<key>/attempts/<n>/started.json                 Claim: attempt n exists (numbers the next one)
//! checkpoints/<key>/attempts/<n>/parts/<seq>-<writer>.json    Part: passes uploaded once, never rewritten
//! checkpoints/<key>/attempts/<n>/interruption.json            Interruption: attempt n was sealed
//! checkpoints/<key>/passed.json                               PassList: consolidated by the seals
//! interruptions/runs/<sha256 of the run URL>.json             RunInterruption: the run's agent was spot-interrupted
//! ```

use super::key::CheckpointKey;

/// The claim of the build on executor `slot` of the instance: one per executor, so the
/// builds of a multi-executor agent do not overwrite each other's claim.
pub fn claim(instance_id: &str, slot: &str) -> String {
    format!("{}{slot}.json", claims_prefix(instance_id))
}

/// Every slot's claim of the instance; the trailing `/` keeps `i-1` from matching `i-10`.
pub fn claims_prefix(instance_id: &str) -> String {
    format!("claims/{instance_id}/")
}

/// The one claim per instance that ci-checkpoint wrote before it had slots; still sealed,
/// so an agent image with the older ci-checkpoint keeps working during an upgrade.
pub fn legacy_claim(instance_id: &str) -> String {
    format!("claims/{instance_id}.json")
}

/// The interruption record of a run, by its URL (hashed: a URL is no safe key). Written
/// by handle-interruption alone, under a prefix the agents' roles cannot write.
pub fn run_interruption(run_url: &str) -> String {
    use sha2::{Digest, Sha256};
    format!(
        "interruptions/runs/{}.json",
        hex::encode(Sha256::digest(run_url.as_bytes()))
    )
}

pub fn passed(key: &CheckpointKey) -> String {
    format!("checkpoints/{}/passed.json", key.encoded())
}

/// Everything of every attempt of `key`; the trailing `/` keeps `app` from matching `app2`.
pub fn attempts_prefix(key: &CheckpointKey) -> String {
    format!("checkpoints/{}/attempts/", key.encoded())
}

pub fn started(key: &CheckpointKey, attempt: u32) -> String {
    format!("{}{attempt}/started.json", attempts_prefix(key))
}

pub fn interruption(key: &CheckpointKey, attempt: u32) -> String {
    format!("{}{attempt}/interruption.json", attempts_prefix(key))
}

pub fn parts_prefix(key: &CheckpointKey, attempt: u32) -> String {
    format!("{}{attempt}/parts/", attempts_prefix(key))
}

/// `seq` is zero-padded so a listing shows one writer's parts in upload order; `writer`
/// differs between processes, so two uploaders (a `record` and a `flush`) can never
/// overwrite each other's part.
pub fn part(key: &CheckpointKey, attempt: u32, seq: u32, writer: &str) -> String {
    format!("{}{seq:06}-{writer}.json", parts_prefix(key, attempt))
}

/// The attempt number of any object under `attempts_prefix(key)`.
pub fn attempt_of(key: &CheckpointKey, object: &str) -> Option<u32> {
    let rest = object.strip_prefix(&attempts_prefix(key))?;
    rest.split('/').next()?.parse().ok()
}

/// The attempt of a part object, `None` for any other object.
pub fn part_attempt(key: &CheckpointKey, object: &str) -> Option<u32> {
    let attempt = attempt_of(key, object)?;
    let name = object.strip_prefix(&parts_prefix(key, attempt))?;
    (name.ends_with(".json") && !name.contains('/')).then_some(attempt)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_and_their_attempts() {
        let key = CheckpointKey::parse("app/main").expect("valid");
        assert_eq!(claim("i-1", "0"), "claims/i-1/0.json");
        assert!(claim("i-10", "0").starts_with(&claims_prefix("i-10")));
        assert!(!claim("i-10", "0").starts_with(&claims_prefix("i-1")));
        assert_eq!(legacy_claim("i-1"), "claims/i-1.json");
        assert_eq!(passed(&key), "checkpoints/app!2Fmain/passed.json");
        let part = part(&key, 12, 3, "w1");
        assert_eq!(
            part,
            "checkpoints/app!2Fmain/attempts/12/parts/000003-w1.json"
        );
        assert_eq!(part_attempt(&key, &part), Some(12));
        assert_eq!(attempt_of(&key, &started(&key, 7)), Some(7));
        assert_eq!(attempt_of(&key, &interruption(&key, 2)), Some(2));
        assert_eq!(part_attempt(&key, &interruption(&key, 2)), None);
        assert_eq!(part_attempt(&key, &started(&key, 2)), None);
        let other = CheckpointKey::parse("app/main2").expect("valid");
        assert_eq!(attempt_of(&key, &started(&other, 1)), None);
        assert_eq!(
            attempt_of(&key, "checkpoints/app!2Fmain/attempts/x/started.json"),
            None
        );
    }
}
