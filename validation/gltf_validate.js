// Reads a GLB on stdin, prints Khronos glTF-Validator's report as JSON on stdout.
const validator = require("gltf-validator");
const chunks = [];
process.stdin.on("data", (c) => chunks.push(c));
process.stdin.on("end", async () => {
  try {
    const buf = Buffer.concat(chunks);
    const report = await validator.validateBytes(new Uint8Array(buf), { maxIssues: 100 });
    process.stdout.write(JSON.stringify(report));
  } catch (err) {
    process.stdout.write(JSON.stringify({ fatal: String(err) }));
  }
});
