"""Lints and renders the Actuate chart offline with helm-python-sdk, and checks what it renders.

Run by scripts/check-deploy.sh inside its virtualenv:

    python check_chart.py CHART_DIR OUT_DIR

For each case in CASES it validates the values against values.schema.json, runs `helm lint
--strict` for Kubernetes 1.30.0, renders the chart (install and upgrade) and writes:

    OUT_DIR/<case>/core.yaml               objects of built-in kinds (for kubernetes-validate)
    OUT_DIR/<case>/crd-<kind>-<n>.json     custom resources, one per file (for check-jsonschema)

It then asserts the properties the deployment relies on (hardened pods, grace periods, hook
ordering, selectors...) and that bad values are refused. Exits 1 on the first failed case,
after printing every problem of that case.
"""

from __future__ import annotations

import json
import pathlib
import sys

import helm_python as helm
import yaml

KUBE_VERSION = "v1.30.0"
RELEASE = "rel"
NAMESPACE = "actuate"

# name -> values file under ci/ (None: the chart's defaults alone).
CASES = {
    "default": "default-values.yaml",
    "all-enabled": "all-enabled-values.yaml",
    "existing-secret": "existing-secret-values.yaml",
}

BUILTIN_GROUPS = {"v1", "apps/v1", "batch/v1", "policy/v1", "autoscaling/v2", "networking.k8s.io/v1"}
CRD_KINDS = {
    ("keda.sh/v1alpha1", "ScaledObject"): "keda",
    ("keda.sh/v1alpha1", "TriggerAuthentication"): "keda",
    ("monitoring.coreos.com/v1", "ServiceMonitor"): "servicemonitor",
}


class Problems(list):
    def check(self, condition: bool, message: str) -> None:
        if not condition:
            self.append(message)


def load_values(chart_dir: pathlib.Path, file: str | None) -> dict:
    if file is None:
        return {}
    return yaml.safe_load((chart_dir / "ci" / file).read_text()) or {}


def render(chart: helm.Chart, values: dict, **opts) -> list[tuple[str, dict]]:
    manifests = chart.render(values=values, name=RELEASE, namespace=NAMESPACE, **opts)
    docs = []
    for path, text in sorted(manifests.items()):
        if not path.endswith((".yaml", ".yml")):
            continue
        for doc in yaml.safe_load_all(text):
            if doc:
                docs.append((path, doc))
    return docs


def env_of(container: dict) -> dict[str, dict]:
    return {e["name"]: e for e in container.get("env", [])}


def hook_weight(obj: dict) -> int:
    return int(obj["metadata"].get("annotations", {}).get("helm.sh/hook-weight", "0"))


def hooks(obj: dict) -> set[str]:
    value = obj["metadata"].get("annotations", {}).get("helm.sh/hook", "")
    return {h.strip() for h in value.split(",") if h.strip()}


def pod_spec(obj: dict) -> dict | None:
    if obj["kind"] in ("Deployment", "Job"):
        return obj["spec"]["template"]["spec"]
    if obj["kind"] == "Pod":
        return obj["spec"]
    return None


def pod_labels(obj: dict) -> dict:
    if obj["kind"] == "Pod":
        return obj["metadata"].get("labels", {})
    return obj["spec"]["template"]["metadata"].get("labels", {})


def matches(selector: dict, labels: dict) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


def check_rendered(case: str, values: dict, docs: list[tuple[str, dict]], p: Problems) -> None:
    objs = [d for _, d in docs]
    by_kind: dict[str, list[dict]] = {}
    for o in objs:
        by_kind.setdefault(o["kind"], []).append(o)
    names = [(o["kind"], o["metadata"]["name"]) for o in objs]
    p.check(len(names) == len(set(names)), f"duplicate objects: {names}")

    deployments = {o["metadata"]["labels"]["app.kubernetes.io/component"]: o for o in by_kind.get("Deployment", [])}
    p.check(set(deployments) == {"api", "worker"}, f"deployments: {sorted(deployments)}")
    api, worker = deployments.get("api"), deployments.get("worker")
    if not api or not worker:
        return

    # Every pod: non-root, seccomp, read-only root, no privilege escalation, no capabilities,
    # resources, and preStop hooks only as exec (lifecycle.preStop.sleep needs Kubernetes 1.30
    # with a feature gate on older clusters).
    for o in objs:
        spec = pod_spec(o)
        if spec is None:
            continue
        where = f"{o['kind']}/{o['metadata']['name']}"
        psc = spec.get("securityContext", {})
        p.check(psc.get("runAsNonRoot") is True, f"{where}: pod runAsNonRoot")
        p.check(psc.get("seccompProfile", {}).get("type") == "RuntimeDefault", f"{where}: seccomp RuntimeDefault")
        p.check(spec.get("automountServiceAccountToken") is False, f"{where}: service account token mounted")
        for c in spec["containers"]:
            csc = c.get("securityContext", {})
            p.check(csc.get("readOnlyRootFilesystem") is True, f"{where}/{c['name']}: readOnlyRootFilesystem")
            p.check(csc.get("allowPrivilegeEscalation") is False, f"{where}/{c['name']}: allowPrivilegeEscalation")
            p.check(csc.get("capabilities", {}).get("drop") == ["ALL"], f"{where}/{c['name']}: drop ALL")
            p.check(bool(c.get("resources", {}).get("limits", {}).get("memory")), f"{where}/{c['name']}: memory limit")
            pre = c.get("lifecycle", {}).get("preStop")
            if pre is not None:
                p.check("exec" in pre and "sleep" not in pre, f"{where}/{c['name']}: preStop must be exec")
            if o["kind"] != "Pod":
                mounts = {m["mountPath"] for m in c.get("volumeMounts", [])}
                p.check("/tmp" in mounts, f"{where}/{c['name']}: writable /tmp")

    v_worker = values.get("worker", {})
    api_c = api["spec"]["template"]["spec"]["containers"][0]
    worker_spec = worker["spec"]["template"]["spec"]
    worker_c = worker_spec["containers"][0]
    api_env, worker_env = env_of(api_c), env_of(worker_c)

    # Grace periods.
    grace = int(worker_env["ACTUATE_SHUTDOWN_GRACE"]["value"])
    pre = worker_c.get("lifecycle", {}).get("preStop", {}).get("exec", {}).get("command", ["sleep", "0"])
    pre_seconds = int(pre[1]) if pre[0] == "sleep" else 0
    p.check(worker_spec["terminationGracePeriodSeconds"] > grace + pre_seconds,
            f"worker terminationGracePeriodSeconds {worker_spec['terminationGracePeriodSeconds']} <= {grace} + {pre_seconds}")
    api_pre = api_c.get("lifecycle", {}).get("preStop", {}).get("exec", {}).get("command", ["sleep", "0"])
    p.check(api["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] > int(api_pre[1]),
            "api terminationGracePeriodSeconds <= preStop sleep")

    # Probes and binds.
    p.check(api_c["readinessProbe"]["httpGet"]["path"] == "/readyz", "api readiness is /readyz")
    p.check(api_c["livenessProbe"]["httpGet"]["path"] == "/healthz", "api liveness is /healthz")
    p.check(worker_c["livenessProbe"]["httpGet"]["path"] == "/healthz", "worker liveness is /healthz")
    p.check(api_env["ACTUATE_BIND"]["value"].startswith("0.0.0.0:"), "api binds 0.0.0.0")
    p.check(worker_env["ACTUATE_WORKER_BIND"]["value"].startswith("0.0.0.0:"), "worker binds 0.0.0.0")
    p.check(api_env["ACTUATE_LOG_FORMAT"]["value"] == "json", "json logs")
    for env in (api_env, worker_env):
        for name in ("DATABASE_URL", "AMQP_URL"):
            p.check("secretKeyRef" in env[name].get("valueFrom", {}), f"{name} from a Secret")
    if v_worker.get("webhookAllow"):
        p.check(worker_env["ACTUATE_WEBHOOK_ALLOW"]["value"] == ",".join(v_worker["webhookAllow"]), "webhook allow list")

    # Migration hook: runs before install/upgrade, the API does not migrate itself, and the
    # Secret it reads exists by then (external, or a hook of lower weight).
    jobs = by_kind.get("Job", [])
    migration_enabled = values.get("migration", {}).get("enabled", True)
    p.check(len(jobs) == (1 if migration_enabled else 0), f"migration jobs: {len(jobs)}")
    p.check(api_env["ACTUATE_AUTO_MIGRATE"]["value"] == ("false" if migration_enabled else "true"), "ACTUATE_AUTO_MIGRATE")
    secrets = {o["metadata"]["name"]: o for o in by_kind.get("Secret", [])}
    for job in jobs:
        p.check(hooks(job) == {"pre-install", "pre-upgrade"}, f"job hooks {hooks(job)}")
        jspec = job["spec"]["template"]["spec"]
        p.check(jspec["restartPolicy"] == "Never", "job restartPolicy")
        jc = jspec["containers"][0]
        p.check(jc["args"] == ["actuate-api", "migrate"], f"job args {jc['args']}")
        sa = jspec.get("serviceAccountName")
        if sa:
            p.check(("ServiceAccount", sa) not in names, "migration hook must not use the release's own ServiceAccount")
        for name, e in env_of(jc).items():
            ref = e.get("valueFrom", {}).get("secretKeyRef")
            if not ref:
                continue
            secret = secrets.get(ref["name"])
            if secret is None:
                p.check(ref["name"] == values.get("secrets", {}).get("existingSecret"),
                        f"job {name}: Secret {ref['name']} is neither rendered nor secrets.existingSecret")
            else:
                p.check("pre-install" in hooks(secret) and hook_weight(secret) < hook_weight(job),
                        f"job {name}: Secret {ref['name']} is not a pre-install hook of lower weight")
    if values.get("secrets", {}).get("existingSecret"):
        p.check(not secrets, f"existingSecret set but the chart renders Secrets {sorted(secrets)}")

    # Scaling: an autoscaler owns the replica count.
    hpas = by_kind.get("HorizontalPodAutoscaler", [])
    scaled = by_kind.get("ScaledObject", [])
    p.check(("replicas" in api["spec"]) == (not hpas), "api replicas set together with an HPA")
    p.check(("replicas" in worker["spec"]) == (not scaled), "worker replicas set together with KEDA")
    for h in hpas:
        p.check(h["spec"]["scaleTargetRef"]["name"] == api["metadata"]["name"], "HPA target")
        p.check(h["spec"]["minReplicas"] <= h["spec"]["maxReplicas"], "HPA min <= max")
    prefix = values.get("config", {}).get("queuePrefix", "actuate")
    auths = {o["metadata"]["name"]: o for o in by_kind.get("TriggerAuthentication", [])}
    for so in scaled:
        spec = so["spec"]
        p.check(spec["scaleTargetRef"]["name"] == worker["metadata"]["name"], "ScaledObject target")
        p.check(spec["minReplicaCount"] <= spec["maxReplicaCount"], "ScaledObject min <= max")
        for t in spec["triggers"]:
            p.check(t["metadata"]["queueName"] == f"{prefix}.executions", f"queueName {t['metadata']['queueName']}")
            auth = auths.get(t.get("authenticationRef", {}).get("name"))
            p.check(auth is not None, "ScaledObject authenticationRef names a rendered TriggerAuthentication")
            if auth:
                ref = auth["spec"]["secretTargetRef"][0]
                amqp_ref = worker_env["AMQP_URL"]["valueFrom"]["secretKeyRef"]
                p.check((ref["name"], ref["key"]) == (amqp_ref["name"], amqp_ref["key"]),
                        "KEDA reads the workers' AMQP_URL")

    # Selectors: Services, PDBs and ServiceMonitors find the pods they mean.
    pods = [o for o in objs if o["kind"] in ("Deployment",)]
    for svc in by_kind.get("Service", []):
        sel = svc["spec"]["selector"]
        targets = [d for d in pods if matches(sel, pod_labels(d))]
        p.check(len(targets) == 1, f"Service {svc['metadata']['name']} selects {len(targets)} deployments")
        for port in svc["spec"]["ports"]:
            if targets and isinstance(port["targetPort"], str):
                cports = {cp["name"] for c in pod_spec(targets[0])["containers"] for cp in c.get("ports", [])}
                p.check(port["targetPort"] in cports, f"Service {svc['metadata']['name']} targetPort {port['targetPort']}")
    for pdb in by_kind.get("PodDisruptionBudget", []):
        sel = pdb["spec"]["selector"]["matchLabels"]
        p.check(sum(matches(sel, pod_labels(d)) for d in pods) == 1, f"PDB {pdb['metadata']['name']} selector")
    services = by_kind.get("Service", [])
    for sm in by_kind.get("ServiceMonitor", []):
        sel = sm["spec"]["selector"]["matchLabels"]
        hit = [s for s in services if matches(sel, s["metadata"]["labels"])]
        p.check(len(hit) == 1, f"ServiceMonitor {sm['metadata']['name']} selects {len(hit)} Services")
        if hit:
            ports = {pt["name"] for pt in hit[0]["spec"]["ports"]}
            p.check(all(e["port"] in ports for e in sm["spec"]["endpoints"]), "ServiceMonitor port names")
    for ing in by_kind.get("Ingress", []):
        for rule in ing["spec"]["rules"]:
            for path in rule["http"]["paths"]:
                p.check(any(path["backend"]["service"]["name"] == s["metadata"]["name"] for s in services),
                        "Ingress backend names a rendered Service")

    # Python scripts.
    scripts = values.get("pythonScripts", {})
    if scripts.get("enabled"):
        p.check(worker_env.get("ACTUATE_PYTHON_SCRIPTS", {}).get("value") == scripts.get("mountPath", "/etc/actuate/scripts"),
                "ACTUATE_PYTHON_SCRIPTS")
        cm_name = next(v["configMap"]["name"] for v in worker_spec["volumes"] if v["name"] == "python-scripts")
        if scripts.get("existingConfigMap"):
            p.check(cm_name == scripts["existingConfigMap"], "existing scripts ConfigMap")
        else:
            cms = {o["metadata"]["name"]: o for o in by_kind.get("ConfigMap", [])}
            p.check(cm_name in cms, "scripts ConfigMap rendered")
            if cm_name in cms:
                p.check(cms[cm_name].get("data", {}) == scripts.get("files", {}), "scripts ConfigMap content")


def expect_failure(label: str, fn, needle: str, failures: list[str]) -> None:
    try:
        fn()
    except helm.HelmError as err:
        if needle.lower() in str(err).lower():
            print(f"  ok   refuses {label}")
            return
        failures.append(f"{label}: failed, but without '{needle}': {err}")
        return
    failures.append(f"{label}: was accepted")


def main() -> int:
    chart_dir = pathlib.Path(sys.argv[1]).resolve()
    out_dir = pathlib.Path(sys.argv[2]).resolve()
    print(f"helm-python-sdk {helm.__version__} (Helm SDK {helm.helm_sdk_version()})")
    chart = helm.Chart.load(chart_dir)
    failed = False

    for case, file in CASES.items():
        values = load_values(chart_dir, file)
        p = Problems()
        print(f"== chart case '{case}' ({file or 'defaults'})")
        try:
            chart.validate_schema(values)
        except helm.HelmError as err:
            p.append(f"values.schema.json: {err}")
        report = helm.lint(chart_dir, values, strict=True, kube_version=KUBE_VERSION, namespace=NAMESPACE)
        for m in report["messages"]:
            severity = {0: "UNKNOWN", 1: "INFO", 2: "WARNING", 3: "ERROR"}.get(m["severity"], "?")
            print(f"  lint [{severity}] {m['path']}: {m['error']}")
            # Strict lint: warnings are errors. The only info Helm gives here is the icon one.
            if m["severity"] >= 2:
                p.append(f"helm lint: {m['path']}: {m['error']}")
        p.extend(f"helm lint: {e}" for e in report["errors"])
        try:
            docs = render(chart, values, is_install=True)
            upgrade_docs = render(chart, values, is_upgrade=True)
        except helm.HelmError as err:
            p.append(f"render: {err}")
            docs, upgrade_docs = [], []
        if docs:
            p.check([d for _, d in docs] == [d for _, d in upgrade_docs], "install and upgrade render differently")
            check_rendered(case, values, docs, p)
            case_dir = out_dir / case
            case_dir.mkdir(parents=True, exist_ok=True)
            core, n = [], 0
            for path, doc in docs:
                key = (doc["apiVersion"], doc["kind"])
                if key in CRD_KINDS:
                    n += 1
                    (case_dir / f"crd-{CRD_KINDS[key]}-{n}.json").write_text(json.dumps(doc, indent=1))
                elif doc["apiVersion"] in BUILTIN_GROUPS:
                    core.append(doc)
                else:
                    p.append(f"{path}: unexpected kind {key}: neither built-in nor a known custom resource")
            (case_dir / "core.yaml").write_text(yaml.safe_dump_all(core, sort_keys=False))
            kinds = sorted({f"{d['kind']}" for _, d in docs})
            print(f"  rendered {len(docs)} objects: {', '.join(kinds)}")
        for problem in p:
            print(f"  FAIL {problem}")
        failed |= bool(p)
        if not p:
            print(f"  ok   schema, lint --strict ({KUBE_VERSION}), render, {case} assertions")

    print("== chart refuses bad values")
    base = load_values(chart_dir, "default-values.yaml")
    failures: list[str] = []
    expect_failure("a missing secrets.databaseUrl",
                   lambda: chart.render(values={"secrets": {"amqpUrl": base["secrets"]["amqpUrl"]}}, name=RELEASE),
                   "secrets.databaseUrl is required", failures)
    expect_failure("worker grace <= shutdown grace",
                   lambda: chart.render(values={**base, "worker": {"shutdownGraceSeconds": 60, "terminationGracePeriodSeconds": 60}}, name=RELEASE),
                   "must exceed", failures)
    expect_failure("api grace <= preStop sleep",
                   lambda: chart.render(values={**base, "api": {"preStopSleepSeconds": 40, "terminationGracePeriodSeconds": 30}}, name=RELEASE),
                   "must exceed", failures)
    expect_failure("a non-integer worker.concurrency (schema)",
                   lambda: chart.validate_schema({**base, "worker": {"concurrency": "eight"}}), "concurrency", failures)
    expect_failure("an unknown top-level value (schema)",
                   lambda: chart.validate_schema({**base, "replicaCount": 3}), "replicaCount", failures)
    expect_failure("a bad log format (schema)",
                   lambda: chart.validate_schema({**base, "config": {"logFormat": "xml"}}), "logFormat", failures)
    for f in failures:
        print(f"  FAIL {f}")
    failed |= bool(failures)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
