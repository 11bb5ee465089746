//! The S3 adapter of the `ObjectStore` port.

use async_trait::async_trait;
use aws_sdk_s3::primitives::ByteStream;

use crate::error::{Error, Result};
use crate::ports::store::ObjectStore;

/// The largest object ci-fleet reads (a pass list of ~100,000 test ids is ~8 MiB): a
/// planted or runaway object must not exhaust a 128 MB function (reliability review R10).
pub const MAX_OBJECT_BYTES: i64 = 16 * 1024 * 1024;
/// The most keys one listing returns (a thousand a page): a prefix flooded with objects
/// must not hold a function past its timeout.
pub const MAX_LISTED_KEYS: usize = 20_000;

pub struct S3Store {
    client: aws_sdk_s3::Client,
    bucket: String,
}

impl S3Store {
    pub fn new(client: aws_sdk_s3::Client, bucket: impl Into<String>) -> S3Store {
        S3Store {
            client,
            bucket: bucket.into(),
        }
    }

    /// An S3 client; `S3_FORCE_PATH_STYLE=true` for emulators that do not serve virtual hosts.
    pub fn client(sdk: &aws_config::SdkConfig) -> aws_sdk_s3::Client {
        let path_style =
            std::env::var("S3_FORCE_PATH_STYLE").is_ok_and(|v| v == "true" || v == "1");
        aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(sdk)
                .force_path_style(path_style)
                .build(),
        )
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }
}

#[async_trait]
impl ObjectStore for S3Store {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(output) if output.content_length().unwrap_or(0) > MAX_OBJECT_BYTES => {
                Err(Error::Failed(format!(
                    "s3://{}/{key} is {} bytes, more than the {MAX_OBJECT_BYTES} ci-fleet reads: left unread",
                    self.bucket,
                    output.content_length().unwrap_or(0)
                )))
            }
            Ok(output) => {
                let body = output
                    .body
                    .collect()
                    .await
                    .map_err(|e| Error::aws("GetObject", e))?;
                Ok(Some(body.into_bytes().to_vec()))
            }
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => Ok(None),
            Err(e) => Err(Error::aws("GetObject", e)),
        }
    }

    async fn put(&self, key: &str, body: Vec<u8>) -> Result<()> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type("application/json")
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(|e| Error::aws("PutObject", e))?;
        Ok(())
    }

    async fn delete(&self, key: &str) -> Result<()> {
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| Error::aws("DeleteObject", e))?;
        Ok(())
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>> {
        let mut keys = Vec::new();
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(prefix)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| Error::aws("ListObjectsV2", e))?;
            keys.extend(
                page.contents()
                    .iter()
                    .filter_map(|o| o.key().map(str::to_owned)),
            );
            if keys.len() > MAX_LISTED_KEYS {
                return Err(Error::Failed(format!(
                    "s3://{}/{prefix} lists more than {MAX_LISTED_KEYS} objects: not read",
                    self.bucket
                )));
            }
        }
        keys.sort();
        Ok(keys)
    }
}

/// The store of a function configured without a bucket: any use is a configuration error
/// naming the variable, never a silent no-op.
pub struct NoBucket;

#[async_trait]
impl ObjectStore for NoBucket {
    async fn get(&self, _key: &str) -> Result<Option<Vec<u8>>> {
        Err(no_bucket())
    }

    async fn put(&self, _key: &str, _body: Vec<u8>) -> Result<()> {
        Err(no_bucket())
    }

    async fn delete(&self, _key: &str) -> Result<()> {
        Err(no_bucket())
    }

    async fn list(&self, _prefix: &str) -> Result<Vec<String>> {
        Err(no_bucket())
    }
}

fn no_bucket() -> Error {
    Error::config("CHECKPOINT_BUCKET", "not set for this function")
}

#[cfg(test)]
mod tests {
    use aws_sdk_s3::operation::get_object::GetObjectOutput;
    use aws_smithy_mocks::{RuleMode, mock, mock_client};

    use super::*;

    /// An object larger than ci-fleet ever writes (planted, or runaway) is refused by name
    /// before its body is read: a 128 MB function is not exhausted by it (R10).
    #[tokio::test]
    async fn an_object_over_the_cap_is_refused_unread() {
        let huge = mock!(aws_sdk_s3::Client::get_object)
            .match_requests(|r| r.bucket() == Some("ckpt") && r.key() == Some("checkpoints/k/part"))
            .then_output(|| {
                GetObjectOutput::builder()
                    .content_length(MAX_OBJECT_BYTES + 1)
                    .body(ByteStream::from_static(b"{}"))
                    .build()
            });
        let client = mock_client!(aws_sdk_s3, RuleMode::MatchAny, [&huge]);
        let error = S3Store::new(client, "ckpt")
            .get("checkpoints/k/part")
            .await
            .expect_err("refused");
        assert!(
            error.to_string().contains("s3://ckpt/checkpoints/k/part")
                && error.to_string().contains("left unread"),
            "{error}"
        );

        let small = mock!(aws_sdk_s3::Client::get_object).then_output(|| {
            GetObjectOutput::builder()
                .content_length(2)
                .body(ByteStream::from_static(b"{}"))
                .build()
        });
        let client = mock_client!(aws_sdk_s3, RuleMode::MatchAny, [&small]);
        let body = S3Store::new(client, "ckpt").get("k").await.expect("reads");
        assert_eq!(body.as_deref(), Some(&b"{}"[..]));
    }
}
