//! CI credentials from Secrets Manager (`CI_CREDENTIALS_SECRET`), and single secret
//! strings such as advise-retry's webhook key (`RETRY_WEBHOOK_SECRET`).

use crate::config::{CredentialSource, Credentials, Secret};
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

/// The secret `id` as one string: its plain value, or its `key` member when the value is
/// JSON `{"key": …}` (the console's key/value editor). Errors name `variable` and `id`,
/// never the value.
pub async fn secret_string(
    client: &aws_sdk_secretsmanager::Client,
    id: &str,
    variable: &str,
) -> Result<Secret> {
    let output = client
        .get_secret_value()
        .secret_id(id)
        .send()
        .await
        .map_err(|e| Error::aws("GetSecretValue", e))?;
    let text = output
        .secret_string()
        .ok_or_else(|| Error::config(variable, format!("secret {id:?} has no string value")))?;
    secret_value(id, variable, text)
}

fn secret_value(id: &str, variable: &str, text: &str) -> Result<Secret> {
    let text = text.trim();
    if text.starts_with('{') {
        #[derive(serde::Deserialize)]
        struct Keyed {
            key: Secret,
        }
        return serde_json::from_str::<Keyed>(text)
            .map(|k| k.key)
            .map_err(|_| {
                Error::config(
                    variable,
                    format!("secret {id:?} is JSON without a string \"key\" member"),
                )
            });
    }
    if text.is_empty() {
        return Err(Error::config(variable, format!("secret {id:?} is empty")));
    }
    Ok(Secret::new(text))
}

#[cfg(test)]
mod tests {
    use aws_sdk_secretsmanager::operation::get_secret_value::{
        GetSecretValueError, GetSecretValueOutput,
    };
    use aws_smithy_mocks::{RuleMode, mock, mock_client};

    use super::*;

    #[tokio::test]
    async fn reads_a_plain_or_keyed_secret_and_never_echoes_it() {
        let plain = mock!(aws_sdk_secretsmanager::Client::get_secret_value)
            .match_requests(|req| req.secret_id() == Some("ci-fleet/webhook"))
            .then_output(|| {
                GetSecretValueOutput::builder()
                    .secret_string("  s3cr3t-value-0123456789\n")
                    .build()
            });
        let client = mock_client!(aws_sdk_secretsmanager, RuleMode::MatchAny, [&plain]);
        let secret = secret_string(&client, "ci-fleet/webhook", "RETRY_WEBHOOK_SECRET")
            .await
            .expect("reads");
        assert_eq!(secret.expose(), "s3cr3t-value-0123456789");
        assert_eq!(plain.num_calls(), 1);

        assert_eq!(
            secret_value("id", "V", r#"{"key":"k3y"}"#)
                .expect("keyed")
                .expose(),
            "k3y"
        );
        let error = secret_value("id", "V", r#"{"password":"hunter2"}"#)
            .expect_err("no key")
            .to_string();
        assert!(
            error.contains("V") && error.contains("\"id\"") && !error.contains("hunter2"),
            "{error}"
        );

        let missing = mock!(aws_sdk_secretsmanager::Client::get_secret_value).then_error(|| {
            GetSecretValueError::ResourceNotFoundException(
                aws_sdk_secretsmanager::types::error::ResourceNotFoundException::builder()
                    .message("Secrets Manager can't find the specified secret.")
                    .build(),
            )
        });
        let client = mock_client!(aws_sdk_secretsmanager, RuleMode::MatchAny, [&missing]);
        let error = secret_string(&client, "nope", "RETRY_WEBHOOK_SECRET")
            .await
            .expect_err("missing")
            .to_string();
        assert!(
            error.starts_with("AWS GetSecretValue:") && error.contains("can't find"),
            "{error}"
        );
    }

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
