// Khronos glTF-Validator as a warm process: frames of [uint32 LE length][GLB bytes] on stdin,
// one JSON report per line on stdout, in order, until stdin closes (saves Node's ~150 ms start per GLB).
const validator = require("gltf-validator");

async function report(buf) {
  try {
    return JSON.stringify(await validator.validateBytes(new Uint8Array(buf), { maxIssues: 100 }));
  } catch (err) {
    return JSON.stringify({ fatal: String(err) });
  }
}

let pending = Buffer.alloc(0);
let busy = Promise.resolve();
process.stdin.on("data", (chunk) => {
  pending = Buffer.concat([pending, chunk]);
  while (pending.length >= 4 && pending.length >= 4 + pending.readUInt32LE(0)) {
    const glb = pending.subarray(4, 4 + pending.readUInt32LE(0));
    pending = pending.subarray(4 + glb.length);
    busy = busy.then(async () => process.stdout.write((await report(glb)) + "\n"));
  }
});
