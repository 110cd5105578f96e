/**
 * Amazon EBS gp3 limits, checked before anything is created.
 *
 * Sources (checked against AWS's current text; the ceilings were raised in September 2025 from
 * 16 TiB / 16,000 IOPS / 1,000 MiB/s):
 * - Amazon EBS User Guide, "General Purpose SSD volumes", gp3:
 *   https://docs.aws.amazon.com/ebs/latest/userguide/general-purpose.html#gp3-ebs-volume-type
 *   baseline 3,000 IOPS and 125 MiB/s; provisioned IOPS at most 500 per GiB of volume size;
 *   provisioned throughput at most 0.25 MiB/s per provisioned IOPS.
 * - Amazon EC2 API Reference, CreateVolume / ModifyVolume / EbsBlockDevice:
 *   https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateVolume.html
 *   `Size` gp3: 1 - 65,536 GiB; `Iops` gp3: 3,000 - 80,000 IOPS; `Throughput` 125 - 2,000 MiB/s.
 * The seed guide requires SSD storage of at least 3,000 IOPS, which is also gp3's floor.
 *
 * Consequences worth knowing: 80,000 IOPS needs at least 160 GiB (500/GiB); 2,000 MiB/s needs at
 * least 8,000 IOPS (0.25 MiB/s per IOPS) and so at least 16 GiB; and since IOPS is at least 3,000,
 * a gp3 volume is at least 6 GiB.
 */
import { z } from "zod";

/** gp3 limits with their source (see the module comment). */
export const GP3_LIMITS = {
  minSizeGiB: 1,
  maxSizeGiB: 65_536,
  minIops: 3_000,
  maxIops: 80_000,
  maxIopsPerGiB: 500,
  minThroughputMiBps: 125,
  maxThroughputMiBps: 2_000,
  maxThroughputMiBpsPerIops: 0.25,
} as const;

/** One broken gp3 rule: the field it is about (relative to the volume object) and a message with the numbers. */
export interface Gp3Violation {
  readonly field: "sizeGiB" | "iops" | "throughputMiBps";
  /** The offending value of `field`. */
  readonly value: number;
  readonly message: string;
}

/**
 * Checks the cross-field gp3 rules for one volume (the single-field ranges are in the zod schemas
 * below): throughput at most 0.25 MiB/s per provisioned IOPS, IOPS at most 500 per GiB of size.
 * Source: Amazon EBS User Guide, gp3 (see the module comment).
 * @param volume `iops`, `throughputMiBps` and, when known, `sizeGiB` (a StorageClass has no size; pass the
 *   size of the volumes claimed from it).
 * @returns every broken rule (empty when the volume is valid).
 */
export function gp3Violations(volume: { iops: number; throughputMiBps: number; sizeGiB?: number }): Gp3Violation[] {
  const out: Gp3Violation[] = [];
  // Throughput is set in whole MiB/s: 3,001 IOPS allow 750.25, so 750 is the largest settable value.
  const maxThroughput = Math.floor(volume.iops * GP3_LIMITS.maxThroughputMiBpsPerIops);
  if (volume.throughputMiBps > maxThroughput) {
    out.push({
      field: "throughputMiBps",
      value: volume.throughputMiBps,
      message: `throughput ${volume.throughputMiBps} MiB/s exceeds 0.25 MiB/s per provisioned IOPS (${volume.iops} IOPS allow at most ${maxThroughput} MiB/s); raise iops to >= ${Math.ceil(volume.throughputMiBps / GP3_LIMITS.maxThroughputMiBpsPerIops)} or lower throughputMiBps`,
    });
  }
  if (volume.sizeGiB !== undefined) {
    const maxIops = volume.sizeGiB * GP3_LIMITS.maxIopsPerGiB;
    if (volume.iops > maxIops) {
      out.push({
        field: "iops",
        value: volume.iops,
        message: `${volume.iops} IOPS exceeds 500 IOPS per GiB (a ${volume.sizeGiB} GiB volume allows at most ${maxIops} IOPS); use >= ${Math.ceil(volume.iops / GP3_LIMITS.maxIopsPerGiB)} GiB or fewer IOPS`,
      });
    }
  }
  return out;
}

/** IOPS of a gp3 volume: 3,000 (the seed's minimum and gp3's floor) to 80,000. */
export const gp3Iops = z
  .number()
  .int({ message: "must be an integer" })
  .min(GP3_LIMITS.minIops, { message: `must be >= ${GP3_LIMITS.minIops} IOPS (gp3 floor and the seed's SSD minimum)` })
  .max(GP3_LIMITS.maxIops, { message: `must be <= ${GP3_LIMITS.maxIops} IOPS (gp3 maximum)` });

/** Throughput of a gp3 volume in MiB/s: 125 to 2,000. */
export const gp3ThroughputMiBps = z
  .number()
  .int({ message: "must be an integer" })
  .min(GP3_LIMITS.minThroughputMiBps, { message: `must be >= ${GP3_LIMITS.minThroughputMiBps} MiB/s (gp3 floor)` })
  .max(GP3_LIMITS.maxThroughputMiBps, { message: `must be <= ${GP3_LIMITS.maxThroughputMiBps} MiB/s (gp3 maximum)` });

/** Size of a gp3 volume in GiB: 1 to 65,536. */
export const gp3SizeGiB = z
  .number()
  .int({ message: "must be an integer" })
  .min(GP3_LIMITS.minSizeGiB, { message: `must be >= ${GP3_LIMITS.minSizeGiB} GiB` })
  .max(GP3_LIMITS.maxSizeGiB, { message: `must be <= ${GP3_LIMITS.maxSizeGiB} GiB (gp3 maximum, 64 TiB)` });
