//! The EC2 instance metadata service (IMDSv2, falling back to v1 where tokens are off):
//! the instance id, and the spot interruption notice. `CI_CHECKPOINT_IMDS_URL` moves it
//! (tests serve a fake on loopback).

use std::time::Duration;

use reqwest::StatusCode;
use tokio::sync::Mutex;

pub const DEFAULT_BASE: &str = "http://169.254.169.254";
const TOKEN_TTL_SECONDS: &str = "21600";

pub struct Imds {
    base: String,
    http: reqwest::Client,
    /// `Some(None)`: the service answered the token request with an error status, so it
    /// is IMDSv1-only and requests go without a token.
    token: Mutex<Option<Option<String>>>,
}

impl Imds {
    pub fn new(base: Option<&str>) -> Imds {
        let http = reqwest::Client::builder()
            // An agent's HTTP(S)_PROXY must not capture link-local metadata requests.
            .no_proxy()
            .connect_timeout(Duration::from_secs(1))
            .timeout(Duration::from_secs(2))
            .build()
            .unwrap_or_default();
        Imds {
            base: base
                .unwrap_or(DEFAULT_BASE)
                .trim_end_matches('/')
                .to_owned(),
            http,
            token: Mutex::new(None),
        }
    }

    pub async fn instance_id(&self) -> Result<String, String> {
        let id = self
            .get("meta-data/instance-id")
            .await?
            .ok_or_else(|| format!("{}: no instance-id in the instance metadata", self.base))?;
        Ok(id.trim().to_owned())
    }

    /// The spot `instance-action` notice (its JSON body), `None` while there is none.
    pub async fn spot_notice(&self) -> Result<Option<String>, String> {
        self.get("meta-data/spot/instance-action").await
    }

    /// `Ok(None)` for 404. A 401 means the token expired: one retry with a new token.
    async fn get(&self, path: &str) -> Result<Option<String>, String> {
        let url = format!("{}/latest/{path}", self.base);
        for fresh in [false, true] {
            let token = self.token(fresh).await?;
            let mut request = self.http.get(&url);
            if let Some(token) = &token {
                request = request.header("X-aws-ec2-metadata-token", token);
            }
            let response = request.send().await.map_err(|e| format!("{url}: {e}"))?;
            match response.status() {
                StatusCode::NOT_FOUND => return Ok(None),
                StatusCode::UNAUTHORIZED if !fresh => continue,
                status if status.is_success() => {
                    return response
                        .text()
                        .await
                        .map(Some)
                        .map_err(|e| format!("{url}: {e}"));
                }
                status => return Err(format!("{url}: HTTP {status}")),
            }
        }
        Err(format!("{url}: HTTP 401 with a fresh token"))
    }

    async fn token(&self, fresh: bool) -> Result<Option<String>, String> {
        let mut cached = self.token.lock().await;
        if !fresh && let Some(token) = cached.as_ref() {
            return Ok(token.clone());
        }
        let url = format!("{}/latest/api/token", self.base);
        let response = self
            .http
            .put(&url)
            .header("X-aws-ec2-metadata-token-ttl-seconds", TOKEN_TTL_SECONDS)
            .send()
            .await
            .map_err(|e| format!("{url}: {e}"))?;
        let token = if response.status().is_success() {
            Some(response.text().await.map_err(|e| format!("{url}: {e}"))?)
        } else {
            None
        };
        *cached = Some(token.clone());
        Ok(token)
    }
}
