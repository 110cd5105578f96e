/**
 * Unit parsing shared by the config schemas and the calculators.
 *
 * Two families of quantities appear in stack config, each spelled the way its own system spells it:
 * - Kubernetes resource quantities (`4Gi`, `512Mi`, `2`, `500m`), as in
 *   https://kubernetes.io/docs/reference/kubernetes-api/common-definitions/quantity/
 * - PostgreSQL memory and time units (`2GB`, `64kB`, `10s`, `5min`), as in
 *   https://www.postgresql.org/docs/current/config-setting.html#CONFIG-SETTING-NAMES-VALUES
 *   (memory units are powers of 1024: `1GB` = 1024 MB).
 */

const KUBE_BINARY: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40 };
const KUBE_DECIMAL: Record<string, number> = { k: 1e3, M: 1e6, G: 1e9, T: 1e12 };

/** Pattern of a Kubernetes memory quantity this project accepts (`4Gi`, `4096Mi`, `4G`, `4294967296`). */
export const KUBE_MEMORY_PATTERN = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?$/;

/** Pattern of a Kubernetes CPU quantity (`2`, `0.5`, `500m`). */
export const KUBE_CPU_PATTERN = /^(\d+(?:\.\d+)?)(m)?$/;

/**
 * Parses a Kubernetes memory quantity into bytes.
 * @param quantity e.g. `4Gi`, `512Mi`, `1G`.
 * @returns bytes (an integer, rounded down).
 * @throws Error when the text is not a memory quantity.
 */
export function parseKubeMemoryBytes(quantity: string): number {
  const m = KUBE_MEMORY_PATTERN.exec(quantity.trim());
  if (!m) {
    throw new Error(`"${quantity}" is not a Kubernetes memory quantity (e.g. 4Gi, 512Mi)`);
  }
  const suffix = m[2] ?? "";
  const factor = KUBE_BINARY[suffix] ?? KUBE_DECIMAL[suffix] ?? 1;
  return Math.floor(Number(m[1]) * factor);
}

/**
 * Parses a Kubernetes CPU quantity into millicores.
 * @param quantity e.g. `2`, `0.5`, `500m`.
 * @throws Error when the text is not a CPU quantity.
 */
export function parseKubeCpuMillis(quantity: string): number {
  const m = KUBE_CPU_PATTERN.exec(quantity.trim());
  if (!m) {
    throw new Error(`"${quantity}" is not a Kubernetes CPU quantity (e.g. 2, 500m)`);
  }
  return m[2] === "m" ? Math.floor(Number(m[1])) : Math.floor(Number(m[1]) * 1000);
}

/** PostgreSQL memory units in bytes (powers of 1024), as the server spells them. */
export const PG_MEMORY_UNITS: Readonly<Record<string, number>> = {
  B: 1,
  kB: 1024,
  MB: 1024 ** 2,
  GB: 1024 ** 3,
  TB: 1024 ** 4,
};

/** PostgreSQL time units in milliseconds, as the server spells them. */
export const PG_TIME_UNITS: Readonly<Record<string, number>> = {
  us: 0.001,
  ms: 1,
  s: 1000,
  min: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/**
 * Formats a byte count in the largest PostgreSQL memory unit that divides it exactly (`2GB`, `1536MB`).
 * @param bytes a non-negative integer.
 */
export function formatPgMemory(bytes: number): string {
  for (const unit of ["TB", "GB", "MB", "kB"] as const) {
    const size = PG_MEMORY_UNITS[unit];
    if (bytes >= size && bytes % size === 0) {
      return `${bytes / size}${unit}`;
    }
  }
  return `${bytes}B`;
}

/**
 * Formats a byte count as a Kubernetes binary quantity (`4Gi`, `1536Mi`).
 * @param bytes a non-negative integer.
 */
export function formatKubeMemory(bytes: number): string {
  for (const unit of ["Ti", "Gi", "Mi", "Ki"] as const) {
    const size = KUBE_BINARY[unit];
    if (bytes >= size && bytes % size === 0) {
      return `${bytes / size}${unit}`;
    }
  }
  return `${bytes}`;
}
