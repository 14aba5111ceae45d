// The API on the page's own origin: Connect (binary) with @connectrpc/connect-web and the code buf generates
// (clients/web/gen). The key lives in sessionStorage only and travels in the Authorization header.
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import { AssetService } from "../gen/meshsmith/v1/assets_pb.js";
import { IngestService } from "../gen/meshsmith/v1/ingest_pb.js";
import { JobService } from "../gen/meshsmith/v1/jobs_pb.js";
import { AdminService } from "../gen/meshsmith/v1/admin_pb.js";

const KEY = "meshsmith.apiKey";

export const key = {
  get: () => sessionStorage.getItem(KEY) || "",
  set: (value) => sessionStorage.setItem(KEY, value.trim()),
  clear: () => sessionStorage.removeItem(KEY),
};

function authHeaders() {
  const k = key.get();
  return k ? { Authorization: `Bearer ${k}` } : {};
}

const transport = createConnectTransport({
  baseUrl: location.origin,
  useBinaryFormat: true,
  interceptors: [(next) => (req) => {
    const k = key.get();
    if (k) req.header.set("Authorization", `Bearer ${k}`);
    return next(req);
  }],
});

export const assets = createClient(AssetService, transport);
export const ingest = createClient(IngestService, transport);
export const jobs = createClient(JobService, transport);
export const admin = createClient(AdminService, transport);

const HINTS = {
  [Code.Unauthenticated]: "The server did not accept the API key",
  [Code.PermissionDenied]: "Your key may not do this",
  [Code.NotFound]: "Not found",
  [Code.InvalidArgument]: "The request was refused",
  [Code.FailedPrecondition]: "Not possible now",
  [Code.ResourceExhausted]: "Too much at once",
  [Code.Unavailable]: "The server is unavailable; try again in a moment",
  [Code.DeadlineExceeded]: "The server took too long",
  [Code.Canceled]: "Cancelled",
};

/** Any thrown value -> one sentence for people. */
export function describe(err) {
  if (err instanceof ConnectError || err?.code !== undefined) {
    const e = ConnectError.from(err);
    const hint = HINTS[e.code] || "The server answered with an error";
    return e.rawMessage ? `${hint}: ${e.rawMessage}` : `${hint}.`;
  }
  if (err instanceof TypeError) return `Cannot reach the server (${err.message}).`;
  return String(err?.message || err);
}

export function codeOf(err) {
  return ConnectError.from(err).code;
}

/**
 * What the key may do, from cheap probes that change nothing: an admin-only list and a creator-only lookup.
 * Returns "admin" | "creator" | "reader"; throws when the key is refused.
 */
export async function probeRole() {
  await assets.searchAssets({ prefix: "", limit: 1 }); // unauthenticated -> throws
  try {
    await admin.listApiKeys({});
    return "admin";
  } catch (e) {
    if (codeOf(e) !== Code.PermissionDenied) throw e;
  }
  try {
    await jobs.getJob({ jobId: "role-probe" });
    return "creator";
  } catch (e) {
    if (codeOf(e) === Code.PermissionDenied) return "reader";
    return "creator"; // not_found / invalid_argument: the role check passed
  }
}

/** GET a /blobs URL with the key header (never in the URL). */
export async function fetchBlob(sha256) {
  const resp = await fetch(`/blobs/${sha256}`, { headers: authHeaders() });
  if (!resp.ok) throw new Error(`blob ${sha256.slice(0, 12)}…: HTTP ${resp.status} ${(await resp.text()).trim()}`);
  return resp.blob();
}

const urlCache = new Map();
/** An object URL for a blob, fetched once per page. */
export function blobUrl(sha256) {
  if (!urlCache.has(sha256)) {
    const p = fetchBlob(sha256).then((b) => URL.createObjectURL(b));
    p.catch(() => urlCache.delete(sha256));
    urlCache.set(sha256, p);
  }
  return urlCache.get(sha256);
}

/** Save bytes as a file (an <a download> on an object URL). */
export function saveAs(blob, filename) {
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}
