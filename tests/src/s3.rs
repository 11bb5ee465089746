//! S3 on the local stack: a client, fresh buckets, and the object reads and writes the
//! tests check their functions' records with.

use crate::local_aws::LocalAws;
use crate::names::unique;

/// An S3 client for the stack (path style, as the emulator needs).
pub async fn client(aws: &LocalAws) -> aws_sdk_s3::Client {
    let sdk = aws.sdk_config().await;
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&sdk)
            .force_path_style(true)
            .build(),
    )
}

pub async fn create_bucket(s3: &aws_sdk_s3::Client, bucket: &str) {
    s3.create_bucket()
        .bucket(bucket)
        .send()
        .await
        .unwrap_or_else(|e| panic!("CreateBucket {bucket}: {e}"));
}

/// An S3 client for the stack and a new, empty bucket named after `prefix`.
pub async fn fresh_bucket(aws: &LocalAws, prefix: &str) -> (aws_sdk_s3::Client, String) {
    let s3 = client(aws).await;
    let bucket = unique(prefix).to_lowercase();
    create_bucket(&s3, &bucket).await;
    (s3, bucket)
}

/// The keys in `bucket` (under `prefix` when given).
pub async fn keys(s3: &aws_sdk_s3::Client, bucket: &str, prefix: Option<&str>) -> Vec<String> {
    s3.list_objects_v2()
        .bucket(bucket)
        .set_prefix(prefix.map(str::to_owned))
        .send()
        .await
        .expect("ListObjectsV2")
        .contents()
        .iter()
        .filter_map(|o| o.key().map(str::to_owned))
        .collect()
}

/// The object's bytes, or `None` when there is no such object.
pub async fn get(s3: &aws_sdk_s3::Client, bucket: &str, key: &str) -> Option<Vec<u8>> {
    let out = s3.get_object().bucket(bucket).key(key).send().await.ok()?;
    let body = out.body.collect().await.expect("reads the object's body");
    Some(body.into_bytes().to_vec())
}

pub async fn put(s3: &aws_sdk_s3::Client, bucket: &str, key: &str, body: Vec<u8>) {
    s3.put_object()
        .bucket(bucket)
        .key(key)
        .body(body.into())
        .send()
        .await
        .expect("PutObject");
}

pub async fn exists(s3: &aws_sdk_s3::Client, bucket: &str, key: &str) -> bool {
    s3.head_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .is_ok()
}
