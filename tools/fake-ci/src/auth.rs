//! Who a request is, and Jenkins' session-bound CSRF crumbs.
//!
//! Jenkins distinguishes API-token Basic auth (exempt from the crumb) from password Basic
//! auth and anonymous requests (which need a crumb bound to the JSESSIONID session it was
//! issued in); TeamCity accepts Bearer tokens. Both are decided here from the state.

use std::collections::HashMap;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::http::Req;
use crate::state::FakeState;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identity {
    Anonymous,
    /// Basic auth whose secret is the user's API token.
    Token(String),
    /// Basic auth whose secret is the user's password.
    Password(String),
    Bearer(String),
    /// Credentials were sent but are wrong; carries the user name for the error text.
    Invalid(String),
}

impl Identity {
    /// The `auth_kind` recorded in `/_fake/requests`.
    pub fn kind(&self) -> &'static str {
        match self {
            Identity::Anonymous => "anonymous",
            Identity::Token(_) => "token",
            Identity::Password(_) => "password",
            Identity::Bearer(_) => "bearer",
            Identity::Invalid(_) => "invalid",
        }
    }

    pub fn user(&self) -> Option<&str> {
        match self {
            Identity::Token(u) | Identity::Password(u) => Some(u),
            Identity::Bearer(_) => Some("admin"),
            Identity::Anonymous | Identity::Invalid(_) => None,
        }
    }
}

/// Reads the Authorization header. `bearer_ok` is false for Jenkins, which has no Bearer
/// scheme and treats such requests as anonymous.
pub fn identify(req: &Req, state: &FakeState, bearer_ok: bool) -> Identity {
    let Some(value) = req.header("authorization") else {
        return Identity::Anonymous;
    };
    let (scheme, rest) = value.trim().split_once(' ').unwrap_or((value, ""));
    if scheme.eq_ignore_ascii_case("bearer") {
        if !bearer_ok {
            return Identity::Anonymous;
        }
        let token = rest.trim();
        return if state.teamcity_tokens.iter().any(|t| t == token) {
            Identity::Bearer(token.to_owned())
        } else {
            Identity::Invalid(String::new())
        };
    }
    if !scheme.eq_ignore_ascii_case("basic") {
        return Identity::Invalid(String::new());
    }
    let decoded = STANDARD
        .decode(rest.trim())
        .ok()
        .and_then(|b| String::from_utf8(b).ok());
    let Some((user, secret)) = decoded.as_deref().and_then(|d| d.split_once(':')) else {
        return Identity::Invalid(String::new());
    };
    let Some(known) = state.auth.users.iter().find(|u| u.user == user) else {
        return Identity::Invalid(user.to_owned());
    };
    if known.token.as_deref() == Some(secret) {
        Identity::Token(user.to_owned())
    } else if known.password.as_deref() == Some(secret) {
        Identity::Password(user.to_owned())
    } else {
        Identity::Invalid(user.to_owned())
    }
}

/// The header (or form/query parameter) that carries a Jenkins crumb.
pub const CRUMB_FIELD: &str = "Jenkins-Crumb";

pub fn sent_crumb(req: &Req) -> Option<String> {
    req.header(CRUMB_FIELD)
        .map(str::to_owned)
        .or_else(|| req.query_param(CRUMB_FIELD))
        .or_else(|| req.form_param(CRUMB_FIELD))
}

/// The JSESSIONID cookie; Jetty names it `JSESSIONID.<node>`, so match the prefix.
pub fn session_cookie(req: &Req) -> Option<String> {
    req.cookies()
        .into_iter()
        .find(|(k, _)| k.starts_with("JSESSIONID"))
        .map(|(_, v)| v)
}

#[derive(Debug, Clone)]
struct Session {
    user: Option<String>,
    crumb: String,
}

/// Sessions created by `/crumbIssuer`, each with the crumb issued in it.
#[derive(Debug, Default)]
pub struct Sessions {
    by_id: HashMap<String, Session>,
}

pub struct Issued {
    pub crumb: String,
    /// Set when a new session was created: the `Set-Cookie` value to send.
    pub set_cookie: Option<String>,
}

impl Sessions {
    pub fn issue(
        &mut self,
        existing: Option<&str>,
        user: Option<&str>,
        crumb_len: usize,
    ) -> Issued {
        if let Some(id) = existing
            && let Some(session) = self.by_id.get(id)
            && session.user.as_deref() == user
        {
            return Issued {
                crumb: session.crumb.clone(),
                set_cookie: None,
            };
        }
        let id = format!("node0{}", random_hex(24));
        let crumb = random_hex(crumb_len);
        self.by_id.insert(
            id.clone(),
            Session {
                user: user.map(str::to_owned),
                crumb: crumb.clone(),
            },
        );
        Issued {
            crumb,
            set_cookie: Some(format!("{}={id}; Path=/; HttpOnly", cookie_name())),
        }
    }

    /// A crumb is valid only with the session it was issued in and for the same user.
    pub fn valid(&self, session: Option<&str>, user: Option<&str>, crumb: Option<&str>) -> bool {
        match (session.and_then(|s| self.by_id.get(s)), crumb) {
            (Some(s), Some(c)) => s.crumb == c && s.user.as_deref() == user,
            _ => false,
        }
    }
}

fn cookie_name() -> &'static str {
    "JSESSIONID.3f2a9c1e"
}

/// Unpredictable enough for a loopback fake, without a random-number dependency.
pub fn random_hex(len: usize) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut out = String::with_capacity(len + 16);
    while out.len() < len {
        let mut hasher = RandomState::new().build_hasher();
        hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
        hasher.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos()),
        );
        out.push_str(&format!("{:016x}", hasher.finish()));
    }
    out.truncate(len);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{HeaderMap, HeaderValue, Method};

    fn req(auth: Option<&str>) -> Req {
        let mut headers = HeaderMap::new();
        if let Some(a) = auth {
            headers.insert("authorization", HeaderValue::from_str(a).expect("header"));
        }
        Req {
            method: Method::GET,
            path: "/".into(),
            query: String::new(),
            headers,
            body: Vec::new(),
        }
    }

    fn basic(user: &str, secret: &str) -> String {
        format!("Basic {}", STANDARD.encode(format!("{user}:{secret}")))
    }

    #[test]
    fn tells_token_from_password() {
        let state = FakeState::default();
        assert_eq!(identify(&req(None), &state, false), Identity::Anonymous);
        assert_eq!(
            identify(&req(Some(&basic("ci", "tok"))), &state, false),
            Identity::Token("ci".into())
        );
        assert_eq!(
            identify(&req(Some(&basic("ci", "pw"))), &state, false),
            Identity::Password("ci".into())
        );
        assert_eq!(
            identify(&req(Some(&basic("ci", "nope"))), &state, false),
            Identity::Invalid("ci".into())
        );
        assert_eq!(
            identify(&req(Some(&basic("who", "tok"))), &state, false),
            Identity::Invalid("who".into())
        );
        assert_eq!(
            identify(&req(Some("Bearer tc-token")), &state, true),
            Identity::Bearer("tc-token".into())
        );
        assert_eq!(
            identify(&req(Some("Bearer wrong")), &state, true).kind(),
            "invalid"
        );
        assert_eq!(
            identify(&req(Some("Bearer tc-token")), &state, false),
            Identity::Anonymous
        );
    }

    #[test]
    fn crumbs_are_bound_to_session_and_user() {
        let mut sessions = Sessions::default();
        let issued = sessions.issue(None, Some("ci"), 64);
        assert_eq!(issued.crumb.len(), 64);
        let cookie = issued.set_cookie.expect("new session");
        let id = cookie
            .split(';')
            .next()
            .and_then(|c| c.split_once('='))
            .map(|(_, v)| v.to_owned())
            .expect("id");
        assert!(sessions.valid(Some(&id), Some("ci"), Some(&issued.crumb)));
        assert!(!sessions.valid(None, Some("ci"), Some(&issued.crumb)));
        assert!(!sessions.valid(Some("other"), Some("ci"), Some(&issued.crumb)));
        assert!(!sessions.valid(Some(&id), Some("bob"), Some(&issued.crumb)));
        assert!(!sessions.valid(Some(&id), Some("ci"), Some("0000")));
        let again = sessions.issue(Some(&id), Some("ci"), 64);
        assert_eq!(again.crumb, issued.crumb);
        assert!(again.set_cookie.is_none());
    }
}
