"""python-jenkins (a client written against real Jenkins) against the fake Jenkins.

Usage: jenkins_client.py URL USER API_TOKEN

Runs python-jenkins' node, queue, job and build calls against a fake Jenkins started with
the state of tools/fake-ci/tests/jenkins_client.rs (`seeded_state()`), and checks each
answer against that state, not just that no exception was raised. Exits 0 when every
call worked, 1 at the first one that did not (with the call and what it returned).

The calls are those python-jenkins 1.8.3 makes (jenkins/__init__.py): `/me/api/json`,
`/` with its `X-Jenkins` header, `/computer/…`, `/queue/…`, `/api/json?tree=jobs[…]`,
`/job/…/api/json`, `/job/…/N/api/json`, `/job/…/N/consoleText`, the node actions
(following their 302 as `requests` does) and `/job/…/build`.

Not exercised, because the fake does not model them: create/reconfig/delete of jobs,
views, nodes' config.xml, plugins, credentials, promotions, scripts, stop_build,
delete_build, cancel_queue, get_build_env_vars (EnvInject), get_build_test_report
(JUnit), get_build_stages (pipeline-stage-view), quiet_down.
"""

import importlib.metadata
import sys
import traceback

import jenkins

# The seeded state (keep in step with tests/jenkins_client.rs).
VERSION = "2.579"
# python-jenkins sends no Accept-Language, and the fake plays a Jenkins whose JVM locale is
# German: the built-in node is `master` (Messages_de.properties Hudson.Computer.DisplayName).
BUILTIN = "master"
APP_CONSOLE = "Started by user ci\nBuilding remotely on linux-1\nFinished: SUCCESS\n"
DEPLOY_CONSOLE = "Started by user ci\n[Pipeline] Start of Pipeline\nFinished: FAILURE\n"
FREESTYLE_JOB = "hudson.model.FreeStyleProject"
FREESTYLE_BUILD = "hudson.model.FreeStyleBuild"
WORKFLOW_JOB = "org.jenkinsci.plugins.workflow.job.WorkflowJob"
WORKFLOW_RUN = "org.jenkinsci.plugins.workflow.job.WorkflowRun"
PLACEHOLDER_EXECUTABLE = (
    "org.jenkinsci.plugins.workflow.support.steps.ExecutorStepExecution$PlaceholderTask$PlaceholderExecutable"
)
FOLDER = "com.cloudbees.hudson.plugins.folder.Folder"

checks = 0


def expect(what, actual, wanted):
    global checks
    checks += 1
    if actual != wanted:
        raise AssertionError("%s: got %r, wanted %r" % (what, actual, wanted))


def expect_true(what, condition, shown):
    global checks
    checks += 1
    if not condition:
        raise AssertionError("%s: got %r" % (what, shown))


def main(url, user, token):
    server = jenkins.Jenkins(url, username=user, password=token, timeout=10)
    root = url.rstrip("/") + "/"

    # --- who and what -------------------------------------------------------------
    # get_whoami first: get_version sends no credentials until a call has resolved them
    # (it skips _maybe_add_auth), so on a Jenkins without anonymous read it would fail
    # with 403 as the first call, against the real server too.
    me = server.get_whoami()
    expect("get_whoami _class", me.get("_class"), "hudson.model.User")
    expect("get_whoami id", me.get("id"), user)
    expect("get_whoami fullName", me.get("fullName"), user)
    expect("get_whoami absoluteUrl", me.get("absoluteUrl"), root + "user/" + user)
    expect("get_version", server.get_version(), VERSION)
    info = server.get_info()
    expect("get_info _class", info.get("_class"), "hudson.model.Hudson")
    expect("get_info url", info.get("url"), root)

    # --- nodes --------------------------------------------------------------------
    nodes = server.get_nodes()
    expect(
        "get_nodes",
        nodes,
        [
            {"name": BUILTIN, "offline": False},
            {"name": "linux-1", "offline": False},
            {"name": "linux-2", "offline": True},
            {"name": "mac-1", "offline": False},
            {"name": "spare-1", "offline": False},
        ],
    )
    with_info = {n["name"]: n for n in server.get_nodes_with_info()}
    expect("get_nodes_with_info names", sorted(with_info), sorted(n["name"] for n in nodes))
    expect("get_nodes_with_info linux-1 idle", with_info["linux-1"]["idle"], False)
    expect(
        "get_nodes_with_info linux-1 labels",
        [label["name"] for label in with_info["linux-1"]["assignedLabels"]],
        ["linux", "docker", "linux-1"],
    )
    expect("get_nodes_with_info linux-2 temporarilyOffline", with_info["linux-2"]["temporarilyOffline"], True)
    expect_true(
        "get_nodes_with_info linux-2 offlineCause",
        with_info["linux-2"]["offlineCause"] is not None,
        with_info["linux-2"]["offlineCause"],
    )

    linux1 = server.get_node_info("linux-1")
    expect("get_node_info linux-1 displayName", linux1["displayName"], "linux-1")
    expect("get_node_info linux-1 numExecutors", linux1["numExecutors"], 2)
    expect("get_node_info linux-1 executors", len(linux1["executors"]), 2)
    expect("get_node_info linux-1 offline", linux1["offline"], False)
    expect("get_node_info linux-1 idle", linux1["idle"], False)
    deep = server.get_node_info("linux-1", depth=2)
    running_numbers = sorted(
        e["currentExecutable"]["number"] for e in deep["executors"] if e["currentExecutable"]
    )
    expect("get_node_info linux-1 depth=2 running", running_numbers, [8, 12])
    # A Pipeline's executor holds its node block's PlaceholderExecutable, a freestyle one the build.
    executables = {e["currentExecutable"]["number"]: e["currentExecutable"] for e in deep["executors"] if e["currentExecutable"]}
    expect("get_node_info linux-1 depth=2 deploy #8 _class", executables[8]["_class"], PLACEHOLDER_EXECUTABLE)
    expect("get_node_info linux-1 depth=2 deploy #8 url", executables[8]["url"], root + "job/pipelines/job/deploy/8/")
    expect("get_node_info linux-1 depth=2 deploy #8 displayName", executables[8]["displayName"], "part of pipelines » deploy #8")
    expect("get_node_info linux-1 depth=2 app #12 _class", executables[12]["_class"], FREESTYLE_BUILD)
    # The built-in node's URL name is `(built-in)` (or `(master)`), whatever its display
    # name (Jenkins.getComputer); python-jenkins maps only "Built-In Node", the English one.
    expect("node_exists %s (a display name, not a node name)" % BUILTIN, server.node_exists(BUILTIN), False)
    builtin = server.get_node_info("(built-in)")
    expect("get_node_info built-in _class", builtin["_class"], "hudson.model.Hudson$MasterComputer")
    expect("get_node_info built-in numExecutors", builtin["numExecutors"], 0)
    # The running WorkflowRun itself is a flyweight task on a one-off executor of the built-in node.
    expect("get_node_info built-in idle", builtin["idle"], False)
    expect("get_node_info built-in oneOffExecutors", len(builtin["oneOffExecutors"]), 1)
    builtin_deep = server.get_node_info("(built-in)", depth=2)
    flyweight = builtin_deep["oneOffExecutors"][0]["currentExecutable"]
    expect("get_node_info built-in one-off executable", (flyweight["_class"], flyweight["number"]), (WORKFLOW_RUN, 8))
    expect("get_node_info built-in one-off executable builtOn", "builtOn" in flyweight, False)
    linux2 = server.get_node_info("linux-2")
    expect("get_node_info linux-2 offlineCauseReason", linux2["offlineCauseReason"], "maintenance")
    expect("node_exists mac-1", server.node_exists("mac-1"), True)
    expect("node_exists nope", server.node_exists("nope"), False)
    server.assert_node_exists("linux-1")

    running = sorted(server.get_running_builds(), key=lambda b: b["number"])
    expect(
        "get_running_builds",
        [(b["node"], b["number"], b["url"], b["executor"]) for b in running],
        [
            ("linux-1", 8, root + "job/pipelines/job/deploy/8/", 1),
            ("linux-1", 12, root + "job/app/12/", 0),
        ],
    )

    # disable_node: toggleOffline on an online node, then 302 to /computer/NAME/, which
    # requests follows with a GET.
    server.disable_node("mac-1", "patching by python-jenkins")
    mac = server.get_node_info("mac-1")
    expect("disable_node mac-1 offline", mac["offline"], True)
    expect("disable_node mac-1 temporarilyOffline", mac["temporarilyOffline"], True)
    expect("disable_node mac-1 offlineCauseReason", mac["offlineCauseReason"], "patching by python-jenkins")
    server.disable_node("mac-1", "again")  # already offline: python-jenkins sends nothing
    expect(
        "disable_node twice keeps the message",
        server.get_node_info("mac-1")["offlineCauseReason"],
        "patching by python-jenkins",
    )
    server.enable_node("mac-1")
    mac = server.get_node_info("mac-1")
    expect("enable_node mac-1 offline", mac["offline"], False)
    expect("enable_node mac-1 temporarilyOffline", mac["temporarilyOffline"], False)
    expect("enable_node mac-1 offlineCauseReason", mac["offlineCauseReason"], "")
    server.enable_node("linux-2")
    expect("enable_node linux-2 offline", server.get_node_info("linux-2")["offline"], False)

    # delete_node: doDelete answers 302 to /computer/, then python-jenkins checks the node
    # is gone.
    server.delete_node("spare-1")
    expect("delete_node spare-1 gone", server.node_exists("spare-1"), False)
    expect("get_nodes after delete", [n["name"] for n in server.get_nodes()], [BUILTIN, "linux-1", "linux-2", "mac-1"])

    # --- queue --------------------------------------------------------------------
    items = server.get_queue_info()
    expect("get_queue_info ids", [i["id"] for i in items], [101, 102])
    expect("get_queue_info 101 task", items[0]["task"]["name"], "app")
    expect("get_queue_info 101 task url", items[0]["task"]["url"], root + "job/app/")
    expect("get_queue_info 101 buildable", items[0]["buildable"], True)
    expect_true("get_queue_info 101 why", isinstance(items[0]["why"], str) and items[0]["why"], items[0]["why"])
    expect("get_queue_info 101 _class", items[0]["_class"], "hudson.model.Queue$BuildableItem")
    item = server.get_queue_item(101)
    expect("get_queue_item 101 id", item["id"], 101)
    expect("get_queue_item 101 task", item["task"]["name"], "app")
    left = server.get_queue_item(90)
    expect("get_queue_item 90 _class", left["_class"], "hudson.model.Queue$LeftItem")
    expect("get_queue_item 90 executable", left["executable"]["number"], 12)
    expect("get_queue_item 90 executable url", left["executable"]["url"], root + "job/app/12/")
    left = server.get_queue_item(91)
    expect("get_queue_item 91 task _class", left["task"]["_class"], WORKFLOW_JOB)
    expect("get_queue_item 91 executable", (left["executable"]["_class"], left["executable"]["number"]), (WORKFLOW_RUN, 8))

    # --- jobs ---------------------------------------------------------------------
    top = server.get_jobs()
    expect(
        "get_jobs",
        [(j["fullname"], j["_class"], j["url"]) for j in top],
        [
            ("app", FREESTYLE_JOB, root + "job/app/"),
            ("pipelines", FOLDER, root + "job/pipelines/"),
        ],
    )
    expect("get_jobs app color", top[0]["color"], "blue_anime")
    every = server.get_all_jobs()
    expect(
        "get_all_jobs",
        [(j["fullname"], j["_class"]) for j in every],
        [("app", FREESTYLE_JOB), ("pipelines", FOLDER), ("pipelines/deploy", WORKFLOW_JOB)],
    )
    expect("jobs_count", server.jobs_count(), 3)
    expect("get_job_name app", server.get_job_name("app"), "app")
    expect("get_job_name nope", server.get_job_name("nope"), None)
    expect("job_exists pipelines/deploy", server.job_exists("pipelines/deploy"), True)
    server.assert_job_exists("app")
    expect("is_folder pipelines", server.is_folder("pipelines"), True)
    expect("is_folder app", server.is_folder("app"), False)

    app = server.get_job_info("app")
    expect("get_job_info app _class", app["_class"], FREESTYLE_JOB)
    expect("get_job_info app fullName", app["fullName"], "app")
    expect("get_job_info app builds", [b["number"] for b in app["builds"]], [12, 11, 10])
    expect("get_job_info app builds _class", {b["_class"] for b in app["builds"]}, {FREESTYLE_BUILD})
    expect("get_job_info app lastBuild", app["lastBuild"]["number"], 12)
    expect("get_job_info app firstBuild", app["firstBuild"]["number"], 10)
    expect("get_job_info app lastCompletedBuild", app["lastCompletedBuild"]["number"], 11)
    expect("get_job_info app lastSuccessfulBuild", app["lastSuccessfulBuild"]["number"], 11)
    expect("get_job_info app lastFailedBuild", app["lastFailedBuild"]["number"], 10)
    expect("get_job_info app nextBuildNumber", app["nextBuildNumber"], 13)
    expect("get_job_info app inQueue", app["inQueue"], True)
    expect("get_job_info app queueItem", app["queueItem"]["id"], 101)
    expect("get_job_info app labelExpression", app["labelExpression"], "linux && docker")
    all_builds = server.get_job_info("app", fetch_all_builds=True)
    expect("get_job_info fetch_all_builds", [b["number"] for b in all_builds["builds"]], [12, 11, 10])

    deploy = server.get_job_info("pipelines/deploy")
    expect("get_job_info deploy _class", deploy["_class"], WORKFLOW_JOB)
    expect("get_job_info deploy fullName", deploy["fullName"], "pipelines/deploy")
    expect("get_job_info deploy lastBuild", deploy["lastBuild"], {"_class": WORKFLOW_RUN, "number": 8, "url": root + "job/pipelines/job/deploy/8/"})
    expect("get_job_info deploy builds _class", [b["_class"] for b in deploy["builds"]], [WORKFLOW_RUN, WORKFLOW_RUN])
    expect("get_job_info deploy lastFailedBuild", deploy["lastFailedBuild"]["number"], 7)
    folder = server.get_job_info("pipelines")
    expect("get_job_info pipelines jobs", [(j["name"], j["_class"]) for j in folder["jobs"]], [("deploy", WORKFLOW_JOB)])
    regex = server.get_job_info_regex("^dep", folder_depth=1)
    expect("get_job_info_regex ^dep", [j["fullName"] for j in regex], ["pipelines/deploy"])

    # --- builds -------------------------------------------------------------------
    running_app = server.get_build_info("app", 12)
    expect("get_build_info app #12 _class", running_app["_class"], FREESTYLE_BUILD)
    expect("get_build_info app #12 building", running_app["building"], True)
    expect("get_build_info app #12 inProgress", running_app["inProgress"], True)
    expect("get_build_info app #12 result", running_app["result"], None)
    expect("get_build_info app #12 builtOn", running_app["builtOn"], "linux-1")
    expect("get_build_info app #12 queueId", running_app["queueId"], 90)
    expect("get_build_info app #12 url", running_app["url"], root + "job/app/12/")
    expect("get_build_info app #12 timestamp", running_app["timestamp"], 1763800060000)
    finished_app = server.get_build_info("app", 11)
    expect("get_build_info app #11 building", finished_app["building"], False)
    expect("get_build_info app #11 inProgress", finished_app["inProgress"], False)
    expect("get_build_info app #11 result", finished_app["result"], "SUCCESS")
    expect("get_build_info app #11 builtOn", finished_app["builtOn"], "linux-1")
    expect("get_build_info app #11 duration", finished_app["duration"], 42000)
    running_deploy = server.get_build_info("pipelines/deploy", 8)
    expect("get_build_info deploy #8 _class", running_deploy["_class"], WORKFLOW_RUN)
    expect("get_build_info deploy #8 building", running_deploy["building"], True)
    expect("get_build_info deploy #8 fullDisplayName", running_deploy["fullDisplayName"], "pipelines » deploy #8")
    expect("get_build_info deploy #8 has no builtOn", "builtOn" in running_deploy, False)
    finished_deploy = server.get_build_info("pipelines/deploy", 7)
    expect("get_build_info deploy #7 _class", finished_deploy["_class"], WORKFLOW_RUN)
    expect("get_build_info deploy #7 result", finished_deploy["result"], "FAILURE")
    expect("get_build_info deploy #7 has no builtOn", "builtOn" in finished_deploy, False)
    try:
        server.get_build_info("app", 99)
        raise AssertionError("get_build_info app #99: no error for a build that does not exist")
    except jenkins.JenkinsException as e:
        expect("get_build_info app #99", str(e), "job[app] number[99] does not exist")

    expect("get_build_console_output app #11", server.get_build_console_output("app", 11), APP_CONSOLE)
    expect("get_build_console_output deploy #7", server.get_build_console_output("pipelines/deploy", 7), DEPLOY_CONSOLE)
    # A running build's log so far: its cause's line, written in the JVM's language.
    live = server.get_build_console_output("app", 12)
    expect("get_build_console_output app #12 (running)", live, "Gestartet durch Benutzer ci\n")

    # --- triggering ---------------------------------------------------------------
    # `app` already has an equal item (101) in the queue: Jenkins merges into it and names
    # it (Queue.schedule2; `build` answers 201 with the existing item for a job without
    # parameters). A Pipeline's queued `node` block is another task, so `pipelines/deploy`
    # gets a new item.
    merged = server.build_job("app")
    expect("build_job app merges into its queued item", merged, 101)
    queued = server.build_job("pipelines/deploy")
    expect_true("build_job pipelines/deploy queue id", queued > 102, queued)
    item = server.get_queue_item(queued)
    expect("build_job pipelines/deploy queued item", item["id"], queued)
    expect_true("build_job pipelines/deploy queued task", item["task"]["name"].endswith("deploy"), item["task"])

    print("python-jenkins %s: %d checks passed" % (importlib.metadata.version("python-jenkins"), checks))


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit("usage: jenkins_client.py URL USER API_TOKEN")
    try:
        main(*sys.argv[1:])
    except Exception:
        traceback.print_exc()
        print("FAILED after %d checks" % checks, file=sys.stderr)
        sys.exit(1)
