/**
 * EBS rules: SSD volumes of at least 3,000 IOPS within the gp3 limits, and encryption, for every place
 * this stack describes an EBS volume: launch template block device mappings, `aws.ebs.Volume`, and
 * StorageClasses of the EBS CSI driver.
 *
 * Sources:
 * - gp3 limits and ratios: `config/gp3.ts` (Amazon EBS User Guide, gp3), imported, not copied.
 * - Seed guide (docs/seed-guide.md, "Hardware"): SSDs of at least 3,000 IOPS.
 * - io1/io2 need provisioned IOPS: Amazon EBS User Guide, "Provisioned IOPS SSD volumes",
 *   https://docs.aws.amazon.com/ebs/latest/userguide/provisioned-iops.html
 * - CreateVolume defaults (gp3 without IOPS/throughput gets 3,000 IOPS and 125 MiB/s):
 *   https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateVolume.html
 * - EBS CSI StorageClass parameters (`type`, `iops`, `iopsPerGB`, `throughput`, `encrypted`; keys are
 *   case-insensitive): https://github.com/kubernetes-sigs/aws-ebs-csi-driver/blob/master/docs/parameters.md
 */
import { GP3_LIMITS, gp3Violations } from "../config/gp3";
import { arrayOf, booleanOf, entriesOf, Findings, numberOf, prop, RuleResult, show, UNKNOWN } from "./values";

/** Pulumi type token of `aws.ec2.LaunchTemplate`. */
export const LAUNCH_TEMPLATE_TYPE = "aws:ec2/launchTemplate:LaunchTemplate";
/** Pulumi type token of `aws.ebs.Volume`. */
export const EBS_VOLUME_TYPE = "aws:ebs/volume:Volume";
/** Pulumi type token of `kubernetes.storage.v1.StorageClass`. */
export const STORAGE_CLASS_TYPE = "kubernetes:storage.k8s.io/v1:StorageClass";
/** Provisioners whose StorageClasses create EBS volumes (the CSI driver and the in-tree plugin it replaced). */
export const EBS_PROVISIONERS: readonly string[] = ["ebs.csi.aws.com", "kubernetes.io/aws-ebs"];

/** EBS volume types with provisioned IOPS that can reach the seed's 3,000 IOPS. */
const PROVISIONED_IOPS_TYPES: readonly string[] = ["io1", "io2"];

/** One EBS volume description, fields as read from the inputs (possibly `UNKNOWN` or `undefined`). */
export interface EbsVolumeView {
  /** Where the volume is described, for messages (`blockDeviceMappings[0].ebs`). */
  readonly where: string;
  /** Field names used by this resource type, for messages. */
  readonly fields: {
    readonly type: string;
    readonly iops: string;
    readonly throughput: string;
    readonly size?: string;
  };
  readonly volumeType: unknown;
  readonly iops: unknown;
  readonly throughputMiBps: unknown;
  /** Size in GiB when the resource has one (a StorageClass has none). */
  readonly sizeGiB?: unknown;
}

/**
 * Checks one EBS volume: its type must be gp3 (or io1/io2 with >= 3,000 provisioned IOPS) and a gp3
 * volume must be within the gp3 limits (3,000–80,000 IOPS, 125–2,000 MiB/s, at most 0.25 MiB/s per IOPS
 * and 500 IOPS per GiB). An unset gp3 `iops`/`throughput` means AWS's baseline (3,000 IOPS, 125 MiB/s).
 * @param volume the volume as read from the inputs.
 * @param out where violations and undetermined fields are recorded.
 */
export function checkEbsPerformance(volume: EbsVolumeView, out: Findings): void {
  const f = volume.fields;
  const type = volume.volumeType;
  if (type === UNKNOWN) {
    out.unknown(`${volume.where}.${f.type}`);
    return;
  }
  if (typeof type === "string" && PROVISIONED_IOPS_TYPES.includes(type)) {
    const iops = numberOf(volume.iops);
    if (iops === UNKNOWN) out.unknown(`${volume.where}.${f.iops}`);
    else if (iops === undefined || Number.isNaN(iops) || iops < GP3_LIMITS.minIops) {
      out.violation(
        `${volume.where}.${f.iops} is ${show(volume.iops)}: a ${type} volume needs at least ${GP3_LIMITS.minIops} provisioned IOPS (seed guide: SSD of 3,000+ IOPS)`,
      );
    }
    return;
  }
  if (type !== "gp3") {
    out.violation(
      `${volume.where}.${f.type} is ${show(type)}: use gp3 (seed guide: SSD of 3,000+ IOPS; gp3's floor is ${GP3_LIMITS.minIops} IOPS)`,
    );
    return;
  }
  // gp3 defaults when unset: 3,000 IOPS and 125 MiB/s (CreateVolume API reference).
  const iops = numberOf(volume.iops) ?? GP3_LIMITS.minIops;
  const throughput = numberOf(volume.throughputMiBps) ?? GP3_LIMITS.minThroughputMiBps;
  const size = volume.sizeGiB === undefined ? undefined : numberOf(volume.sizeGiB);
  let ratiosKnown = true;
  if (iops === UNKNOWN) {
    out.unknown(`${volume.where}.${f.iops}`);
    ratiosKnown = false;
  } else if (Number.isNaN(iops)) {
    out.violation(`${volume.where}.${f.iops} is ${show(volume.iops)}: not a number`);
    ratiosKnown = false;
  } else if (iops < GP3_LIMITS.minIops || iops > GP3_LIMITS.maxIops) {
    out.violation(
      `${volume.where}.${f.iops} is ${iops}: gp3 needs ${GP3_LIMITS.minIops}–${GP3_LIMITS.maxIops} IOPS (seed guide: SSD of 3,000+ IOPS; EBS gp3 limits)`,
    );
  }
  if (throughput === UNKNOWN) {
    out.unknown(`${volume.where}.${f.throughput}`);
    ratiosKnown = false;
  } else if (Number.isNaN(throughput)) {
    out.violation(`${volume.where}.${f.throughput} is ${show(volume.throughputMiBps)}: not a number`);
    ratiosKnown = false;
  } else if (throughput < GP3_LIMITS.minThroughputMiBps || throughput > GP3_LIMITS.maxThroughputMiBps) {
    out.violation(
      `${volume.where}.${f.throughput} is ${throughput} MiB/s: gp3 allows ${GP3_LIMITS.minThroughputMiBps}–${GP3_LIMITS.maxThroughputMiBps} MiB/s (EBS gp3 limits)`,
    );
  }
  let sizeGiB: number | undefined;
  if (size === UNKNOWN) out.unknown(`${volume.where}.${f.size ?? "size"}`);
  else if (size !== undefined && !Number.isNaN(size)) sizeGiB = size;
  if (!ratiosKnown || iops === UNKNOWN || throughput === UNKNOWN) return;
  for (const v of gp3Violations({ iops, throughputMiBps: throughput, sizeGiB })) {
    const field = v.field === "throughputMiBps" ? f.throughput : f.iops;
    out.violation(`${volume.where}.${field}: ${v.message} (EBS gp3 limits)`);
  }
}

/**
 * Reads a StorageClass parameter by name, ignoring case (the EBS CSI driver's parameter keys are
 * case-insensitive).
 */
export function storageClassParameter(parameters: unknown, name: string): unknown {
  const entries = entriesOf(parameters);
  if (entries === UNKNOWN) return UNKNOWN;
  const found = entries.find(([k]) => k.toLowerCase() === name.toLowerCase());
  return found?.[1];
}

/** True when a StorageClass's inputs name an EBS provisioner; `UNKNOWN` when the provisioner is unknown. */
export function isEbsStorageClass(props: Record<string, unknown>): boolean | typeof UNKNOWN {
  const provisioner = prop(props, "provisioner");
  if (provisioner === UNKNOWN) return UNKNOWN;
  return typeof provisioner === "string" && EBS_PROVISIONERS.includes(provisioner);
}

/** The EBS mappings of a launch template (`blockDeviceMappings[i].ebs`), or `UNKNOWN`. */
function launchTemplateEbs(props: Record<string, unknown>, out: Findings): Array<[string, unknown]> {
  const mappings = arrayOf(prop(props, "blockDeviceMappings"));
  if (mappings === UNKNOWN) {
    out.unknown("blockDeviceMappings");
    return [];
  }
  const result: Array<[string, unknown]> = [];
  mappings.forEach((m, i) => {
    const ebs = prop(m, "ebs");
    if (m === UNKNOWN || ebs === UNKNOWN) out.unknown(`blockDeviceMappings[${i}]`);
    else if (ebs !== undefined && ebs !== null) result.push([`blockDeviceMappings[${i}].ebs`, ebs]);
  });
  return result;
}

/**
 * Rule "ebs-ssd-iops": every EBS volume is gp3 within the gp3 limits, or io1/io2 with 3,000+ IOPS.
 * Applies to launch templates (`blockDeviceMappings[].ebs`: `volumeType`, `iops`, `throughput`,
 * `volumeSize`), `aws.ebs.Volume` (`type`, `iops`, `throughput`, `size`) and EBS StorageClasses
 * (`parameters.type`, `iops`, `throughput`; `iopsPerGB` without `iops` is refused because the IOPS would
 * then depend on each claim's size).
 * @param type the resource's Pulumi type token.
 * @param props the resource's inputs.
 * @returns violations and undetermined fields; empty for other resource types.
 */
export function checkEbsSsdIops(type: string, props: Record<string, unknown>): RuleResult {
  const out = new Findings();
  if (type === LAUNCH_TEMPLATE_TYPE) {
    for (const [where, ebs] of launchTemplateEbs(props, out)) {
      checkEbsPerformance(
        {
          where,
          fields: { type: "volumeType", iops: "iops", throughput: "throughput", size: "volumeSize" },
          volumeType: prop(ebs, "volumeType"),
          iops: prop(ebs, "iops"),
          throughputMiBps: prop(ebs, "throughput"),
          sizeGiB: prop(ebs, "volumeSize"),
        },
        out,
      );
    }
  } else if (type === EBS_VOLUME_TYPE) {
    checkEbsPerformance(
      {
        where: "volume",
        fields: { type: "type", iops: "iops", throughput: "throughput", size: "size" },
        volumeType: prop(props, "type"),
        iops: prop(props, "iops"),
        throughputMiBps: prop(props, "throughput"),
        sizeGiB: prop(props, "size"),
      },
      out,
    );
  } else if (type === STORAGE_CLASS_TYPE) {
    const ebs = isEbsStorageClass(props);
    if (ebs === UNKNOWN) out.unknown("provisioner");
    if (ebs !== true) return out;
    const parameters = prop(props, "parameters");
    if (parameters === UNKNOWN) {
      out.unknown("parameters");
      return out;
    }
    const iops = storageClassParameter(parameters, "iops");
    const iopsPerGB = storageClassParameter(parameters, "iopsPerGB");
    if (iops === undefined && iopsPerGB !== undefined) {
      out.violation(
        `parameters.iopsPerGB is ${show(iopsPerGB)} without parameters.iops: the IOPS would depend on each claim's size; set iops (>= ${GP3_LIMITS.minIops}, seed guide)`,
      );
    }
    checkEbsPerformance(
      {
        where: "parameters",
        fields: { type: "type", iops: "iops", throughput: "throughput" },
        volumeType: storageClassParameter(parameters, "type"),
        iops,
        throughputMiBps: storageClassParameter(parameters, "throughput"),
      },
      out,
    );
  }
  return out;
}

/**
 * Rule "ebs-encrypted": every EBS volume is encrypted. Launch templates: `blockDeviceMappings[].ebs.encrypted`
 * = "true"; `aws.ebs.Volume`: `encrypted` = true; EBS StorageClasses: `parameters.encrypted` = "true".
 * Account-level default encryption is not visible to a policy, so the flag must be explicit.
 * @param type the resource's Pulumi type token.
 * @param props the resource's inputs.
 * @returns violations and undetermined fields; empty for other resource types.
 */
export function checkEbsEncrypted(type: string, props: Record<string, unknown>): RuleResult {
  const out = new Findings();
  const expect = (where: string, value: unknown, wanted: string): void => {
    const b = booleanOf(value);
    if (b === UNKNOWN) out.unknown(where);
    else if (b !== true) out.violation(`${where} is ${show(value)}: EBS volumes must be encrypted (set ${wanted})`);
  };
  if (type === LAUNCH_TEMPLATE_TYPE) {
    for (const [where, ebs] of launchTemplateEbs(props, out))
      expect(`${where}.encrypted`, prop(ebs, "encrypted"), `"true"`);
  } else if (type === EBS_VOLUME_TYPE) {
    expect("encrypted", prop(props, "encrypted"), "true");
  } else if (type === STORAGE_CLASS_TYPE) {
    const ebs = isEbsStorageClass(props);
    if (ebs === UNKNOWN) out.unknown("provisioner");
    if (ebs !== true) return out;
    expect("parameters.encrypted", storageClassParameter(prop(props, "parameters"), "encrypted"), `"true"`);
  }
  return out;
}
