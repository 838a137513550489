/**
 * `examples/` is the source of truth: every manifest validates against the
 * Kubernetes schema (kubernetes-models) and keeps the rules docs/containers.md
 * gives, and every file there is exercised by a test. The excerpts the docs
 * show are compared with the files by `tests/docs_test.ts`.
 *
 * @module
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Deployment } from "kubernetes-models/apps/v1";
import { parse } from "yaml";
import { ROOT } from "./_image.ts";
import { NOT_NODE } from "./_suite.ts";

const EXAMPLES = join(ROOT, "examples");
const MANIFESTS = ["deployment.yaml", "deployment-http.yaml", "deployment-grpc.yaml"];
/** Which test exercises each file of examples/ (the test names the file). */
const EXERCISED: Record<string, string> = {
  "deployment.yaml": "prober_test.ts",
  "deployment-http.yaml": "prober_test.ts",
  "deployment-grpc.yaml": "prober_test.ts",
  "Dockerfile": "_image.ts",
  "Dockerfile.distroless": "_image.ts",
  "service.mjs": "container_test.ts",
  "package.json": "_image.ts",
};
/** The service's shutdown (handleSignals in examples/service.mjs), in seconds. */
const DRAIN = 5;
const SHUTDOWN_TIMEOUT = 25;

const read = (name: string) => readFileSync(join(EXAMPLES, name), "utf8");

test("every file in examples/ is exercised by a test", { skip: NOT_NODE }, () => {
  assert.deepEqual(readdirSync(EXAMPLES).sort(), Object.keys(EXERCISED).sort());
  for (const [name, tester] of Object.entries(EXERCISED)) {
    const source = readFileSync(join(ROOT, "tests/containers", tester), "utf8");
    assert.ok(source.includes(name), `${tester} uses ${name}`);
  }
});

for (const name of MANIFESTS) {
  test(`examples/${name} is a valid Deployment that keeps the documented rules`, {
    skip: NOT_NODE,
  }, () => {
    const manifest = parse(read(name));
    new Deployment(manifest).validate(); // throws with the schema's message
    const pod = manifest.spec.template.spec;
    const [container] = pod.containers;
    const grace = pod.terminationGracePeriodSeconds;
    assert.ok(grace >= DRAIN + SHUTDOWN_TIMEOUT + 1, `grace period ${grace} s covers the shutdown`);
    for (const kind of ["startupProbe", "livenessProbe", "readinessProbe"]) {
      assert.ok(container[kind], `${name} has a ${kind}`);
    }
    for (const kind of ["startupProbe", "livenessProbe"]) {
      assert.ok((container[kind].successThreshold ?? 1) === 1, "Kubernetes requires 1");
    }
    assert.ok(
      JSON.stringify(container.readinessProbe).match(/--ready|\/readyz|"service":"readiness"/),
      "readiness asks for readiness, not liveness",
    );
    assert.doesNotMatch(JSON.stringify(container.livenessProbe), /--ready|\/readyz|readiness/);
    const env = Object.fromEntries(container.env.map(({ name, value }: never) => [name, value]));
    const mount = container.volumeMounts.find((m: { mountPath: string }) =>
      m.mountPath === env.LIVENESS_RUNDIR
    );
    assert.ok(mount, "the rundir is a volume");
    const volume = pod.volumes.find((v: { name: string }) => v.name === mount.name);
    assert.equal(volume.emptyDir?.medium, "Memory", "a memory-backed emptyDir");
    assert.equal(container.lifecycle?.preStop, undefined, "no preStop hook: the program drains");
  });
}

test("the service drains and times out as the manifests' grace periods assume", {
  skip: NOT_NODE,
}, () => {
  const service = read("service.mjs");
  assert.match(service, new RegExp(`"DRAIN_MS", ${DRAIN * 1000}\\b`));
  assert.match(service, new RegExp(`"TIMEOUT_MS", ${SHUTDOWN_TIMEOUT}_000\\b`));
});
