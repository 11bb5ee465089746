//! The running fake: which server it plays and its world (state, fault, request log,
//! Jenkins sessions) behind one lock, shared by every request.

use std::sync::{Arc, Mutex, MutexGuard};

use serde::Serialize;

use crate::auth::{self, Sessions};
use crate::clock::now_ms;
use crate::fault::Fault;
use crate::kind::Kind;
use crate::state::FakeState;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RequestRecord {
    pub method: String,
    pub path: String,
    pub query: String,
    pub has_crumb: bool,
    pub auth_kind: String,
}

#[derive(Debug, Default)]
pub struct World {
    pub state: FakeState,
    pub fault: Fault,
    /// Every answer (fault or not) waits this long first: a slow but working server.
    pub delay_ms: u64,
    pub requests: Vec<RequestRecord>,
    pub sessions: Sessions,
}

#[derive(Clone)]
pub struct App {
    pub kind: Kind,
    world: Arc<Mutex<World>>,
    /// Jenkins' `X-Jenkins-Session`: fixed for the life of the process.
    pub instance: String,
    pub started_ms: i64,
}

impl App {
    pub fn new(kind: Kind, state: FakeState) -> App {
        App {
            kind,
            world: Arc::new(Mutex::new(World {
                state,
                ..World::default()
            })),
            instance: auth::random_hex(8),
            started_ms: now_ms(),
        }
    }

    /// Handlers never await while holding this, so a std mutex is enough; a panic in
    /// one request must not wedge the fake, hence the poison recovery.
    pub fn world(&self) -> MutexGuard<'_, World> {
        self.world
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
