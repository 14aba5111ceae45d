// An independent gRPC client (Node's @grpc/grpc-js, loading proto/ directly):
//   node node_client.js ADDRESS IMAGE ASSET  -> prints one JSON line: events, version, pulled bytes + sha256
const path = require("path");
const fs = require("fs");
const crypto = require("crypto");
const grpc = require("@grpc/grpc-js");
const loader = require("@grpc/proto-loader");

const [address, imagePath, asset] = process.argv.slice(2);
const root = path.resolve(__dirname, "..", "..", "proto");
const def = loader.loadSync(["meshsmith/v1/ingest.proto", "meshsmith/v1/assets.proto"], {
  includeDirs: [root], keepCase: true, longs: Number, enums: String, defaults: true,
});
const v1 = grpc.loadPackageDefinition(def).meshsmith.v1;
const opts = { "grpc.max_receive_message_length": 64 << 20, "grpc.max_send_message_length": 64 << 20 };
const ingest = new v1.IngestService(address, grpc.credentials.createInsecure(), opts);
const assets = new v1.AssetService(address, grpc.credentials.createInsecure(), opts);

function generate() {
  return new Promise((resolve, reject) => {
    const stages = [];
    let version = null;
    const call = ingest.Generate({ asset, image: fs.readFileSync(imagePath), params: { target_faces: 3000 } });
    call.on("data", (r) => { stages.push(r.event.stage); if (r.event.version) version = r.event.version; });
    call.on("error", reject);
    call.on("end", () => resolve({ stages, version }));
  });
}

function pull() {
  return new Promise((resolve, reject) => {
    let header = null;
    const chunks = [];
    const call = assets.PullArtifact({ asset, ref: "latest" });
    call.on("data", (r) => { if (r.header) header = r.header; else chunks.push(r.chunk); });
    call.on("error", reject);
    call.on("end", () => {
      const data = Buffer.concat(chunks);
      resolve({ header, size: data.length, sha256: crypto.createHash("sha256").update(data).digest("hex") });
    });
  });
}

(async () => {
  try {
    const gen = await generate();
    const pulled = await pull();
    process.stdout.write(JSON.stringify({ stages: gen.stages, number: gen.version && gen.version.number,
      expected_sha256: pulled.header.artifact.sha256, expected_size: Number(pulled.header.artifact.size),
      sha256: pulled.sha256, size: pulled.size }) + "\n");
    process.exit(0);
  } catch (err) {
    process.stdout.write(JSON.stringify({ error: String(err.code), details: err.details }) + "\n");
    process.exit(1);
  }
})();
