/**
 * The cluster's IAM OIDC provider (IRSA): who needs it (pure), and the lookup's failure when it is
 * needed but missing (under the recording mocks, whose getOpenIdConnectProvider is made to fail as AWS's does).
 */
import { parseStackConfig } from "../../components/stack";
import type { StackConfig } from "../../config/schema";
import { findOidcProviderArn, irsaUses, missingOidcProviderMessage } from "../../components/aws/oidc";
import { installMocks, MockRecorder, promiseOf } from "../helpers/mocks";
import { readDucklakeConfig } from "../helpers/stack-files";

const GET_OIDC = "aws:iam/getOpenIdConnectProvider:getOpenIdConnectProvider";

function prodWith(edit: (raw: Record<string, Record<string, unknown>>) => void): StackConfig {
  const raw = structuredClone(readDucklakeConfig("prod")) as Record<string, Record<string, unknown>>;
  edit(raw);
  return parseStackConfig(raw, "prod").config;
}

describe("irsaUses", () => {
  test("prod as shipped: the EBS CSI driver (IRSA is the default identity) and the backups, not Loki (PVC)", () => {
    expect(irsaUses(prodWith(() => undefined)).map((u) => u.key)).toEqual([
      "ducklake:storage.gp3.csiDriverIdentity: irsa",
      "ducklake:postgres.backups.enabled: true",
    ]);
  });

  test("Pod Identity driver, Loki on a PVC, no backups: nothing", () => {
    const config = prodWith((raw) => {
      (raw["storage"]["gp3"] as Record<string, unknown>)["csiDriverIdentity"] = "pod-identity";
      (raw["postgres"]["backups"] as Record<string, unknown>)["enabled"] = false;
    });
    expect(irsaUses(config)).toEqual([]);
  });

  test("a restore without backups still reads S3 through IRSA", () => {
    const config = prodWith((raw) => {
      (raw["storage"]["gp3"] as Record<string, unknown>)["csiDriverIdentity"] = "pod-identity";
      (raw["postgres"]["backups"] as Record<string, unknown>)["enabled"] = false;
      raw["postgres"]["recovery"] = { sourceClusterName: "lineage-pg-old", bucketName: "old-backups" };
    });
    expect(irsaUses(config).map((u) => u.key)).toEqual(["ducklake:postgres.recovery"]);
  });

  test("dev (kind): nothing", () => {
    expect(irsaUses(parseStackConfig(readDucklakeConfig("dev"), "dev").config)).toEqual([]);
  });
});

describe("missingOidcProviderMessage", () => {
  test("names the cluster, each user's config key, and how to create the provider or stop using IRSA", () => {
    const message = missingOidcProviderMessage("ducklake-prod", "https://oidc.eks.eu-west-1.amazonaws.com/id/ABC", [
      { key: "ducklake:storage.gp3.csiDriverIdentity: irsa", what: "the EBS CSI driver" },
      { key: "ducklake:logging.loki.storage.type: s3", what: "Loki's S3 access" },
    ]);
    expect(message).toMatch(
      /^the EKS cluster "ducklake-prod" has no IAM OIDC provider \(issuer https:\/\/oidc\.eks\.eu-west-1\.amazonaws\.com\/id\/ABC\)/,
    );
    expect(message).toContain("ducklake:storage.gp3.csiDriverIdentity: irsa");
    expect(message).toContain("ducklake:logging.loki.storage.type: s3");
    expect(message).toContain("eksctl utils associate-iam-oidc-provider --cluster ducklake-prod --approve");
    expect(message).not.toContain("lookup error");
  });
});

describe("findOidcProviderArn", () => {
  const uses = [{ key: "ducklake:storage.gp3.csiDriverIdentity: irsa", what: "the EBS CSI driver" }];

  test("a cluster with a provider: its ARN", async () => {
    const urls: string[] = [];
    const arn = await findOidcProviderArn("c", "https://oidc.eks.eu-west-1.amazonaws.com/id/HAS", uses, async (url) => {
      urls.push(url);
      return { arn: "arn:aws:iam::123456789012:oidc-provider/has" };
    });
    expect(arn).toBe("arn:aws:iam::123456789012:oidc-provider/has");
    expect(urls).toEqual(["https://oidc.eks.eu-west-1.amazonaws.com/id/HAS"]);
  });

  test("a cluster without one: fails with the message naming what needs it, the fix and AWS's error", async () => {
    await expect(
      findOidcProviderArn("ducklake-prod", "https://oidc.eks.eu-west-1.amazonaws.com/id/NONE", uses, () =>
        Promise.reject(new Error("no matching IAM OIDC Provider found")),
      ),
    ).rejects.toThrow(
      /the EKS cluster "ducklake-prod" has no IAM OIDC provider[\s\S]*ducklake:storage\.gp3\.csiDriverIdentity: irsa[\s\S]*eksctl utils associate-iam-oidc-provider[\s\S]*lookup error: no matching IAM OIDC Provider found/,
    );
  });

  test("EKS reported no issuer: fails before any lookup", async () => {
    const lookup = jest.fn();
    await expect(findOidcProviderArn("ducklake-prod", "", uses, lookup)).rejects.toThrow(/EKS reported no OIDC issuer/);
    expect(lookup).not.toHaveBeenCalled();
  });
});

describe("lookUpOidcProviderArn under mocks", () => {
  test("calls getOpenIdConnectProvider with the issuer URL and returns the ARN", async () => {
    const recorder: MockRecorder = installMocks({ stack: "prod" });
    const { lookUpOidcProviderArn } = await import("../../components/aws/oidc");
    const arn = await promiseOf(lookUpOidcProviderArn("c", "https://oidc.eks.eu-west-1.amazonaws.com/id/ABCDEF", []));
    expect(arn).toBe("arn:aws:iam::123456789012:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/ABCDEF");
    expect(recorder.calls.filter((c) => c.token === GET_OIDC).map((c) => c.inputs["url"])).toEqual([
      "https://oidc.eks.eu-west-1.amazonaws.com/id/ABCDEF",
    ]);
  });
});
