use super::console::byte_range;
use super::split_job;

#[test]
fn ranges_and_job_paths() {
    assert_eq!(byte_range("bytes=-4", 10), Some((6, 9)));
    assert_eq!(byte_range("bytes=-40", 10), Some((0, 9)));
    assert_eq!(byte_range("bytes=2-", 10), Some((2, 9)));
    assert_eq!(byte_range("bytes=2-3", 10), Some((2, 3)));
    assert_eq!(byte_range("bytes=12-", 10), None);
    assert_eq!(byte_range("items=1-2", 10), None);
    let segs = ["job", "folder", "job", "app", "41", "api", "json"];
    let (job, rest) = split_job(&segs).expect("splits");
    assert_eq!((job.len(), rest), (4, &["41", "api", "json"][..]));
    assert_eq!(split_job(&["job", "app"]), None, "nothing after the job");
    assert_eq!(split_job(&["computer", "x"]), None);
}
