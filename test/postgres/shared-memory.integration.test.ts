/**
 * The memory budget's shared memory per allowed connection (components/postgres/tuning.ts,
 * `connectionSharedMemoryBytes`) against PostgreSQL's own figure: `postgres -C shared_memory_size` (a runtime-computed
 * setting since 15) on a fresh data directory at two values of max_connections, with max_locks_per_transaction 64
 * (the default) and 256, on every server this machine has (Debian's 15, the npm package's 17). The difference per
 * connection must be within 10% of the formula; a `max_connections` of 100,000 in a 4 GiB pod is then refused by the
 * loader (test/config/hostile.test.ts).
 */
import * as fs from "fs";
import * as path from "path";
import { connectionSharedMemoryBytes } from "../../components/postgres/tuning";
import {
  findPostgresBinaries,
  runServerCommand,
  serverOwnedTempDir,
  type PostgresBinaries,
} from "../../scripts/lib/local-postgres";

jest.setTimeout(120_000);

function binariesOf(major: number): PostgresBinaries | string {
  try {
    return findPostgresBinaries(major);
  } catch (e) {
    return (e as Error).message;
  }
}

for (const major of [15, 17]) {
  const bin = binariesOf(major);
  const title = `shared memory per connection on PostgreSQL ${major}`;
  // Without the binaries the describe is skipped, its title naming what is missing.
  (typeof bin === "string" ? describe.skip : describe)(
    typeof bin === "string" ? `${title} — SKIPPED: ${bin}` : `${title} (${bin.version})`,
    () => suite(major, bin as PostgresBinaries),
  );
}

function suite(major: number, bin: PostgresBinaries): void {
  let dir = "";
  beforeAll(async () => {
    dir = serverOwnedTempDir(`ducklake-shmem-${major}-`);
    await runServerCommand(bin, "initdb", ["-D", path.join(dir, "d"), "-U", "postgres", "--auth=trust"], dir);
  });
  afterAll(() => {
    if (dir !== "") fs.rmSync(dir, { recursive: true, force: true });
  });

  const sharedMemoryMiB = async (connections: number, locks: number): Promise<number> => {
    const out = await runServerCommand(
      bin,
      "postgres",
      [
        "-D",
        path.join(dir, "d"),
        "-C",
        "shared_memory_size",
        "-c",
        `max_connections=${connections}`,
        "-c",
        `max_locks_per_transaction=${locks}`,
      ],
      dir,
    );
    return Number(out.trim()); // MB as PostgreSQL prints it (MiB)
  };

  test.each([64, 256])(
    "max_locks_per_transaction %i: the formula is within 10%% of PostgreSQL's shared_memory_size",
    async (locks) => {
      const low = await sharedMemoryMiB(1_000, locks);
      const high = await sharedMemoryMiB(11_000, locks);
      const measuredPerConnection = ((high - low) * 2 ** 20) / 10_000;
      const formula = connectionSharedMemoryBytes(locks);
      console.log(
        `PostgreSQL ${bin.version}, max_locks_per_transaction ${locks}: ${(measuredPerConnection / 1024).toFixed(1)} KiB per connection measured, ${(formula / 1024).toFixed(1)} KiB by the formula`,
      );
      expect(Math.abs(formula - measuredPerConnection) / measuredPerConnection).toBeLessThan(0.1);
    },
  );
}
