#!/usr/bin/env python3
"""Checks the container files on a machine without a Docker engine (docs/deployment.md).

    npm run check:image          # python3 scripts/check-image.py [--keep] [--static-only]

1. Reads the Dockerfile: two stages or more with pinned images, a runtime stage that copies
   only from the build stage, runs as a non-root USER, listens on HOST=0.0.0.0, keeps DATA_DIR
   on a VOLUME, has a HEALTHCHECK on /health/ready and CMD ["node", "dist/main.js"].
2. Reads docker-compose.yml (PyYAML): EventStoreDB and PostgreSQL with healthchecks, two or
   more `api` instances and a `projector` built from the Dockerfile, with their store settings,
   one token secret for all, and depends_on conditions on services that report health.
3. Replays the Dockerfile in a temporary folder: the build context (tracked and untracked files
   minus .dockerignore), each stage's COPY, each `RUN npm ...` (npm ci, build, prune), the
   runtime stage's COPY --from; then starts its CMD with a temporary DATA_DIR on a free port,
   waits for /health/ready to answer 200, runs the HEALTHCHECK command itself, runs the CLI
   from the pruned copy, stops the service with SIGTERM and expects exit 0. The compose
   services' settings are validated by the pruned copy's own configuration loader.

Steps that need a Docker engine (base images, apt-get, file ownership, Compose itself, nginx,
the database containers) are named at the end as not checked. Exit 0 when every check passes;
otherwise each failure says what to change.
"""
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOCKERFILE = os.path.join(ROOT, "Dockerfile")
DOCKERIGNORE = os.path.join(ROOT, ".dockerignore")
COMPOSE = os.path.join(ROOT, "docker-compose.yml")
READY_TIMEOUT_S = 60
STOP_TIMEOUT_S = 20
# Paths that must never reach the build context: local stores and secrets, host builds.
MUST_BE_IGNORED = ["data/jwt-secret", "node_modules/pg/package.json", "dist/main.js", ".git/HEAD",
                   ".env", "coverage/index.html"]
# Settings that must be the same on every instance of the app for them to work together.
SHARED_SETTINGS = ["EVENT_STORE", "EVENTSTORE_CONNECTION_STRING", "READ_MODEL_STORE", "KEY_STORE",
                   "DATABASE_URL", "AUTH_JWT_SECRET", "AUTH_JWKS_URL"]


class CheckFailed(Exception):
    """A check that failed; the message says what to change."""


def say(text):
    print(text, flush=True)


# ---------------------------------------------------------------------------------------------
# Dockerfile


class Stage:
    def __init__(self, index, image, name, parent):
        self.index = index
        self.image = image  # the FROM argument
        self.name = name or str(index)
        self.parent = parent  # an earlier Stage when FROM names one, else None
        self.instructions = []  # (line, KEYWORD, arguments)

    def chain(self):
        """This stage's instructions preceded by those of the stages it is built on."""
        return (self.parent.chain() if self.parent else []) + self.instructions

    def state(self):
        """WORKDIR, ENV, USER, EXPOSE, VOLUME, HEALTHCHECK and CMD as the stage ends up."""
        state = {"workdir": "/", "env": {}, "user": None, "expose": [], "volumes": [],
                 "healthcheck": None, "cmd": None}
        for line, keyword, args in self.chain():
            if keyword == "WORKDIR":
                state["workdir"] = os.path.normpath(os.path.join(state["workdir"], args))
            elif keyword == "ENV":
                state["env"].update(parse_env(args, line))
            elif keyword == "USER":
                state["user"] = args.strip()
            elif keyword == "EXPOSE":
                state["expose"] += [port.split("/")[0] for port in args.split()]
            elif keyword == "VOLUME":
                state["volumes"] += json.loads(args) if args.startswith("[") else args.split()
            elif keyword == "HEALTHCHECK":
                state["healthcheck"] = parse_healthcheck(args, line)
            elif keyword == "CMD":
                state["cmd"] = (line, args)
        return state


def read_dockerfile(path):
    """The Dockerfile's stages: continuation lines joined, comments dropped."""
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    instructions, pending, start = [], "", 0
    for number, raw in enumerate(lines, 1):
        if raw.strip().startswith("#") or (not pending and not raw.strip()):
            continue
        if not pending:
            start = number
        if raw.rstrip().endswith("\\"):
            pending += raw.rstrip()[:-1] + " "
            continue
        text = (pending + raw).strip()
        pending = ""
        keyword, _, args = text.partition(" ")
        instructions.append((start, keyword.upper(), args.strip()))
    stages, by_name = [], {}
    for line, keyword, args in instructions:
        if keyword == "FROM":
            words = [w for w in args.split() if not w.startswith("--")]
            image = words[0]
            name = words[2] if len(words) >= 3 and words[1].upper() == "AS" else None
            stage = Stage(len(stages), image, name, by_name.get(image))
            stages.append(stage)
            by_name[stage.name] = stage
        elif not stages:
            if keyword != "ARG":
                raise CheckFailed(f"Dockerfile line {line}: {keyword} before the first FROM")
        else:
            stages[-1].instructions.append((line, keyword, args))
    return stages, by_name


def parse_env(args, line):
    words = shlex.split(args)
    if words and all("=" in w for w in words):
        return dict(w.split("=", 1) for w in words)
    if len(words) >= 2:  # the legacy `ENV KEY value` form
        return {words[0]: " ".join(words[1:])}
    raise CheckFailed(f"Dockerfile line {line}: cannot read ENV {args!r}")


def parse_exec_form(text, line, what):
    try:
        value = json.loads(text)
    except ValueError:
        value = None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise CheckFailed(
            f"Dockerfile line {line}: write {what} in exec form, a JSON array such as "
            '["node", "dist/main.js"]: the shell form runs /bin/sh as PID 1, which does not pass '
            "SIGTERM on to Node, so a stop would not drain requests")
    return value


def parse_healthcheck(args, line):
    words = args.split()
    if words and words[0].upper() == "NONE":
        return None
    options, rest = {}, args
    while rest.startswith("--"):
        option, _, rest = rest.partition(" ")
        key, _, value = option[2:].partition("=")
        options[key] = value
        rest = rest.lstrip()
    keyword, _, command = rest.partition(" ")
    if keyword.upper() != "CMD":
        raise CheckFailed(f"Dockerfile line {line}: HEALTHCHECK needs CMD")
    command = command.strip()
    argv = (parse_exec_form(command, line, "HEALTHCHECK CMD") if command.startswith("[")
            else ["/bin/sh", "-c", command])
    return {"options": options, "argv": argv, "line": line}


def parse_copy(args, line):
    """COPY's flags and its sources and destination."""
    words = json.loads(args) if args.startswith("[") else shlex.split(args)
    flags = {}
    while words and words[0].startswith("--"):
        key, _, value = words.pop(0)[2:].partition("=")
        flags[key] = value
    if len(words) < 2:
        raise CheckFailed(f"Dockerfile line {line}: COPY needs a source and a destination")
    return flags, words[:-1], words[-1]


def seconds(text):
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|m)?", text or "")
    if not match:
        return None
    return float(match.group(1)) * {"ms": 0.001, "s": 1, "m": 60, None: 1}[match.group(2)]


def check_dockerfile(stages, by_name, failures):
    node_major = subprocess.run(["node", "-p", "process.versions.node.split('.')[0]"],
                                capture_output=True, text=True, check=True).stdout.strip()
    if len(stages) < 2:
        failures.append("Dockerfile: one FROM only. Use a build stage (npm ci, npm run build, "
                        "npm prune --omit=dev) and a runtime stage that copies its output.")
        return
    for stage in stages:
        if stage.parent:
            continue
        image, _, tag = stage.image.partition(":")
        if not tag or tag == "latest" or not re.match(r"\d+", tag):
            failures.append(f"Dockerfile: FROM {stage.image} is not pinned: name a major version "
                            "(e.g. node:20-bookworm-slim), so a rebuild gets the same Node.")
        elif image in ("node", "library/node", "docker.io/library/node") and \
                tag.split(".")[0].split("-")[0] != node_major:
            failures.append(f"Dockerfile: FROM {stage.image} but this machine runs Node "
                            f"{node_major}: the replay below would not test the image's Node. "
                            "Use the same major in both places (package.json engines says which).")
    runtime = stages[-1]
    state = runtime.state()
    ancestors, stage = set(), runtime
    while stage:
        ancestors.add(stage.name)
        stage = stage.parent
    builders = [s for s in stages if s.name not in ancestors]
    run_lines = [args for s in builders for _, k, args in s.chain() if k == "RUN"]
    if not any(re.search(r"\bnpm ci\b", r) for r in run_lines):
        failures.append("Dockerfile: no build stage runs `npm ci`: install from package-lock.json "
                        "there (it also compiles better-sqlite3).")
    if not any(re.search(r"\bnpm (prune|ci)\b.*--omit=dev", r) for r in run_lines):
        failures.append("Dockerfile: no build stage runs `npm prune --omit=dev` (or "
                        "`npm ci --omit=dev`): the runtime stage would ship the devDependencies.")
    for line, keyword, args in runtime.instructions:
        if keyword in ("COPY", "ADD"):
            flags, sources, _ = parse_copy(args, line)
            if keyword == "ADD" or "from" not in flags:
                failures.append(f"Dockerfile line {line}: the runtime stage copies {sources} from "
                                "the build context. Copy only the build stage's output "
                                "(COPY --from=build /app/dist ./dist and the pruned node_modules).")
    user = (state["user"] or "root").split(":")[0]
    if user in ("root", "0"):
        failures.append("Dockerfile: the runtime stage runs as root. Add `USER node` (the node "
                        "images' unprivileged user) after the COPY lines.")
    if state["env"].get("HOST") != "0.0.0.0":
        failures.append("Dockerfile: set ENV HOST=0.0.0.0 in the runtime stage: the service "
                        "listens on 127.0.0.1 by default, which nothing outside the container reaches.")
    port = state["env"].get("PORT", "3000")
    if port not in state["expose"]:
        failures.append(f"Dockerfile: EXPOSE {port} (the PORT the runtime stage listens on).")
    data_dir = state["env"].get("DATA_DIR")
    if not data_dir or data_dir not in state["volumes"]:
        failures.append("Dockerfile: set ENV DATA_DIR=/data and VOLUME [\"/data\"] in the runtime "
                        "stage, so the embedded stores outlive the container.")
    health = state["healthcheck"]
    if not health:
        failures.append("Dockerfile: the runtime stage has no HEALTHCHECK. Add one that asks "
                        "/health/ready with Node's fetch (slim images have no curl).")
    elif "/health/ready" not in " ".join(health["argv"]):
        failures.append(f"Dockerfile line {health['line']}: the HEALTHCHECK should ask /health/ready.")
    if not state["cmd"]:
        failures.append('Dockerfile: the runtime stage has no CMD. Add CMD ["node", "dist/main.js"].')
    else:
        line, args = state["cmd"]
        try:
            if parse_exec_form(args, line, "CMD") != ["node", "dist/main.js"]:
                failures.append(f'Dockerfile line {line}: CMD should be ["node", "dist/main.js"], '
                                "what `npm start` runs after its build.")
        except CheckFailed as error:
            failures.append(str(error))
    return state


# ---------------------------------------------------------------------------------------------
# .dockerignore


def read_dockerignore(path):
    rules = []
    if not os.path.exists(path):
        return rules
    with open(path, encoding="utf-8") as f:
        for raw in f:
            text = raw.strip()
            if not text or text.startswith("#"):
                continue
            negated = text.startswith("!")
            pattern = os.path.normpath(text[1:] if negated else text).lstrip("/")
            rules.append((negated, re.compile(glob_to_regex(pattern)), text))
    return rules


def glob_to_regex(pattern):
    """Docker's pattern syntax: `**` crosses folders, `*` and `?` do not."""
    out, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        elif pattern[i] == "[":
            end = pattern.find("]", i)
            out, i = (out + pattern[i:end + 1], end + 1) if end > 0 else (out + r"\[", i + 1)
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return out


def ignored(rules, path):
    """Whether Docker leaves `path` out of the context: the last matching rule decides, and a
    rule matches a path or any folder it is in."""
    parts = path.split("/")
    candidates = ["/".join(parts[:n]) for n in range(1, len(parts) + 1)]
    result = False
    for negated, regex, _ in rules:
        if any(regex.fullmatch(c) for c in candidates):
            result = not negated
    return result


def context_files():
    """The files a `docker build .` here would see before .dockerignore: tracked and untracked
    ones that git does not ignore (ignored ones, such as data/, are checked separately)."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            cwd=ROOT, capture_output=True, check=True).stdout.decode()
    return sorted({p for p in listed.split("\0") if p and os.path.isfile(os.path.join(ROOT, p))})


# ---------------------------------------------------------------------------------------------
# docker-compose.yml


def interpolate(value):
    """Compose's ${VAR}, ${VAR:-default} and ${VAR:?message} well enough to validate settings:
    a required variable that is unset here gets a placeholder of 40 characters."""
    if not isinstance(value, str):
        return value if value is None else str(value).lower() if isinstance(value, bool) else str(value)

    def replace(match):
        name, op, arg = match.group(1), match.group(2), match.group(3) or ""
        current = os.environ.get(name)
        if op in (":-", "-"):
            return current if current else arg
        if op in (":?", "?"):
            return current if current else "check-image-placeholder-" + "x" * 16
        return current or ""

    return re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}", replace,
                  value).replace("$$", "$")


def environment_of(service):
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, None) for item in env)
    return {k: interpolate(v) for k, v in env.items()}


def replicas_of(service):
    return int(((service.get("deploy") or {}).get("replicas")) or 1)


def builds_dockerfile(service):
    build = service.get("build")
    if isinstance(build, str):
        return os.path.normpath(build) == "."
    if isinstance(build, dict):
        return (os.path.normpath(build.get("context", ".")) == "."
                and build.get("dockerfile", "Dockerfile") == "Dockerfile")
    return False


def check_compose(compose, image_state, failures):
    """The app services (name → environment) once the compose file passes."""
    services = compose.get("services") or {}
    for name in ("eventstoredb", "postgres"):
        if name not in services:
            failures.append(f"docker-compose.yml: no `{name}` service (events go to EventStoreDB, "
                            "read models and keys to PostgreSQL).")
    append_size = interpolate((services.get("eventstoredb", {}).get("environment") or {})
                              .get("EVENTSTORE_MAX_APPEND_SIZE")) or "0"
    if "eventstoredb" in services and int(append_size) < 2 * 1024 * 1024:
        failures.append("docker-compose.yml: eventstoredb needs EVENTSTORE_MAX_APPEND_SIZE of at "
                        "least 2 MiB (2097152): our events may be up to MAX_EVENT_BYTES = 2 MiB.")
    apps = {n: s for n, s in services.items() if "PROCESS_ROLE" in environment_of(s)}
    roles = {}
    for name, service in apps.items():
        role = environment_of(service)["PROCESS_ROLE"]
        roles[role] = roles.get(role, 0) + replicas_of(service)
    if roles.get("api", 0) < 2:
        failures.append("docker-compose.yml: fewer than two instances with PROCESS_ROLE=api "
                        f"(found {roles.get('api', 0)}). Give the api service deploy.replicas: 2.")
    if roles.get("projector", 0) < 1:
        failures.append("docker-compose.yml: no instance with PROCESS_ROLE=projector: nothing "
                        "would keep the read models up to date.")
    unknown = set(roles) - {"all", "api", "projector"}
    if unknown:
        failures.append(f"docker-compose.yml: PROCESS_ROLE must be all, api or projector (got "
                        f"{', '.join(sorted(unknown))}).")
    expected = {"EVENT_STORE": "eventstoredb", "READ_MODEL_STORE": "postgres", "KEY_STORE": "postgres"}
    for name, service in apps.items():
        env = environment_of(service)
        if not builds_dockerfile(service):
            failures.append(f"docker-compose.yml: {name} does not build ./Dockerfile (build: .): "
                            "it would not run the image checked here.")
        for key, value in expected.items():
            if env.get(key) != value:
                failures.append(f"docker-compose.yml: {name} needs {key}={value} (got {env.get(key)}).")
        if "eventstoredb" not in (env.get("EVENTSTORE_CONNECTION_STRING") or ""):
            failures.append(f"docker-compose.yml: {name}'s EVENTSTORE_CONNECTION_STRING should name "
                            "the eventstoredb service, e.g. esdb://eventstoredb:2113?tls=false.")
        if "@postgres:" not in (env.get("DATABASE_URL") or ""):
            failures.append(f"docker-compose.yml: {name}'s DATABASE_URL should name the postgres "
                            "service, e.g. postgres://postgres@postgres:5432/progress.")
        if not env.get("AUTH_JWT_SECRET") and not env.get("AUTH_JWKS_URL"):
            failures.append(f"docker-compose.yml: {name} has neither AUTH_JWT_SECRET nor "
                            "AUTH_JWKS_URL: each instance would generate its own token secret and "
                            "refuse the tokens of the others. Set one shared AUTH_JWT_SECRET.")
        depends = service.get("depends_on") or {}
        for needed in ("eventstoredb", "postgres"):
            condition = depends.get(needed, {}).get("condition") if isinstance(depends, dict) else None
            if condition != "service_healthy":
                failures.append(f"docker-compose.yml: {name} should depend on {needed} with "
                                "condition: service_healthy, or it starts before the store answers.")
        if (service.get("healthcheck") or {}).get("disable"):
            failures.append(f"docker-compose.yml: {name} disables the image's HEALTHCHECK.")
    for setting in SHARED_SETTINGS:
        values = {environment_of(s).get(setting) for s in apps.values()}
        if len(values) > 1:
            failures.append(f"docker-compose.yml: the app services disagree on {setting}; every "
                            "instance must use the same stores and token secret.")
    app_port = str(image_state["env"].get("PORT", "3000")) if image_state else "3000"
    host_ports = {}
    for name, service in services.items():
        for dependency, spec in (service.get("depends_on") or {}).items() \
                if isinstance(service.get("depends_on"), dict) else []:
            target = services.get(dependency)
            if target is None:
                failures.append(f"docker-compose.yml: {name} depends on {dependency}, which is not a service.")
            elif (spec or {}).get("condition") == "service_healthy" and not (
                    (target.get("healthcheck") or {}).get("test") or builds_dockerfile(target)):
                failures.append(f"docker-compose.yml: {name} waits for {dependency} to be healthy, "
                                f"but {dependency} has no healthcheck.")
        for port in service.get("ports") or []:
            published = str(port).rsplit(":", 1)[0] if ":" in str(port) else None
            if published is None:
                continue
            if replicas_of(service) > 1:
                failures.append(f"docker-compose.yml: {name} has {replicas_of(service)} replicas "
                                f"and publishes {port}: they cannot all bind it. Publish the "
                                "load balancer's port instead.")
            if published in host_ports:
                failures.append(f"docker-compose.yml: {name} and {host_ports[published]} both publish {published}.")
            host_ports[published] = name
        for volume in service.get("volumes") or []:
            source = str(volume).split(":")[0]
            if source.startswith("."):
                path = os.path.normpath(os.path.join(ROOT, source))
                if not os.path.exists(path):
                    failures.append(f"docker-compose.yml: {name} mounts {source}, which does not exist.")
                elif os.path.isfile(path):
                    with open(path, encoding="utf-8") as f:
                        for host, port in re.findall(r"https?://([A-Za-z][\w-]*):(\d+)", f.read()):
                            if host in apps and port != app_port:
                                failures.append(f"{source}: proxies to {host}:{port}, but the app "
                                                f"listens on {app_port} (the image's PORT).")
                            elif host not in services:
                                failures.append(f"{source}: proxies to {host}, which is not a service.")
    return {name: environment_of(service) for name, service in apps.items()}, roles


# ---------------------------------------------------------------------------------------------
# The replay


def clean_environment():
    """This process's environment without what `npm run` or a developer's shell added, so the
    copy resolves nothing from the repository: npm_* settings (npm_config_local_prefix would
    point npm at the repository), NODE_OPTIONS, NODE_PATH, NODE_ENV, node_modules/.bin on PATH."""
    env = {k: v for k, v in os.environ.items()
           if not k.lower().startswith("npm_")
           and k not in ("INIT_CWD", "NODE_OPTIONS", "NODE_PATH", "NODE_ENV")}
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep)
                                  if "node_modules" not in p)
    return env


def in_rootfs(rootfs, path):
    return os.path.join(rootfs, path.lstrip("/"))


def copy_into(source, destination, many):
    """Docker's COPY: a folder's contents go into the destination folder; a file goes into it
    when it is a folder (or names one with a trailing /, or several sources), else becomes it."""
    if os.path.isdir(source):
        shutil.copytree(source, destination, symlinks=True, dirs_exist_ok=True)
        return
    if many or destination.endswith("/") or os.path.isdir(destination):
        os.makedirs(destination, exist_ok=True)
        destination = os.path.join(destination, os.path.basename(source))
    os.makedirs(os.path.dirname(destination), exist_ok=True)
    shutil.copy2(source, destination, follow_symlinks=False)


class Replay:
    def __init__(self, stages, by_name, context, work, env):
        self.by_name = by_name
        self.context = context
        self.work = work
        self.env = env
        self.done = {}  # stage name → (rootfs, workdir, env)
        self.timings = []

    def stage(self, stage):
        if stage.name in self.done:
            return self.done[stage.name]
        rootfs = os.path.join(self.work, "stages", stage.name)
        if stage.parent:
            parent_rootfs, workdir, env = self.stage(stage.parent)
            shutil.copytree(parent_rootfs, rootfs, symlinks=True)
            env = dict(env)
        else:
            os.makedirs(rootfs)
            workdir, env = "/", {}
        # The stages this one copies from first, as Docker builds them, so the log reads in order.
        for line, keyword, args in stage.instructions:
            if keyword == "COPY" and "from" in parse_copy(args, line)[0]:
                source_stage = self.by_name.get(parse_copy(args, line)[0]["from"])
                if source_stage is not None:
                    self.stage(source_stage)
        say(f"  stage {stage.name} (FROM {stage.image})")
        for line, keyword, args in stage.instructions:
            if keyword == "WORKDIR":
                workdir = os.path.normpath(os.path.join(workdir, args))
                os.makedirs(in_rootfs(rootfs, workdir), exist_ok=True)
            elif keyword == "ENV":
                env.update(parse_env(args, line))
            elif keyword in ("COPY", "ADD"):
                self.copy(stage, rootfs, workdir, line, args)
            elif keyword == "RUN":
                self.run(stage, rootfs, workdir, env, line, args)
        self.done[stage.name] = (rootfs, workdir, env)
        return self.done[stage.name]

    def copy(self, stage, rootfs, workdir, line, args):
        flags, sources, destination = parse_copy(args, line)
        target = in_rootfs(rootfs, os.path.join(workdir, destination))
        if destination.endswith("/"):
            target += "/"
        if "from" in flags:
            source_stage = self.by_name.get(flags["from"])
            if source_stage is None:
                raise CheckFailed(f"Dockerfile line {line}: COPY --from={flags['from']} names no "
                                  "earlier stage (this check replays stages only, not images).")
            source_rootfs, source_workdir, _ = self.stage(source_stage)
            paths = [in_rootfs(source_rootfs, os.path.join(source_workdir, s)) for s in sources]
        else:
            paths = [os.path.join(self.context, s) for s in sources]
        for source, path in zip(sources, paths):
            if not os.path.exists(path):
                where = (f"stage {flags['from']}" if "from" in flags else
                         "the build context: re-include it in .dockerignore (or add the file)")
                raise CheckFailed(f"Dockerfile line {line}: COPY {source}: not found in {where}.")
            copy_into(path, target, len(sources) > 1)
        say(f"    line {line}: COPY {args}")

    def run(self, stage, rootfs, workdir, env, line, args):
        command = args.strip()
        if not command.startswith("npm "):
            say(f"    line {line}: RUN {command.split()[0]} ... skipped (system step, needs the image)")
            return
        started = time.monotonic()
        say(f"    line {line}: RUN {command}")
        process = subprocess.run(["bash", "-c", command], cwd=in_rootfs(rootfs, workdir),
                                 env={**self.env, **env}, capture_output=True, text=True)
        elapsed = time.monotonic() - started
        self.timings.append((f"{stage.name}: {command}", elapsed))
        if process.returncode != 0:
            tail = "\n".join((process.stdout + process.stderr).splitlines()[-30:])
            raise CheckFailed(f"Dockerfile line {line}: `{command}` failed (exit "
                              f"{process.returncode}) in {in_rootfs(rootfs, workdir)}:\n{tail}\n"
                              "The image build would fail the same way: fix the step or the files "
                              "the stage copies before it.")
        say(f"      done in {elapsed:.1f} s")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# Straight to 127.0.0.1, whatever http_proxy says.
DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def status_of(url):
    try:
        with DIRECT.open(url, timeout=2) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return None


def check_runtime_tree(app_dir, failures, run_env):
    with open(os.path.join(ROOT, "package.json"), encoding="utf-8") as f:
        manifest = json.load(f)
    modules = os.path.join(app_dir, "node_modules")
    # What production needs, by npm's own reckoning: a devDependency may stay when a dependency
    # needs it too (@nestjs/swagger needs typescript, protobufjs @types/node).
    listed = subprocess.run(["npm", "ls", "--omit=dev", "--all", "--parseable"], cwd=app_dir,
                            env=run_env, capture_output=True, text=True)
    needed = {os.path.realpath(p) for p in listed.stdout.splitlines() if p.strip()}
    if len(needed) < 2:
        failures.append(f"runtime stage: `npm ls --omit=dev` lists nothing in {app_dir}: "
                        f"{listed.stderr.strip()}")
    for name in manifest.get("devDependencies", {}):
        path = os.path.join(modules, name)
        if os.path.exists(path) and os.path.realpath(path) not in needed:
            failures.append(f"runtime stage: devDependency {name} is in node_modules. Run "
                            "`npm prune --omit=dev` in the build stage before the runtime stage "
                            "copies node_modules.")
    for name in manifest.get("dependencies", {}):
        if not os.path.exists(os.path.join(modules, name, "package.json")):
            failures.append(f"runtime stage: dependency {name} is missing from node_modules.")
    native = os.path.join(modules, "better-sqlite3", "build", "Release", "better_sqlite3.node")
    if not os.path.exists(native):
        failures.append("runtime stage: better-sqlite3's compiled better_sqlite3.node is missing. "
                        "The build stage must run `npm ci` with python3, make and g++ installed, "
                        "and the runtime stage copy its node_modules.")
    for unwanted in ("src", "test", "bench", ".git"):
        if os.path.exists(os.path.join(app_dir, unwanted)):
            failures.append(f"runtime stage: {unwanted}/ is in the image; copy only dist/, "
                            "node_modules/ and package.json from the build stage.")
    parent = os.path.dirname(app_dir)
    while parent != os.path.dirname(parent):
        if os.path.isdir(os.path.join(parent, "node_modules")):
            raise CheckFailed(f"{parent}/node_modules exists: Node would resolve missing modules "
                              "from it and hide a broken image. Set TMPDIR to a folder without one.")
        parent = os.path.dirname(parent)


def validate_settings(app_dir, image_env, services, run_env):
    """Each compose app service's settings (over the image's ENV) through the pruned copy's own
    loadConfig, as the container would read them at start."""
    script = ("require('reflect-metadata');"
              "const { loadConfig } = require('./dist/config/app-config');"
              "try { loadConfig(JSON.parse(process.argv[1])); }"
              "catch (e) { process.stderr.write(e.message + '\\n'); process.exit(1); }")
    failures = []
    for name, environment in sorted(services.items()):
        settings = {**image_env, **{k: v for k, v in environment.items() if v is not None}}
        result = subprocess.run(["node", "-e", script, json.dumps(settings)], cwd=app_dir,
                                env=run_env, capture_output=True, text=True)
        if result.returncode != 0:
            failures.append(f"docker-compose.yml: {name}'s settings would stop the service at "
                            f"start: {result.stderr.strip()}")
        else:
            say(f"  {name}: settings accepted by the service's configuration loader")
    return failures


def serve_and_probe(app_dir, state, run_env, work):
    data_dir = os.path.join(work, "data")
    os.makedirs(data_dir)
    port = free_port()
    env = {**run_env, **state["env"], "HOST": "127.0.0.1", "PORT": str(port), "DATA_DIR": data_dir}
    argv = json.loads(state["cmd"][1])
    log_path = os.path.join(work, "service.log")
    url = f"http://127.0.0.1:{port}/health/ready"
    say(f"  starting {' '.join(argv)} in the pruned copy on port {port}, DATA_DIR {data_dir}")
    started = time.monotonic()
    with open(log_path, "wb") as log:
        process = subprocess.Popen(argv, cwd=app_dir, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        status = None
        while time.monotonic() - started < READY_TIMEOUT_S:
            if process.poll() is not None:
                raise CheckFailed(f"`{' '.join(argv)}` exited with {process.returncode} before "
                                  f"/health/ready answered:\n{tail_of(log_path)}\nA module "
                                  "missing after the prune means a runtime import of a "
                                  "devDependency: move that package to dependencies.")
            status = status_of(url)
            if status == 200:
                break
            time.sleep(0.25)
        else:
            raise CheckFailed(f"/health/ready did not answer 200 within {READY_TIMEOUT_S} s "
                              f"(last: {status}):\n{tail_of(log_path)}")
        ready_after = time.monotonic() - started
        say(f"  GET /health/ready: 200 after {ready_after:.1f} s")
        health = state["healthcheck"]
        timeout = seconds(health["options"].get("timeout")) or 30
        result = subprocess.run(health["argv"], cwd=app_dir, env=env, capture_output=True,
                                text=True, timeout=timeout)
        if result.returncode != 0:
            raise CheckFailed(f"Dockerfile line {health['line']}: the HEALTHCHECK command exited "
                              f"{result.returncode} while /health/ready answered 200:\n"
                              f"{result.stdout}{result.stderr}")
        say("  HEALTHCHECK command: exit 0 while ready")
        cli = subprocess.run(["node", "dist/cli/index.js", "--help"], cwd=app_dir, env=env,
                             capture_output=True, text=True)
        if cli.returncode != 0:
            raise CheckFailed(f"the CLI does not start from the pruned copy (`node "
                              f"dist/cli/index.js --help` exit {cli.returncode}):\n{cli.stderr}")
        say("  node dist/cli/index.js --help: exit 0")
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
                raise CheckFailed(f"the service did not stop within {STOP_TIMEOUT_S} s of "
                                  f"SIGTERM:\n{tail_of(log_path)}")
    if process.returncode != 0:
        raise CheckFailed(f"the service exited {process.returncode} on SIGTERM (expected 0, "
                          f"a graceful stop):\n{tail_of(log_path)}")
    say("  SIGTERM: exit 0")
    result = subprocess.run(health["argv"], cwd=app_dir, env=env, capture_output=True, timeout=timeout)
    if result.returncode == 0:
        raise CheckFailed(f"Dockerfile line {health['line']}: the HEALTHCHECK command exits 0 "
                          "with the service stopped: it does not check anything.")
    say(f"  HEALTHCHECK command: exit {result.returncode} once stopped")
    verify = subprocess.run(["node", "dist/cli/index.js", "verify"], cwd=app_dir, env=env,
                            capture_output=True, text=True)
    if verify.returncode != 0:
        raise CheckFailed(f"`node dist/cli/index.js verify` over the data the service wrote "
                          f"failed (exit {verify.returncode}):\n{verify.stdout}{verify.stderr}")
    say("  node dist/cli/index.js verify over that DATA_DIR: exit 0")
    return ready_after


def tail_of(path, lines=25):
    with open(path, encoding="utf-8", errors="replace") as f:
        return "\n".join(f.read().splitlines()[-lines:])


# ---------------------------------------------------------------------------------------------


NOT_CHECKED = [
    "the base images and the build stage's apt-get step (the replay used this machine's Node "
    "and compilers, and its npm rather than the one in the image)",
    "file ownership and permissions: the service ran as this machine's user, not as `node`",
    "docker-compose.yml as Compose reads it (read here with PyYAML; merge keys and ${...} "
    "interpolation approximated), the nginx configuration, and the EventStoreDB, PostgreSQL "
    "and nginx containers and their healthchecks",
    "the service on EventStoreDB: no server runs here (the test suite covers PostgreSQL)",
]


def main(argv):
    keep = "--keep" in argv
    static_only = "--static-only" in argv
    started = time.monotonic()
    try:
        import yaml  # noqa: F401 (PyYAML, imported here to say what to do when it is missing)
    except ImportError:
        say("FAIL: python3 cannot import yaml. Install PyYAML (`pip install pyyaml`, or "
            "`apt-get install python3-yaml` for the system python3) and run again.")
        return 1

    failures = []
    say("Dockerfile")
    stages, by_name = read_dockerfile(DOCKERFILE)
    state = check_dockerfile(stages, by_name, failures)
    say(f"  {len(stages)} stages: " + ", ".join(f"{s.name} (FROM {s.image})" for s in stages))
    if state:
        say(f"  runtime: USER {state['user']}, HOST {state['env'].get('HOST')}, EXPOSE "
            f"{' '.join(state['expose'])}, VOLUME {' '.join(state['volumes'])}, CMD {state['cmd'][1] if state['cmd'] else None}")

    say(".dockerignore")
    rules = read_dockerignore(DOCKERIGNORE)
    for path in MUST_BE_IGNORED:
        if not ignored(rules, path):
            failures.append(f".dockerignore: {path} would be sent to the build context; exclude "
                            f"{path.split('/')[0]} (or start .dockerignore with `*` and re-include "
                            "what the Dockerfile copies).")
    files = context_files()
    context = [p for p in files if not ignored(rules, p)]
    say(f"  build context: {len(context)} of {len(files)} files")
    # Before the slow replay: every source the stages COPY from the context is in it.
    for stage in stages:
        for line, keyword, args in stage.instructions:
            if keyword in ("COPY", "ADD"):
                flags, sources, _ = parse_copy(args, line)
                for source in [] if "from" in flags else sources:
                    prefix = os.path.normpath(source).lstrip("/")
                    if not any(p == prefix or p.startswith(prefix + "/") or
                               re.fullmatch(glob_to_regex(prefix), p) for p in context):
                        failures.append(f"Dockerfile line {line}: COPY {source}: not in the build "
                                        "context. Re-include it in .dockerignore (or add it).")

    say("docker-compose.yml")
    with open(COMPOSE, encoding="utf-8") as f:
        compose = yaml.safe_load(f)
    app_services, roles = check_compose(compose, state, failures)
    say(f"  services: {', '.join(compose.get('services') or {})}; instances by role: "
        + ", ".join(f"{r} {n}" for r, n in sorted(roles.items())))

    if failures:
        say("\nFAIL:\n- " + "\n- ".join(failures))
        return 1
    if static_only:
        say(f"\nOK (static checks only) in {time.monotonic() - started:.1f} s")
        return 0

    work = tempfile.mkdtemp(prefix="check-image-")
    ok = False
    try:
        say(f"Replaying the Dockerfile in {work}")
        context_dir = os.path.join(work, "context")
        for path in context:
            copy_into(os.path.join(ROOT, path), os.path.join(context_dir, path), False)
        run_env = clean_environment()
        replay = Replay(stages, by_name, context_dir, work, run_env)
        rootfs, workdir, env = replay.stage(stages[-1])
        app_dir = in_rootfs(rootfs, workdir)
        tree_failures = []
        check_runtime_tree(app_dir, tree_failures, run_env)
        if tree_failures:
            raise CheckFailed("\n- ".join(tree_failures))
        say(f"  runtime tree: dependencies present, no devDependencies, better-sqlite3 compiled "
            f"({du(app_dir)} MiB in {workdir})")
        say("Serving from the pruned copy")
        serve_and_probe(app_dir, state, run_env, work)
        say("Compose settings")
        settings_failures = validate_settings(app_dir, state["env"], app_services, run_env)
        if settings_failures:
            raise CheckFailed("\n- ".join(settings_failures))
        ok = True
    except CheckFailed as error:
        say(f"\nFAIL: {error}")
        return 1
    finally:
        if ok and not keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            say(f"(the copy is kept in {work} for a look; delete it when done)")
    say("\nTimings: " + "; ".join(f"{name} {elapsed:.0f} s" for name, elapsed in replay.timings))
    say("Not checked here (needs a Docker engine):\n- " + "\n- ".join(NOT_CHECKED))
    say(f"\nOK in {time.monotonic() - started:.0f} s")
    return 0


def du(path):
    total = 0
    for folder, _, names in os.walk(path):
        for name in names:
            full = os.path.join(folder, name)
            if not os.path.islink(full):
                total += os.path.getsize(full)
    return round(total / 1024 / 1024)


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except CheckFailed as error:
        say(f"\nFAIL: {error}")
        sys.exit(1)
