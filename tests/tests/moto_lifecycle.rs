//! Terminate lifecycle hooks against the local stack's moto, which runs through
//! `infra/local/moto_ext.py` (plain moto 5.2.5 terminates at once and answers
//! CompleteLifecycleAction with HTTP 500). What ci-fleet's drain relies on:
//! scale-in and TerminateInstanceInAutoScalingGroup park instances in `Terminating:Wait`
//! (never a scale-in-protected one), a heartbeat keeps the action alive, CONTINUE
//! terminates, and a second completion is the "No active Lifecycle Action" ValidationError.

use aws_sdk_autoscaling::error::ProvideErrorMetadata;
use ci_fleet_tests::LocalAws;
use ci_fleet_tests::asg::{
    HOOK, action_for, actions, clients, ec2_state, group_with_hook, states, unique,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scale_in_waits_on_the_hook_and_never_takes_the_protected_instance() {
    let aws = LocalAws::shared();
    let c = clients(aws).await;
    let name = unique("lifecycle-scale-in");
    let ids = group_with_hook(&c, &name, 3).await;
    let protected = ids[0].clone();
    c.asg
        .set_instance_protection()
        .auto_scaling_group_name(&name)
        .instance_ids(&protected)
        .protected_from_scale_in(true)
        .send()
        .await
        .expect("SetInstanceProtection");

    c.asg
        .set_desired_capacity()
        .auto_scaling_group_name(&name)
        .desired_capacity(1)
        .send()
        .await
        .expect("SetDesiredCapacity");

    let after = states(&c, &name).await;
    assert_eq!(after[&protected], "InService", "{after:?}");
    let waiting: Vec<&String> = ids[1..].iter().collect();
    for id in &waiting {
        assert_eq!(after[*id], "Terminating:Wait", "{after:?}");
        assert_eq!(
            ec2_state(&c, id).await,
            "running",
            "a waiting instance keeps running"
        );
    }
    assert_eq!(
        after.len(),
        3,
        "nothing launched, nothing gone yet: {after:?}"
    );

    let pending = actions(aws, &name);
    assert_eq!(pending.len(), 2, "{pending:#?}");
    for id in &waiting {
        let a = action_for(&pending, id);
        assert_eq!(a["state"], "pending");
        assert_eq!(a["hook"], HOOK);
        assert!(a["token"].as_str().is_some_and(|t| t.len() == 36), "{a}");
    }

    // Heartbeat the first, as protect-busy-agents does while a build is still running.
    let first = waiting[0].as_str();
    let token = action_for(&pending, first)["token"]
        .as_str()
        .expect("token")
        .to_string();
    c.asg
        .record_lifecycle_action_heartbeat()
        .auto_scaling_group_name(&name)
        .lifecycle_hook_name(HOOK)
        .instance_id(first)
        .lifecycle_action_token(&token)
        .send()
        .await
        .expect("RecordLifecycleActionHeartbeat");
    let beat = actions(aws, &name);
    assert_eq!(action_for(&beat, first)["heartbeats"], 1);
    assert!(
        action_for(&beat, first)["heartbeat_deadline"].as_str()
            >= action_for(&pending, first)["heartbeat_deadline"].as_str(),
        "a heartbeat never brings the deadline forward"
    );
    assert_eq!(states(&c, &name).await[first], "Terminating:Wait");

    // Complete it the way ci-fleet does (instance id + token, CONTINUE).
    c.asg
        .complete_lifecycle_action()
        .auto_scaling_group_name(&name)
        .lifecycle_hook_name(HOOK)
        .instance_id(first)
        .lifecycle_action_token(&token)
        .lifecycle_action_result("CONTINUE")
        .send()
        .await
        .expect("CompleteLifecycleAction");
    assert_eq!(ec2_state(&c, first).await, "terminated");
    let after = states(&c, &name).await;
    assert!(!after.contains_key(first), "{after:?}");
    assert_eq!(after[&protected], "InService");
    assert_eq!(after[waiting[1]], "Terminating:Wait");
    let done = actions(aws, &name);
    assert_eq!(action_for(&done, first)["state"], "completed");
    assert_eq!(action_for(&done, first)["result"], "CONTINUE");

    // A second completion: the real AWS ValidationError, which ci-fleet treats as "done".
    let again = c
        .asg
        .complete_lifecycle_action()
        .auto_scaling_group_name(&name)
        .lifecycle_hook_name(HOOK)
        .instance_id(first)
        .lifecycle_action_result("CONTINUE")
        .send()
        .await
        .expect_err("completing twice must fail");
    let err = again.into_service_error();
    assert_eq!(err.code(), Some("ValidationError"), "{err:?}");
    assert_eq!(
        err.message(),
        Some(format!("No active Lifecycle Action found with instance ID {first}").as_str()),
        "{err:?}"
    );

    // With the token too (ci-fleet sends both), and for a heartbeat: the same family.
    let heartbeat = c
        .asg
        .record_lifecycle_action_heartbeat()
        .auto_scaling_group_name(&name)
        .lifecycle_hook_name(HOOK)
        .instance_id(first)
        .lifecycle_action_token(&token)
        .send()
        .await
        .expect_err("no heartbeat for a completed action");
    let err = heartbeat.into_service_error();
    assert_eq!(err.code(), Some("ValidationError"), "{err:?}");
    assert!(
        err.message()
            .is_some_and(|m| m.starts_with("No active Lifecycle Action found with")),
        "{err:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terminate_instance_in_group_with_the_hook_waits_then_continue_terminates() {
    let aws = LocalAws::shared();
    let c = clients(aws).await;
    let name = unique("lifecycle-terminate");
    let ids = group_with_hook(&c, &name, 2).await;
    let victim = ids[1].as_str();

    let out = c
        .asg
        .terminate_instance_in_auto_scaling_group()
        .instance_id(victim)
        .should_decrement_desired_capacity(false)
        .send()
        .await
        .expect("TerminateInstanceInAutoScalingGroup");
    let activity = out.activity().expect("an activity");
    assert!(
        activity.description().is_some_and(|d| d.contains(victim)),
        "{activity:?}"
    );

    let after = states(&c, &name).await;
    assert_eq!(after[victim], "Terminating:Wait", "{after:?}");
    assert_eq!(ec2_state(&c, victim).await, "running");
    // Desired capacity kept: the waiting instance no longer counts, so a replacement runs.
    let in_service = after.values().filter(|s| *s == "InService").count();
    assert_eq!(in_service, 2, "{after:?}");

    let pending = actions(aws, &name);
    assert_eq!(pending.len(), 1, "{pending:#?}");
    let token = pending[0]["token"].as_str().expect("token").to_string();
    assert_eq!(pending[0]["instance_id"], victim);

    c.asg
        .complete_lifecycle_action()
        .auto_scaling_group_name(&name)
        .lifecycle_hook_name(HOOK)
        .lifecycle_action_token(&token)
        .lifecycle_action_result("CONTINUE")
        .send()
        .await
        .expect("CompleteLifecycleAction by token");
    assert_eq!(ec2_state(&c, victim).await, "terminated");
    assert!(!states(&c, &name).await.contains_key(victim));

    let again = c
        .asg
        .complete_lifecycle_action()
        .auto_scaling_group_name(&name)
        .lifecycle_hook_name(HOOK)
        .lifecycle_action_token(&token)
        .lifecycle_action_result("CONTINUE")
        .send()
        .await
        .expect_err("the token is spent");
    let err = again.into_service_error();
    assert_eq!(
        err.message(),
        Some(format!("No active Lifecycle Action found with token {token}").as_str()),
        "{err:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heartbeat_without_a_pending_action_is_the_validation_error() {
    let aws = LocalAws::shared();
    let c = clients(aws).await;
    let name = unique("lifecycle-nothing");
    let ids = group_with_hook(&c, &name, 1).await;

    // In service, never chosen for termination: nothing to heartbeat or complete.
    let err = c
        .asg
        .record_lifecycle_action_heartbeat()
        .auto_scaling_group_name(&name)
        .lifecycle_hook_name(HOOK)
        .instance_id(&ids[0])
        .send()
        .await
        .expect_err("nothing pending")
        .into_service_error();
    assert_eq!(err.code(), Some("ValidationError"), "{err:?}");
    assert_eq!(
        err.message(),
        Some(
            format!(
                "No active Lifecycle Action found with instance ID {}",
                ids[0]
            )
            .as_str()
        )
    );
    assert!(actions(aws, &name).is_empty());
}
