/**
 * A jest reporter that lists every skipped test by its full title at the end of `npm test`: the titles name what is
 * missing (a PostgreSQL with pgmq, the charts, a CRD, promtool, ...), which jest's default reporter does not print
 * when several files run. `.ci/run` prints the same list from jest's JSON report.
 */
const path = require("path");

class SkippedReporter {
  onRunComplete(_contexts, results) {
    const skipped = [];
    for (const file of results.testResults) {
      for (const t of file.testResults) {
        if (t.status === "pending" || t.status === "skipped" || t.status === "todo") {
          skipped.push(`  ${t.fullName} (${path.relative(process.cwd(), file.testFilePath)})`);
        }
      }
    }
    if (skipped.length > 0)
      process.stderr.write(`\nSkipped tests (each title says what is missing):\n${skipped.join("\n")}\n`);
  }
}

module.exports = SkippedReporter;
