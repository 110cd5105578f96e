/**
 * Amazon EBS gp3 limits, checked before anything is created.
 *
 * Source: Amazon EBS User Guide, "General Purpose SSD volumes" (gp3), as raised in September 2025:
 * https://docs.aws.amazon.com/ebs/latest/userguide/general-purpose.html#gp3-ebs-volume-type
 * - size 1 GiB – 65,536 GiB (64 TiB)
 * - IOPS 3,000 – 80,000; at most 500 IOPS per GiB of volume size
 * - throughput 125 – 2,000 MiB/s; at most 0.25 MiB/s per provisioned IOPS
 * The seed guide requires SSD storage of at least 3,000 IOPS, which is also gp3's floor.
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
 * Checks the cross-field gp3 rules for one volume.
 * @param volume `iops`, `throughputMiBps` and, when known, `sizeGiB` (a StorageClass has no size; pass the
 *   size of the volumes claimed from it).
 * @returns every broken rule (empty when the volume is valid).
 */
export function gp3Violations(volume: { iops: number; throughputMiBps: number; sizeGiB?: number }): Gp3Violation[] {
  const out: Gp3Violation[] = [];
  const maxThroughput = volume.iops * GP3_LIMITS.maxThroughputMiBpsPerIops;
  if (volume.throughputMiBps > maxThroughput) {
    out.push({
      field: "throughputMiBps",
      value: volume.throughputMiBps,
      message: `throughput ${volume.throughputMiBps} MiB/s exceeds 0.25 MiB/s per provisioned IOPS (${volume.iops} IOPS allow at most ${maxThroughput} MiB/s)`,
    });
  }
  if (volume.sizeGiB !== undefined) {
    const maxIops = volume.sizeGiB * GP3_LIMITS.maxIopsPerGiB;
    if (volume.iops > maxIops) {
      out.push({
        field: "iops",
        value: volume.iops,
        message: `${volume.iops} IOPS exceeds 500 IOPS per GiB (a ${volume.sizeGiB} GiB volume allows at most ${maxIops} IOPS)`,
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
