#!/usr/bin/env python3
"""What one publish-workload poll of a large TeamCity costs the server: requests and bytes.

A fake TeamCity with AGENTS agents in POOLS pools and QUEUED queued builds over
CONFIGURATIONS build configurations (issue 17: 500, 5, 1000, 20). "after" is the real
`publish-workload --dry-run` binary polling once (its requests, as the fake recorded
them, replayed to measure their answers); "before" is the poll ci-fleet made until issue
17: the agent list plus the queue with every queued build's `compatibleAgents(agent(id))`.

usage: teamcity_poll_cost.py FAKE_CI_BIN PUBLISH_WORKLOAD_BIN
"""

import json
import os
import subprocess
import sys
import tempfile
import urllib.parse
import urllib.request

AGENTS, POOLS, QUEUED, CONFIGURATIONS, PAGE = 500, 5, 1000, 20, 1000
TOKEN = "bench-token"
AGENT_FIELDS = (
    "count,nextHref,agent(id,name,connected,enabled,authorized,pool(id,name),build(id),"
    "enabledInfo(comment(text)))"
)
OLD_QUEUE_FIELDS = (
    "count,nextHref,build(id,buildTypeId,state,queuedDate,waitReason,"
    "agent(id,pool(id,name)),compatibleAgents(agent(id)))"
)


def state(anywhere):
    pools = [f"pool-{p}" for p in range(POOLS)]
    agents = [
        {
            "name": f"agent-{i}",
            "pool": pools[i % POOLS],
            # Every agent busy: each queued build waits for an agent and is demand.
            "running": [{"job": "Busy", "number": i + 1}],
        }
        for i in range(AGENTS)
    ]
    # Each configuration runs in one pool, except every fifth, which any pool can run
    # (those builds list every agent as compatible); `anywhere`: every configuration can
    # run on every agent, the worst case of issue 17.
    def config_pools(c):
        return pools if anywhere or c % 5 == 0 else [pools[c % POOLS]]

    queue = [
        {"id": 10_000 + i, "job": f"Config_{i % CONFIGURATIONS}",
         "pools": config_pools(i % CONFIGURATIONS)}
        for i in range(QUEUED)
    ]
    return {"teamcity_tokens": [TOKEN], "page_size": PAGE, "agents": agents, "queue": queue}


def get(base, path_and_query, auth=True):
    request = urllib.request.Request(base + path_and_query)
    request.add_header("Accept", "application/json")
    if auth:
        request.add_header("Authorization", f"Bearer {TOKEN}")
    with urllib.request.urlopen(request, timeout=120) as answer:
        return answer.read()


def cost(base, first_paths):
    """Requests and bytes of reading each path and every page after it."""
    requests, size = 0, 0
    for path in first_paths:
        while path:
            body = get(base, path)
            requests += 1
            size += len(body)
            path = json.loads(body).get("nextHref")
    return requests, size


def before(base):
    q = urllib.parse.quote
    return cost(base, [
        f"/app/rest/agents?locator={q(f'defaultFilter:false,count:{PAGE}')}&fields={q(AGENT_FIELDS)}",
        f"/app/rest/buildQueue?locator={q(f'count:{PAGE}')}&fields={q(OLD_QUEUE_FIELDS)}",
    ])


def after(base, publish_workload):
    get(base, "/_fake/requests", auth=False)
    urllib.request.urlopen(urllib.request.Request(base + "/_fake/requests", method="DELETE"))
    pools = [{"name": f"pool-{p}", "ci_label": f"pool-{p}", "asg": f"asg-{p}",
              "executors_per_instance": 1} for p in range(POOLS)]
    env = dict(os.environ, CI_KIND="teamcity", CI_URL=base, CI_TOKEN=TOKEN,
               POOLS=json.dumps(pools), POLL_WINDOW_SECONDS="0", CI_PAGE_SIZE=str(PAGE),
               AWS_REGION="us-east-1", AWS_EC2_METADATA_DISABLED="true",
               AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench",
               AWS_ENDPOINT_URL="http://127.0.0.1:9", RUST_LOG="warn")
    env.pop("AWS_LAMBDA_RUNTIME_API", None)
    env.pop("CI_USER", None)
    out = subprocess.run([publish_workload, "--dry-run"], env=env, capture_output=True,
                         text=True, timeout=300)
    if out.returncode != 0:
        sys.exit(f"publish-workload --dry-run failed:\n{out.stderr}")
    recorded = json.loads(get(base, "/_fake/requests", auth=False))
    size = 0
    for r in recorded:
        query = f"?{r['query']}" if r.get("query") else ""
        size += len(get(base, r["path"] + query))
    return len(recorded), size, json.loads(out.stdout)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    fake_bin, publish_workload = sys.argv[1], sys.argv[2]
    for anywhere in (False, True):
        measure(fake_bin, publish_workload, anywhere)


def measure(fake_bin, publish_workload, anywhere):
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(state(anywhere), f)
        state_file = f.name
    fake = subprocess.Popen([fake_bin, "--kind", "teamcity", "--state", state_file],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        line = fake.stdout.readline().strip()
        if not line.startswith("listening on "):
            sys.exit(f"fake-ci did not start: {line!r}")
        base = line.removeprefix("listening on ")
        shape = "every configuration on every agent" if anywhere else \
            "16 configurations on one pool, 4 on every agent"
        print(f"TeamCity: {AGENTS} agents in {POOLS} pools, {QUEUED} queued builds over "
              f"{CONFIGURATIONS} configurations ({shape}), page size {PAGE}", flush=True)
        old_requests, old_bytes = before(base)
        print(f"  before (per-build compatibleAgents): {old_requests} requests, "
              f"{old_bytes / 1e6:.2f} MB", flush=True)
        new_requests, new_bytes, response = after(base, publish_workload)
        print(f"  after  (per-configuration compatibility): {new_requests} requests, "
              f"{new_bytes / 1e6:.3f} MB ({old_bytes / max(new_bytes, 1):.0f}x fewer bytes)")
        queued = sum(p["queued_builds"] for p in response["polls"][0]["pools"])
        print(f"  queued builds attributed by the poll: {queued} of {QUEUED}", flush=True)
    finally:
        fake.terminate()
        fake.wait()
        os.unlink(state_file)

if __name__ == "__main__":
    main()
