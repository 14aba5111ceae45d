// Khronos glTF-Validator over stdin/stdout.
//   node gltf_validate.js          one GLB on stdin -> its report as JSON on stdout
//   node gltf_validate.js --serve  frames of [uint32 LE length][GLB bytes] -> one JSON report per line,
//                                  until stdin closes (a warm process saves Node's ~150 ms start per GLB)
const validator = require("gltf-validator");

async function report(buf) {
  try {
    return JSON.stringify(await validator.validateBytes(new Uint8Array(buf), { maxIssues: 100 }));
  } catch (err) {
    return JSON.stringify({ fatal: String(err) });
  }
}

if (process.argv.includes("--serve")) {
  let pending = Buffer.alloc(0);
  let busy = Promise.resolve();
  process.stdin.on("data", (chunk) => {
    pending = Buffer.concat([pending, chunk]);
    while (pending.length >= 4 && pending.length >= 4 + pending.readUInt32LE(0)) {
      const size = pending.readUInt32LE(0);
      const glb = pending.subarray(4, 4 + size);
      pending = pending.subarray(4 + size);
      busy = busy.then(async () => process.stdout.write((await report(glb)) + "\n"));
    }
  });
} else {
  const chunks = [];
  process.stdin.on("data", (c) => chunks.push(c));
  process.stdin.on("end", async () => process.stdout.write(await report(Buffer.concat(chunks))));
}
