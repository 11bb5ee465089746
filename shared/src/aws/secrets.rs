//! CI credentials from Secrets Manager (`CI_CREDENTIALS_SECRET`).

use crate::config::{CredentialSource, Credentials};
use crate::error::{Error, Result};

/// Resolves the configured credentials, fetching the secret once at start. The secret's
/// content never appears in an error: only its id and what is wrong with its shape.
pub async fn resolve_credentials(
    source: &CredentialSource,
    sdk: &aws_config::SdkConfig,
) -> Result<Option<Credentials>> {
    match source {
        CredentialSource::Anonymous => Ok(None),
        CredentialSource::Inline(credentials) => Ok(Some(credentials.clone())),
        CredentialSource::SecretsManager(id) => {
            let client = aws_sdk_secretsmanager::Client::new(sdk);
            let output = client
                .get_secret_value()
                .secret_id(id)
                .send()
                .await
                .map_err(|e| Error::aws("GetSecretValue", e))?;
            let text = output.secret_string().ok_or_else(|| {
                Error::config(
                    "CI_CREDENTIALS_SECRET",
                    format!("secret {id:?} has no string value"),
                )
            })?;
            parse_secret(id, text).map(Some)
        }
    }
}

fn parse_secret(id: &str, text: &str) -> Result<Credentials> {
    serde_json::from_str::<Credentials>(text).map_err(|_| {
        Error::config(
            "CI_CREDENTIALS_SECRET",
            format!("secret {id:?} is not JSON of the form {{\"user\":…,\"token\":…}}"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_shape_errors_never_echo_the_secret() {
        let error = parse_secret("ci/jenkins", r#"{"username":"bot","password":"hunter2"}"#)
            .expect_err("wrong shape");
        assert!(!error.to_string().contains("hunter2"));
        assert!(error.to_string().contains("ci/jenkins"));
        let ok = parse_secret("ci/jenkins", r#"{"user":"bot","token":"t0k"}"#).expect("valid");
        assert_eq!(
            (ok.user.as_deref(), ok.token.expose()),
            (Some("bot"), "t0k")
        );
    }
}
