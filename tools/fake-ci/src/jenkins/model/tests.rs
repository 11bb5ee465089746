use super::Ctx;
use crate::export::{self, render_depth};
use crate::jenkins::locale::Lang;
use crate::state::{Agent, FakeState, QueueItem, QueueState, RunningBuild};
use crate::tree::{self, Want};

fn state() -> FakeState {
    let agent = |name: &str, labels: &[&str], running: usize, connected: bool| Agent {
        name: name.into(),
        labels: labels.iter().map(|l| l.to_string()).collect(),
        executors: 2,
        running: (0..running)
            .map(|n| RunningBuild {
                job: format!("job-{n}"),
                number: 7 + n as u64,
                started_at_ms: Some(1_000),
                ..RunningBuild::default()
            })
            .collect(),
        connected,
        offline_since_ms: Some(5),
        ..Agent::default()
    };
    let item = |id: u64, label: &str, state: QueueState, exposed: bool| QueueItem {
        id,
        job: format!("job-{}", id % 3),
        label: Some(label.into()),
        state,
        queued_at_ms: 100,
        label_exposed: exposed,
        ..QueueItem::default()
    };
    FakeState {
        agents: vec![
            agent("a1", &["linux", "docker"], 1, true),
            agent("a2", &["linux"], 3, false),
            agent("a1", &["mac"], 0, true),
        ],
        queue: vec![
            item(1, "linux && docker", QueueState::Buildable, true),
            item(2, "mac", QueueState::Blocked, false),
            item(3, "gpu", QueueState::Waiting, true),
            item(4, "linux", QueueState::Buildable, false),
        ],
        builtin_executors: 1,
        ..FakeState::default()
    }
}

/// Building only what a tree wants renders exactly what filtering the full object does.
#[test]
fn wanted_builds_render_like_full_ones() {
    let state = state();
    let ctx = Ctx::new(&state, "h", 10_000, Lang::English);
    let trees = [
        "items[_class,id,why,blocked,buildable,stuck,pending,inQueueSince,task[name,labelExpression]]",
        "items[*],discoverableItems",
        "items[task,actions[causes[shortDescription]],url,timestamp]{1,3}",
        "items[task[*]],items[id]",
        "computer[_class,displayName,offline,temporarilyOffline,idle,numExecutors,offlineCauseReason,assignedLabels[name],executors[idle]]",
        "computer[executors[currentExecutable[url,number,id,queueId,executor]],offlineCause[*],monitorData]",
        "computer[assignedLabels[name,busyExecutors,idleExecutors,totalExecutors,offline]]{1,}",
        "computer[assignedLabels],computer[executors[*]],busyExecutors,totalExecutors",
        "computer[idle,oneOffExecutors[number,idle,currentExecutable[url,number,builtOn]],executors[currentExecutable[_class,url,displayName,builtOn]]]",
    ];
    for text in trees {
        let nodes = tree::parse(text).expect("parses");
        let (full, wanted) = if text.starts_with("items") {
            (ctx.queue(Want::All), ctx.queue(Want::Only(&nodes)))
        } else {
            (
                ctx.computer_set(Want::All),
                ctx.computer_set(Want::Only(&nodes)),
            )
        };
        assert_eq!(
            tree::filter(&full, &nodes),
            tree::filter_owned(wanted, &nodes),
            "{text}"
        );
    }
    for depth in 0..3 {
        assert_eq!(
            render_depth(&ctx.computer_set(Want::All), depth),
            export::render_depth_owned(ctx.computer_set(Want::All), depth)
        );
    }
}
