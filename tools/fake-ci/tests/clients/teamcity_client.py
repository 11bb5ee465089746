"""dohq-teamcity, a client written against real TeamCity, run against the fake TeamCity.

Usage: teamcity_client.py URL TOKEN

The fake must hold the state tools/fake-ci/tests/teamcity_client.rs seeds (see WORLD
there). Every call checks what it answers, not only that it answers; the first failure
exits non-zero with a line naming the call. dohq-teamcity 1.0.10 (pinned in
infra/local/requirements.lock) sends Accept and Content-Type application/json on every
request; the single-field resources TeamCity produces and consumes only as text/plain are
called with those headers switched, as a user of the client must against a real server.
"""

import contextlib
import sys

from dohq_teamcity import TeamCity
from dohq_teamcity.models import Comment, EnabledInfo
from dohq_teamcity.rest import ApiException


def connect(url, token):
    tc = TeamCity(url, auth_settings=["Token"])
    tc.configuration.api_key["Token"] = token
    tc.configuration.api_key_prefix["Token"] = "Bearer"
    tc.configuration.active_api_key = "Token"
    return tc


@contextlib.contextmanager
def text_plain(tc):
    """TeamCity's field resources: @Produces/@Consumes("text/plain") (AgentRequest)."""
    saved = dict(tc.default_headers)
    tc.default_headers["Accept"] = "text/plain"
    tc.default_headers["Content-Type"] = "text/plain"
    try:
        yield
    finally:
        tc.default_headers.clear()
        tc.default_headers.update(saved)


def check(what, actual, expected):
    if actual != expected:
        raise AssertionError(f"{what}: expected {expected!r}, got {actual!r}")


def refused(what, status, call):
    try:
        call()
    except ApiException as e:
        check(f"{what} status", e.status, status)
        return e
    raise AssertionError(f"{what}: expected HTTP {status}, the call succeeded")


def names(agents):
    return [a.name for a in (agents.agent or [])]


def server(tc):
    info = tc.server.get_server_info()
    check("server versionMajor", info.version_major, 2025)
    check("server agents href", info.agents.href, "/app/rest/agents")
    check("server buildQueue href", info.build_queue.href, "/app/rest/buildQueue")
    with text_plain(tc):
        check("server version", tc.server.get_server_version("version"), "2025.03.3 (build 186370)")


def agents(tc):
    default = tc.agents.get_agents()
    check("agents (authorized by default)", names(default), ["busy", "idle", "drained", "gone", "win"])
    check("agents count", default.count, 5)
    every = tc.agents.get_agents(locator="defaultFilter:false", fields="count,agent(id,name,connected,enabled,authorized,pool(name))")
    check("agents defaultFilter:false", names(every), ["busy", "idle", "drained", "gone", "win", "stranger"])
    check("agent pools", [a.pool.name for a in every.agent], ["Linux", "Linux", "Linux", "Linux", "Windows", "Default"])
    check("connected", [a.connected for a in every.agent], [True, True, True, False, True, True])
    check("authorized", [a.authorized for a in every.agent], [True, True, True, True, True, False])
    connected = tc.agents.get_agents(locator="connected:true,enabled:true")
    check("connected enabled agents", names(connected), ["busy", "idle", "win"])

    busy = tc.agents.get("name:busy")
    check("busy agent id", busy.id, 1)
    check("busy agent enabled", busy.enabled, True)
    check("busy agent pool", (busy.pool.id, busy.pool.name), (1, "Linux"))
    check("busy agent build", (busy.build.id, busy.build.build_type_id, busy.build.state), (501, "App_Build", "running"))
    idle = tc.agents.get("id:2")
    check("idle agent", (idle.name, idle.build), ("idle", None))

    drained = tc.agents.get_enabled_info("name:drained")
    check("drained enabledInfo status", drained.status, False)
    check("drained enabledInfo comment", drained.comment.text, "recycling i-0abc")
    info = tc.agents.set_enabled_info(
        "name:idle", body=EnabledInfo(status=False, comment=Comment(text="spot interruption warning"))
    )
    check("disable with comment: status", info.status, False)
    check("disable with comment: text", info.comment.text, "spot interruption warning")
    check("disable with comment: user", info.comment.user.username, "admin")
    check("idle now disabled", tc.agents.get("name:idle").enabled, False)
    with text_plain(tc):
        # The client reads every answer as JSON first, so the text false comes back as
        # Python's False, printed ("False").
        check("enabled field", str(tc.agents.get_agent_field("name:idle", "enabled")).lower(), "false")
        check("enable via field", str(tc.agents.set_agent_field("name:idle", "enabled", body="true")).lower(), "true")
    check("idle enabled again", tc.agents.get("name:idle").enabled, True)

    refused("agent by unknown name", 404, lambda: tc.agents.get("name:nobody"))
    # DELETE /app/rest/agents/<locator>: AgentRequest.deleteAgent returns nothing (204).
    check("delete a disconnected agent", tc.agents.delete_agent("name:gone"), None)
    refused("deleted agent", 404, lambda: tc.agents.get("name:gone"))
    refused("delete a connected agent", 500, lambda: tc.agents.delete_agent("name:win"))
    check("win kept its id", tc.agents.get("name:win").id, 5)


def agent_pools(tc):
    pools = tc.agent_pools.get_pools()
    check("pools", [(p.id, p.name) for p in pools.agent_pool], [(0, "Default"), (1, "Linux"), (2, "Windows")])
    linux = tc.agent_pools.get("name:Linux")
    check("Linux pool id", linux.id, 1)
    check("Linux pool agents", names(linux.agents), ["busy", "idle", "drained"])
    members = tc.agent_pools.get_pool_agents("id:1", fields="count,agent(name,enabled)")
    check("pool agents", names(members), ["busy", "idle", "drained"])
    check("pool agents enabled", [a.enabled for a in members.agent], [True, True, False])
    enabled = tc.agent_pools.get_pool_agents("id:1", locator="enabled:true")
    check("pool agents filtered", names(enabled), ["busy", "idle"])
    refused("unknown pool", 404, lambda: tc.agent_pools.get("name:Mac"))


def build_queue(tc):
    queue = tc.build_queues.get_builds()
    check("queue ids", [b.id for b in queue.build], [601, 602, 603])
    check("queue build types", [b.build_type_id for b in queue.build], ["App_Test", "App_Build", "App_Db"])
    detailed = tc.build_queues.get_builds(
        fields="count,build(id,waitReason,compatibleAgents(count,agent(id,name)))"
    )
    check("queued count", detailed.count, 3)
    first, held, locked = detailed.build
    check("waiting for an agent", first.wait_reason, "There are no idle compatible agents which can run this build")
    check("held by the running-builds limit", held.wait_reason.startswith("The limit of 1 simultaneously running builds"), True)
    check("held by a shared-resource lock", locked.wait_reason.startswith("Waiting for a lock on the shared resource 'TestDb'"), True)
    check("nested compatible agents", names(first.compatible_agents), ["busy", "idle"])

    one = tc.build_queues.get_build("id:602")
    check("queued build", (one.id, one.state, one.build_type_id), (602, "queued", "App_Build"))
    check("queued build compatibleAgents href", one.compatible_agents.href, "/app/rest/agents?locator=compatible:(build:(id:602))")
    # GET /app/rest/buildQueue/<locator>/compatibleAgents (BuildQueueRequest.serveCompatibleAgents).
    compatible = tc.build_queues.get_compatible_agents("id:602")
    check("compatibleAgents of a queued build", names(compatible), names(first.compatible_agents))
    check("compatibleAgents count", compatible.count, 2)
    check("compatibleAgents ids", [a.id for a in compatible.agent], [1, 2])
    check("compatibleAgents href (no pager)", compatible.href, None)
    started = tc.build_queues.get_build("id:501")
    check("a started build through the queue", (started.id, started.state), (501, "running"))
    refused("compatibleAgents of a started build", 404, lambda: tc.build_queues.get_compatible_agents("id:501"))
    refused("unknown queued build", 404, lambda: tc.build_queues.get_build("id:999"))


def builds(tc):
    running = tc.builds.get_all_builds(locator="running:true")
    check("running builds", [(b.id, b.state) for b in running.build], [(501, "running")])
    finished = tc.builds.get_all_builds(fields="count,build(id,buildTypeId,status,agent(name))")
    check("finished builds", [(b.id, b.status, b.agent.name) for b in finished.build], [(401, "FAILURE", "busy")])
    build = tc.builds.get("id:401")
    check("finished build", (build.id, build.state, build.status, build.build_type_id), (401, "finished", "FAILURE", "App_Test"))
    running_build = tc.builds.get("id:501")
    check("running build agent", running_build.agent.name, "busy")
    check("running build progress", running_build.percentage_complete, 40)


def main():
    if len(sys.argv) != 3:
        print("usage: teamcity_client.py URL TOKEN", file=sys.stderr)
        return 2
    tc = connect(sys.argv[1], sys.argv[2])
    for step in (server, agents, agent_pools, build_queue, builds):
        try:
            step(tc)
        except (AssertionError, ApiException) as e:
            print(f"{step.__name__}: {e}", file=sys.stderr)
            return 1
        print(f"{step.__name__}: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
