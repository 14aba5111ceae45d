// An independent client of the HTTP API: @connectrpc/connect-node with code from buf's protoc-gen-es
// (clients/web/gen, `make proto`), over the Connect (JSON) or the gRPC-Web (binary) transport.
//   node connect_client.mjs BASE_URL connect|grpcweb IMAGE ASSET [API_KEY]
//   -> one JSON line: generate stages + version, ListVersions numbers, pulled bytes + sha256, an error's code
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { createClient, ConnectError, Code } from "@connectrpc/connect";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { IngestService } from "../../clients/web/gen/meshsmith/v1/ingest_pb.js";
import { AssetService } from "../../clients/web/gen/meshsmith/v1/assets_pb.js";

const [baseUrl, kind, imagePath, asset, apiKey] = process.argv.slice(2);
const interceptors = apiKey ? [(next) => (req) => { req.header.set("authorization", `Bearer ${apiKey}`); return next(req); }] : [];
const options = { baseUrl, httpVersion: "1.1", interceptors, readMaxBytes: 64 << 20 };
const transport = kind === "grpcweb" ? createGrpcWebTransport(options) : createConnectTransport(options);
const ingest = createClient(IngestService, transport);
const assets = createClient(AssetService, transport);

const stages = [];
let version = null;
for await (const r of ingest.generate({ asset, image: readFileSync(imagePath), params: { targetFaces: 3000 } },
                                      { timeoutMs: 300_000 })) {
  stages.push(r.event.stage);
  if (r.event.payload.case === "version") version = r.event.payload.value;
  if (r.event.payload.case === "error") throw new Error(`job failed: ${r.event.payload.value.message}`);
}
const listed = await assets.listVersions({ asset });
const hash = createHash("sha256");
let size = 0, header = null;
for await (const r of assets.pullArtifact({ asset, ref: String(version.number), kind: "glb" })) {
  if (r.part.case === "header") header = r.part.value;
  else { hash.update(r.part.value); size += r.part.value.length; }
}
let missing = null;
try {
  await assets.listVersions({ asset: "no/such-asset" });
} catch (e) {
  missing = { code: Code[ConnectError.from(e).code], message: ConnectError.from(e).rawMessage };
}
console.log(JSON.stringify({
  stages, version: version.number, listed: listed.versions.map((v) => v.number),
  pulled: { size, sha256: hash.digest("hex"), header: header.artifact.sha256 }, missing,
}));
