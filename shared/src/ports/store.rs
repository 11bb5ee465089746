//! The object store port (S3): checkpoints, drain records, idle-since state.

use async_trait::async_trait;

use crate::error::Result;

/// Exists so checkpoint and drain logic runs the same against S3, a dry run, and memory.
#[async_trait]
pub trait ObjectStore: Send + Sync {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>>;
    async fn put(&self, key: &str, body: Vec<u8>) -> Result<()>;
    async fn delete(&self, key: &str) -> Result<()>;
    /// Keys under `prefix`, sorted.
    async fn list(&self, prefix: &str) -> Result<Vec<String>>;
}
