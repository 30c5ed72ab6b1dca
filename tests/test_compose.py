"""The classroom topology of docker-compose.yml, proven without Docker.

Docker cannot run here (nor on CI), so this reads docker-compose.yml and the config
files it mounts, and starts the same server and Sentinel configurations on the kit's
own engines, with ports remapped to free local ones. Then it checks that the replica
really replicates and that the Sentinels really fail over when the primary dies.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import redis
import yaml
from helpers import wait_until

from jwtlab import servers

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]

# Directives about the container's network and disk: replaced by the kit's own
# (127.0.0.1, a free port, a temporary directory) when run locally.
NETWORK = {"bind", "protected-mode", "port", "dir", "replicaof"}


def _mounted_config(service: dict) -> Path:
    """The host-side file of the service's read-only .conf mount."""
    for volume in service["volumes"]:
        host = volume.split(":")[0]
        if host.endswith(".conf"):
            return ROOT / host
    raise AssertionError(f"no .conf mounted in {service}")


def _directives(path: Path) -> list[tuple[str, str]]:
    lines = [line.strip() for line in path.read_text().splitlines()]
    pairs = []
    for line in lines:
        if line and not line.startswith("#"):
            name, _, value = line.partition(" ")
            pairs.append((name, value.strip()))
    return pairs


def _by_role() -> dict[str, list[str]]:
    roles: dict[str, list[str]] = {
        "primary": [],
        "replica": [],
        "sentinel": [],
        "lab": [],
        "chat": [],
        "cluster-chat": [],
    }
    for name, service in SERVICES.items():
        if "serve" in service.get("command", []):  # the web app: chat profile, or cluster's
            roles["cluster-chat" if "cluster" in service["profiles"] else "chat"].append(name)
            continue
        if service.get("profiles"):  # started only on request: the cluster profile, below
            continue
        if "build" in service:
            roles["lab"].append(name)
        elif "--sentinel" in " ".join(service["command"]):
            roles["sentinel"].append(name)
        elif any(n == "replicaof" for n, _ in _directives(_mounted_config(service))):
            roles["replica"].append(name)
        else:
            roles["primary"].append(name)
    return roles


ROLES = _by_role()


def test_the_topology_is_a_primary_a_replica_three_sentinels_and_the_lab():
    assert [len(ROLES[r]) for r in ("primary", "replica", "sentinel", "lab")] == [1, 1, 3, 1]


def test_images_are_official_and_pinned_with_a_one_line_switch_to_valkey():
    image = SERVICES[ROLES["primary"][0]]["image"]
    match = re.fullmatch(r"\$\{REDIS_IMAGE:-(redis:\d+\.\d+\.\d+)\}", image)
    assert match, f"{image}: expected ${{REDIS_IMAGE:-redis:X.Y.Z}}"
    for name in ROLES["primary"] + ROLES["replica"] + ROLES["sentinel"]:
        assert SERVICES[name]["image"] == image, name
    text = (ROOT / "docker-compose.yml").read_text()
    assert re.search(r"REDIS_IMAGE=valkey/valkey:\d+\.\d+\.\d+ docker compose up", text)


def test_the_lab_is_built_here_and_points_at_the_primary():
    lab = SERVICES[ROLES["lab"][0]]
    assert (ROOT / "Dockerfile").exists()
    primary = ROLES["primary"][0]
    assert lab["environment"]["REDIS_URL"] == f"redis://{primary}:6379/0"


def test_the_lab_container_opens_the_student_edition_kept_on_the_host(tmp_path):
    lab = SERVICES[ROLES["lab"][0]]
    assert "./student:/home/student/jwtlab/student" in lab["volumes"]
    cmd = next(
        json.loads(line.removeprefix("CMD "))
        for line in (ROOT / "Dockerfile").read_text().splitlines()
        if line.startswith("CMD ")
    )
    write, launch = cmd[-1].split(" && ")
    assert "--notebook-dir=student" in launch.split()
    # The container's first step, run here as it runs there (its working directory holds
    # notebooks/): it writes the student edition, and a second start keeps a student's edit.
    (tmp_path / "notebooks").symlink_to(ROOT / "notebooks")
    python_argv = [sys.executable, *write.split()[1:]]
    subprocess.run(python_argv, cwd=tmp_path, check=True, capture_output=True)
    first = tmp_path / "student" / "08-jwt-anatomy.ipynb"
    assert "### BEGIN SOLUTION" not in first.read_text()
    first.write_text(first.read_text().replace("JWT", "JWT (my notes)", 1))
    subprocess.run(python_argv, cwd=tmp_path, check=True, capture_output=True)
    assert "JWT (my notes)" in first.read_text()


def test_two_chat_apps_share_the_primary_the_members_file_and_the_key():
    chats = [SERVICES[name] for name in ROLES["chat"]]
    assert len(chats) == 2, "the live chat runs as two app processes (notebook 14)"

    def option(service, flag):
        return service["command"][service["command"].index(flag) + 1]

    primary = ROLES["primary"][0]
    for service in chats:
        assert option(service, "--redis-url") == f"redis://{primary}:6379/0"
        assert service["command"][:2] == ["jwtlab", "serve"] and "chat" in service["profiles"]
    assert len({option(service, "--db") for service in chats}) == 1
    assert len({service["environment"]["JWTLAB_SECRET"] for service in chats}) == 1
    host_ports = {service["ports"][0] for service in chats}
    assert len(host_ports) == 2 and all(p.startswith("127.0.0.1:") for p in host_ports)


def test_the_replica_follows_the_primary_by_its_service_name():
    replica = dict(_directives(_mounted_config(SERVICES[ROLES["replica"][0]])))
    assert replica["replicaof"] == f"{ROLES['primary'][0]} 6379"


def test_each_sentinel_runs_from_a_writable_copy_of_the_template():
    for name in ROLES["sentinel"]:
        command = " ".join(SERVICES[name]["command"])
        copy = re.search(r"cp (\S+) (\S+) &&", command)
        assert copy, command
        assert f"{copy.group(2)} --sentinel" in command
        writable = [v for v in SERVICES[name]["volumes"] if not v.endswith(":ro")]
        assert any(copy.group(2).startswith(v.split(":")[1]) for v in writable), name


def _server_directives(role: str) -> dict[str, str]:
    pairs = _directives(_mounted_config(SERVICES[ROLES[role][0]]))
    return {name: value for name, value in pairs if name not in NETWORK}


def _sentinel_settings() -> dict:
    pairs = _directives(_mounted_config(SERVICES[ROLES["sentinel"][0]]))
    settings = {}
    for name, value in pairs:
        if name != "sentinel":
            continue
        words = value.split()
        if words[0] == "monitor":
            settings["master_name"], settings["quorum"] = words[1], int(words[4])
            assert words[2] == ROLES["primary"][0], "Sentinels monitor the primary service"
        elif words[0] == "down-after-milliseconds":
            settings["down_after_ms"] = int(words[2])
        elif words[0] == "failover-timeout":
            settings["failover_timeout_ms"] = int(words[2])
    return settings


def test_primary_and_replica_share_their_settings():
    assert _server_directives("primary") == _server_directives("replica")


@pytest.mark.slow
def test_the_compose_configuration_replicates_and_fails_over(engine):
    directives = _server_directives("primary")
    with servers.replication(replicas=len(ROLES["replica"]), engine=engine, **directives) as rep:
        primary = rep.primary.client()
        assert primary.config_get("appendonly")["appendonly"] == "yes"
        primary.set("lesson", "replication")
        rep.wait_for_sync()
        assert rep.replicas[0].client().get("lesson") == "replication"

        settings = _sentinel_settings()
        with servers.sentinels(rep, count=len(ROLES["sentinel"]), **settings) as group:
            assert group.wait_for_primary(rep.primary.port) == rep.primary.port
            old = rep.primary.port
            rep.primary.kill()
            timeout = settings["down_after_ms"] / 1000 + settings["failover_timeout_ms"] / 1000
            new = group.wait_for_primary(not_port=old, timeout=timeout)
            promoted = rep.primary  # the set follows what the Sentinels decided
            assert promoted.port == new
            wait_until(lambda: promoted.client().info("replication")["role"] == "master")
            promoted.client().set("after", "failover")
            assert promoted.client().get("lesson") == "replication"


# ------------------------------------------------------------- the cluster profile

CLUSTER_NODES = [
    n for n, s in SERVICES.items() if "cluster" in s.get("profiles", ()) and "-node-" in n
]
CLUSTER_CREATE = SERVICES["cluster-create"]
# Directives about the container's network, disk and name: the kit sets its own.
CLUSTER_NETWORK = NETWORK | {"cluster-enabled", "cluster-config-file"}


def test_the_cluster_profile_is_six_nodes_of_one_config_each_announcing_its_name():
    assert len(CLUSTER_NODES) == 6
    image = SERVICES[ROLES["primary"][0]]["image"]
    volumes = set()
    for name in CLUSTER_NODES:
        service = SERVICES[name]
        assert service["image"] == image and service["profiles"] == ["cluster"], name
        assert _mounted_config(service).name == "redis-cluster.conf"
        assert " ".join(service["command"]).endswith(f"--cluster-announce-hostname {name}")
        data = [v for v in service["volumes"] if v.endswith(":/data")]
        assert len(data) == 1, name
        volumes.add(data[0])
    assert len(volumes) == 6, "each node keeps its data and nodes.conf in its own volume"
    conf = dict(_directives(ROOT / "compose" / "redis-cluster.conf"))
    assert conf["cluster-enabled"] == "yes" and conf["cluster-config-file"].startswith("/data/")


def test_the_create_job_joins_all_six_once_and_is_a_no_op_after():
    assert CLUSTER_CREATE["profiles"] == ["cluster"] and CLUSTER_CREATE["restart"] == "no"
    assert sorted(CLUSTER_CREATE["depends_on"]) == sorted(CLUSTER_NODES)
    script = CLUSTER_CREATE["command"][-1]
    create = re.search(r"--cluster create (.+?) --cluster-replicas 1 --cluster-yes", script)
    assert create, script
    assert create.group(1).split() == [f"{n}:6379" for n in CLUSTER_NODES]
    assert "cluster_state:ok" in script.split("--cluster create")[0], "skips an existing one"


def test_the_cluster_profile_serves_the_app_on_the_cluster_once_it_exists():
    (name,) = ROLES["cluster-chat"]
    service = SERVICES[name]
    command = service["command"]
    assert command[:2] == ["jwtlab", "serve"] and service["profiles"] == ["cluster"]
    url = command[command.index("--redis-url") + 1]
    assert url == f"redis+cluster://{CLUSTER_NODES[0]}:6379"
    assert service["depends_on"] == {
        "cluster-create": {"condition": "service_completed_successfully"}
    }
    chat_files = {
        s["command"][s["command"].index("--db") + 1] for s in map(SERVICES.get, ROLES["chat"])
    }
    assert command[command.index("--db") + 1] not in chat_files, "a namespace of its own"
    host_ports = {p for n in ROLES["chat"] + [name] for p in SERVICES[n]["ports"]}
    assert len(host_ports) == 3, "each app on its own host port"


def _cluster_directives() -> dict[str, str]:
    pairs = _directives(ROOT / "compose" / "redis-cluster.conf")
    return {name: value for name, value in pairs if name not in CLUSTER_NETWORK}


@pytest.mark.slow
def test_the_cluster_configuration_serves_redirects_by_name_and_fails_over(engine):
    directives = _cluster_directives()
    # Each container announces its service name; here every node's name is 127.0.0.1.
    directives["cluster-announce-hostname"] = "127.0.0.1"
    with servers.cluster(primaries=3, replicas_per_primary=1, engine=engine, **directives) as cl:
        node = cl.nodes[0]
        settings = node.client().config_get("*")
        assert settings["cluster-node-timeout"] == directives["cluster-node-timeout"]
        assert settings["cluster-preferred-endpoint-type"] == "hostname"
        assert settings["appendonly"] == "yes"
        client = cl.client()
        client.set("{compose}:lesson", "cluster")
        victim = cl.node_for_key("{compose}:lesson")
        stranger = next(n for n in cl.primaries if n is not victim)
        with pytest.raises(redis.exceptions.MovedError) as caught:
            stranger.client().get("{compose}:lesson")
        assert (caught.value.host, caught.value.port) == ("127.0.0.1", victim.port)
        assert victim.client().execute_command("WAIT", 1, 5000) == 1
        cl.kill(victim)
        cl.wait_for_ok(timeout=60)
        assert client.get("{compose}:lesson") == "cluster"
