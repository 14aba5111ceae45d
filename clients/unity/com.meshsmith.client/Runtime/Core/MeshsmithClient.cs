// A client of meshsmith's HTTP API in the Connect protocol (JSON): unary POSTs and server streams of
// enveloped messages, on the server's --http-address (the same port as /blobs). HttpClient + Newtonsoft.Json,
// no UnityEngine, C# 7.2.
using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace Meshsmith.Client
{
    public class MeshsmithClient : IDisposable
    {
        const string Assets = "meshsmith.v1.AssetService/";
        const string Ingest = "meshsmith.v1.IngestService/";
        const string Jobs = "meshsmith.v1.JobService/";
        const byte EndStream = 0x02;

        readonly HttpClient http;
        readonly string apiKey;
        public string BaseUrl { get; private set; }
        /// <summary>Default deadline of every call, sent as connect-timeout-ms (0 = none).</summary>
        public int TimeoutMs = 0;
        /// <summary>The largest message accepted from the server (the server's default limit).</summary>
        public int MaxMessageBytes = 64 << 20;

        /// <param name="baseUrl">the server's HTTP address, e.g. "http://127.0.0.1:8080"</param>
        /// <param name="apiKey">sent as "Authorization: Bearer"; null when the server runs without --auth</param>
        /// <param name="handler">e.g. Unity's platform handler; null = HttpClientHandler</param>
        public MeshsmithClient(string baseUrl, string apiKey = null, HttpMessageHandler handler = null)
        {
            BaseUrl = baseUrl.TrimEnd('/');
            this.apiKey = string.IsNullOrEmpty(apiKey) ? null : apiKey;
            http = handler == null ? new HttpClient() : new HttpClient(handler);
            http.Timeout = Timeout.InfiniteTimeSpan;  // deadlines: connect-timeout-ms + the CancellationToken
        }

        public void Dispose()
        {
            http.Dispose();
        }

        // ---- the protocol ------------------------------------------------------------------------------------

        HttpRequestMessage Post(string method, byte[] body, string contentType, int timeoutMs)
        {
            var req = new HttpRequestMessage(HttpMethod.Post, BaseUrl + "/" + method);
            req.Content = new ByteArrayContent(body);
            req.Content.Headers.ContentType = new MediaTypeHeaderValue(contentType);
            req.Headers.Add("Connect-Protocol-Version", "1");
            var t = timeoutMs > 0 ? timeoutMs : TimeoutMs;
            if (t > 0) req.Headers.Add("Connect-Timeout-Ms", t.ToString(CultureInfo.InvariantCulture));
            if (apiKey != null) req.Headers.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
            return req;
        }

        internal static JObject Parse(string text)
        {
            using (var reader = new JsonTextReader(new StringReader(text)) { DateParseHandling = DateParseHandling.None })
                return JObject.Load(reader);
        }

        static MeshsmithException ErrorOf(int httpStatus, string body)
        {
            try
            {
                var e = Parse(body);
                if (e["code"] != null) return new MeshsmithException((string)e["code"], Json.Str(e, "message"), httpStatus);
            }
            catch (JsonException) { }
            var code = httpStatus == 401 ? "unauthenticated" : httpStatus == 403 ? "permission_denied"
                     : httpStatus == 404 ? "unimplemented" : httpStatus == 429 || httpStatus == 502 || httpStatus == 503
                     || httpStatus == 504 ? "unavailable" : "unknown";
            return new MeshsmithException(code, "HTTP " + httpStatus + ": " + body.Trim(), httpStatus);
        }

        /// <summary>A unary call: POST application/json; the error's code on failure.</summary>
        public async Task<JObject> UnaryAsync(string method, JObject request, CancellationToken ct = default(CancellationToken),
                                              int timeoutMs = 0)
        {
            var body = Encoding.UTF8.GetBytes(request.ToString(Formatting.None));
            using (var req = Post(method, body, "application/json", timeoutMs))
            using (var resp = await http.SendAsync(req, HttpCompletionOption.ResponseContentRead, ct).ConfigureAwait(false))
            {
                var text = await resp.Content.ReadAsStringAsync().ConfigureAwait(false);
                if ((int)resp.StatusCode != 200) throw ErrorOf((int)resp.StatusCode, text);
                return Parse(text);
            }
        }

        /// <summary>A server-streaming call (application/connect+json): `onMessage` for each message, in order,
        /// on the calling flow; throws the end-stream error.</summary>
        public async Task StreamAsync(string method, JObject request, Action<JObject> onMessage,
                                      CancellationToken ct = default(CancellationToken), int timeoutMs = 0)
        {
            var json = Encoding.UTF8.GetBytes(request.ToString(Formatting.None));
            var body = new byte[json.Length + 5];
            WriteHeader(body, 0, json.Length);
            Buffer.BlockCopy(json, 0, body, 5, json.Length);
            using (var req = Post(method, body, "application/connect+json", timeoutMs))
            using (var resp = await http.SendAsync(req, HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false))
            {
                if ((int)resp.StatusCode != 200)
                    throw ErrorOf((int)resp.StatusCode, await resp.Content.ReadAsStringAsync().ConfigureAwait(false));
                using (var stream = await resp.Content.ReadAsStreamAsync().ConfigureAwait(false))
                {
                    var header = new byte[5];
                    while (true)
                    {
                        if (!await ReadExactAsync(stream, header, 5, ct).ConfigureAwait(false))
                            throw new MeshsmithException("unavailable", method + ": the stream ended without its end-stream message");
                        var size = (header[1] << 24) | (header[2] << 16) | (header[3] << 8) | header[4];
                        if (size < 0 || size > MaxMessageBytes)
                            throw new MeshsmithException("resource_exhausted", method + ": a message of " + size + " bytes is over the limit");
                        var payload = new byte[size];
                        if (!await ReadExactAsync(stream, payload, size, ct).ConfigureAwait(false))
                            throw new MeshsmithException("unavailable", method + ": the stream ended inside a message");
                        var msg = Parse(Encoding.UTF8.GetString(payload));
                        if ((header[0] & EndStream) != 0)
                        {
                            var err = msg["error"] as JObject;
                            if (err != null) throw new MeshsmithException(Json.Str(err, "code"), Json.Str(err, "message"), 200);
                            return;
                        }
                        onMessage(msg);
                    }
                }
            }
        }

        static void WriteHeader(byte[] buf, byte flags, int size)
        {
            buf[0] = flags;
            buf[1] = (byte)(size >> 24);
            buf[2] = (byte)(size >> 16);
            buf[3] = (byte)(size >> 8);
            buf[4] = (byte)size;
        }

        static async Task<bool> ReadExactAsync(Stream s, byte[] buf, int count, CancellationToken ct)
        {
            var done = 0;
            while (done < count)
            {
                var n = await s.ReadAsync(buf, done, count - done, ct).ConfigureAwait(false);
                if (n == 0) return false;
                done += n;
            }
            return true;
        }

        // ---- the API -------------------------------------------------------------------------------------------

        /// <summary>Image → a stored version, reporting every job event to `progress` (on the awaiting flow).
        /// Throws MeshsmithException with the job's error code if it fails.</summary>
        public async Task<VersionInfo> GenerateAsync(string asset, byte[] image, GenerateOptions options = null,
                                                     Action<JobProgress> progress = null,
                                                     CancellationToken ct = default(CancellationToken))
        {
            options = options ?? new GenerateOptions();
            var req = new JObject { { "asset", asset }, { "image", Convert.ToBase64String(image) }, { "params", options.ParamsJson() } };
            if (options.Author != null) req["author"] = options.Author;
            if (options.RequestId != null) req["requestId"] = options.RequestId;
            return await FollowJob(Ingest + "Generate", req, progress, ct).ConfigureAwait(false);
        }

        /// <summary>Re-attach to a job (after a restart of the editor, say): its events from `fromSequence`.</summary>
        public Task<VersionInfo> WatchAsync(string jobId, Action<JobProgress> progress = null, ulong fromSequence = 0,
                                            CancellationToken ct = default(CancellationToken))
        {
            var req = new JObject { { "jobId", jobId }, { "fromSequence", fromSequence.ToString(CultureInfo.InvariantCulture) } };
            return FollowJob(Jobs + "WatchJob", req, progress, ct);
        }

        async Task<VersionInfo> FollowJob(string method, JObject req, Action<JobProgress> progress, CancellationToken ct)
        {
            JobProgress last = null;
            await StreamAsync(method, req, msg =>
            {
                last = JobProgress.FromJson((JObject)msg["event"]);
                if (progress != null) progress(last);
            }, ct).ConfigureAwait(false);
            if (last == null) throw new MeshsmithException("unknown", method + " ended without an event");
            if (last.ErrorCode != null) throw new MeshsmithException(last.ErrorCode.ToLowerInvariant(), last.ErrorMessage);
            if (last.Version == null) throw new MeshsmithException("unknown", method + " ended at stage " + last.Stage + " without a version");
            return last.Version;
        }

        /// <summary>An asset's versions, newest first.</summary>
        public async Task<List<VersionInfo>> HistoryAsync(string asset, int pageSize = 100,
                                                          CancellationToken ct = default(CancellationToken))
        {
            var r = await UnaryAsync(Assets + "ListVersions", new JObject { { "asset", asset }, { "pageSize", pageSize } }, ct).ConfigureAwait(false);
            var versions = r["versions"] as JArray;
            return versions == null ? new List<VersionInfo>() : versions.OfType<JObject>().Select(VersionInfo.FromJson).ToList();
        }

        public async Task<AssetInfo> GetAssetAsync(string asset, CancellationToken ct = default(CancellationToken))
        {
            var r = await UnaryAsync(Assets + "GetAsset", new JObject { { "asset", asset } }, ct).ConfigureAwait(false);
            return AssetInfo.FromJson((JObject)r["asset"]);
        }

        /// <summary>Assets by name prefix and tags.</summary>
        public async Task<List<AssetInfo>> SearchAsync(string prefix, IEnumerable<string> tags = null, int limit = 100,
                                                       CancellationToken ct = default(CancellationToken))
        {
            var req = new JObject { { "prefix", prefix ?? "" }, { "limit", limit } };
            if (tags != null) req["tags"] = new JArray(tags.Cast<object>().ToArray());
            var r = await UnaryAsync(Assets + "SearchAssets", req, ct).ConfigureAwait(false);
            var assets = r["assets"] as JArray;
            return assets == null ? new List<AssetInfo>() : assets.OfType<JObject>().Select(AssetInfo.FromJson).ToList();
        }

        /// <summary>An artifact's bytes (PullArtifact stream), verified against its sha256 and size:
        /// IntegrityException otherwise.</summary>
        public async Task<PulledArtifact> PullAsync(string asset, string reference = "latest", string kind = "glb", int lod = 0,
                                                    CancellationToken ct = default(CancellationToken))
        {
            var req = new JObject { { "asset", asset }, { "ref", reference }, { "kind", kind }, { "lod", lod }, { "chunkSize", 1 << 20 } };
            var result = new PulledArtifact();
            var data = new MemoryStream();
            await StreamAsync(Assets + "PullArtifact", req, msg =>
            {
                var header = msg["header"] as JObject;
                if (header != null)
                {
                    result.Version = VersionInfo.FromJson((JObject)header["version"]);
                    result.Artifact = ArtifactInfo.FromJson((JObject)header["artifact"]);
                }
                else
                {
                    var chunk = Convert.FromBase64String((string)msg["chunk"]);
                    data.Write(chunk, 0, chunk.Length);
                }
            }, ct).ConfigureAwait(false);
            if (result.Artifact == null) throw new MeshsmithException("unknown", "PullArtifact sent no header");
            result.Data = data.ToArray();
            Integrity.Verify(asset + "@" + reference, result.Data, result.Artifact.Sha256, result.Artifact.Size);
            return result;
        }

        /// <summary>Pin specs ("props/chair@stable", "props/lamp@3") to exact versions and sha256s;
        /// under --auth the URLs are signed for `urlExpiresS` seconds.</summary>
        public async Task<Lockfile> ResolveLockAsync(IEnumerable<string> specs, int urlExpiresS = 0,
                                                     CancellationToken ct = default(CancellationToken))
        {
            var req = new JObject { { "specs", new JArray(specs.Cast<object>().ToArray()) }, { "baseUrl", BaseUrl } };
            if (urlExpiresS > 0) req["urlExpiresS"] = urlExpiresS;
            var r = await UnaryAsync(Assets + "ResolveLock", req, ct).ConfigureAwait(false);
            return Lockfile.FromResolve((JArray)r["entries"] ?? new JArray());
        }

        /// <summary>Download one locked entry and verify it (IntegrityException on a mismatch). The API key is
        /// sent only to this client's own server.</summary>
        public async Task<byte[]> FetchEntryAsync(string key, LockEntry entry, CancellationToken ct = default(CancellationToken))
        {
            using (var req = new HttpRequestMessage(HttpMethod.Get, entry.Url))
            {
                if (apiKey != null && entry.Url.StartsWith(BaseUrl + "/", StringComparison.Ordinal))
                    req.Headers.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
                using (var resp = await http.SendAsync(req, HttpCompletionOption.ResponseContentRead, ct).ConfigureAwait(false))
                {
                    if ((int)resp.StatusCode != 200)
                        throw ErrorOf((int)resp.StatusCode, await resp.Content.ReadAsStringAsync().ConfigureAwait(false));
                    var data = await resp.Content.ReadAsByteArrayAsync().ConfigureAwait(false);
                    Integrity.Verify(key, data, entry.Sha256, entry.Size);
                    return data;
                }
            }
        }

        /// <summary>Fetch every entry of `lockfile` into `root` (props/chair → ROOT/props/chair.glb), skipping files
        /// already there with the right sha256; nothing is written for an entry that does not verify.</summary>
        public async Task<List<FetchedAsset>> FetchLockedAsync(Lockfile lockfile, string root,
                                                               CancellationToken ct = default(CancellationToken))
        {
            var done = new List<FetchedAsset>();
            foreach (var kv in lockfile.Assets)
            {
                var path = Lockfile.TargetPath(root, kv.Key);
                if (File.Exists(path) && new FileInfo(path).Length == kv.Value.Size && Integrity.Sha256Hex(File.ReadAllBytes(path)) == kv.Value.Sha256)
                {
                    done.Add(new FetchedAsset { Key = kv.Key, Path = path, Skipped = true });
                    continue;
                }
                var data = await FetchEntryAsync(kv.Key, kv.Value, ct).ConfigureAwait(false);
                Lockfile.WriteAtomic(path, data);
                done.Add(new FetchedAsset { Key = kv.Key, Path = path, Skipped = false });
            }
            return done;
        }
    }

    public sealed class FetchedAsset
    {
        public string Key;
        public string Path;
        public bool Skipped;
    }
}
