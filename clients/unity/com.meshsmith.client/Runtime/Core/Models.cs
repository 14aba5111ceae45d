// The meshsmith API's messages as plain C# types (proto3 JSON from the Connect protocol, see the README).
// No UnityEngine: this assembly compiles with Debian's mono (C# 7.2) and in Unity (netstandard2.1).
using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using Newtonsoft.Json.Linq;

namespace Meshsmith.Client
{
    /// <summary>A call failed with a gRPC/Connect code ("unauthenticated", "permission_denied", "data_loss"...).</summary>
    public class MeshsmithException : Exception
    {
        public string Code { get; private set; }
        public int HttpStatus { get; private set; }

        public MeshsmithException(string code, string message, int httpStatus = 0) : base(code + ": " + message)
        {
            Code = code;
            HttpStatus = httpStatus;
        }
    }

    /// <summary>Bytes whose sha256 or size differ from what the server or the lockfile pins: never written.</summary>
    public sealed class IntegrityException : MeshsmithException
    {
        public IntegrityException(string message) : base("data_loss", message) { }
    }

    /// <summary>One event of a job's stream: stage ("queued", "reconstruct", ..., "done"), fraction 0..1.</summary>
    public sealed class JobProgress
    {
        public string JobId;
        public ulong Sequence;
        public string Stage;
        public double Fraction;
        public string Message;
        public VersionInfo Version;   // set on the last event of a successful job
        public string ErrorCode;      // set when the job failed
        public string ErrorMessage;

        internal static JobProgress FromJson(JObject ev)
        {
            var p = new JobProgress
            {
                JobId = Json.Str(ev, "jobId"), Sequence = Json.U64(ev, "sequence"), Stage = Json.Str(ev, "stage"),
                Fraction = Json.F64(ev, "fraction"), Message = Json.Str(ev, "message"),
            };
            var v = ev["version"] as JObject;
            if (v != null) p.Version = VersionInfo.FromJson(v);
            var e = ev["error"] as JObject;
            if (e != null)
            {
                p.ErrorCode = Json.Str(e, "code");
                p.ErrorMessage = Json.Str(e, "message");
            }
            return p;
        }
    }

    public sealed class ArtifactInfo
    {
        public string Kind;
        public int Lod;
        public string Sha256;
        public long Size;
        public string MediaType;

        internal static ArtifactInfo FromJson(JObject a)
        {
            return new ArtifactInfo
            {
                Kind = Json.Str(a, "kind"), Lod = (int)Json.U64(a, "lod"), Sha256 = Json.Str(a, "sha256"),
                Size = (long)Json.U64(a, "size"), MediaType = Json.Str(a, "mediaType"),
            };
        }
    }

    /// <summary>One immutable version; <see cref="Raw"/> keeps every field the server sent.</summary>
    public sealed class VersionInfo
    {
        public string Asset;
        public int Number;
        public DateTime? CreatedAt;
        public string Author;
        public string Mode;
        public string Backend;
        public long Faces;
        public bool Deprecated;
        public bool Reused;
        public string JobId;
        public List<string> Channels = new List<string>();
        public List<ArtifactInfo> Artifacts = new List<ArtifactInfo>();
        public JObject Raw;

        public ArtifactInfo Artifact(string kind, int lod = 0)
        {
            return Artifacts.FirstOrDefault(a => a.Kind == kind && a.Lod == lod);
        }

        /// <summary>The GLB levels of detail, 0 (full) first: the LOD manifest of this version.</summary>
        public List<ArtifactInfo> Lods()
        {
            return Artifacts.Where(a => a.Kind == "glb").OrderBy(a => a.Lod).ToList();
        }

        internal static VersionInfo FromJson(JObject v)
        {
            var info = new VersionInfo
            {
                Asset = Json.Str(v, "asset"), Number = (int)Json.U64(v, "number"), Author = Json.Str(v, "author"),
                Mode = Json.Str(v, "mode"), Backend = Json.Str(v, "backend"), Deprecated = Json.Bool(v, "deprecated"),
                Reused = Json.Bool(v, "reused"), JobId = Json.Str(v, "jobId"), Raw = v,
            };
            var created = Json.Str(v, "createdAt");
            if (created.Length > 0)
                info.CreatedAt = DateTime.Parse(created, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal);
            var stats = v["stats"] as JObject;
            if (stats != null) info.Faces = (long)Json.U64(stats, "faces");
            var channels = v["channels"] as JArray;
            if (channels != null) info.Channels.AddRange(channels.Select(c => (string)c));
            var artifacts = v["artifacts"] as JArray;
            if (artifacts != null) info.Artifacts.AddRange(artifacts.OfType<JObject>().Select(ArtifactInfo.FromJson));
            return info;
        }
    }

    public sealed class AssetInfo
    {
        public string Name;
        public string Description;
        public List<string> Tags = new List<string>();
        public int VersionCount;
        public VersionInfo Latest;
        public Dictionary<string, int> Channels = new Dictionary<string, int>();

        internal static AssetInfo FromJson(JObject a)
        {
            var info = new AssetInfo
            {
                Name = Json.Str(a, "name"), Description = Json.Str(a, "description"),
                VersionCount = (int)Json.U64(a, "versionCount"),
            };
            var tags = a["tags"] as JArray;
            if (tags != null) info.Tags.AddRange(tags.Select(t => (string)t));
            var latest = a["latest"] as JObject;
            if (latest != null) info.Latest = VersionInfo.FromJson(latest);
            var channels = a["channels"] as JArray;
            if (channels != null)
                foreach (var c in channels.OfType<JObject>()) info.Channels[Json.Str(c, "name")] = (int)Json.U64(c, "version");
            return info;
        }
    }

    /// <summary>The parameters of `meshsmith generate`; null = the server's default.</summary>
    public sealed class GenerateOptions
    {
        public string Mode;            // "RECONSTRUCT_MODE_INFLATE", ... (proto enum names)
        public int? TargetFaces;
        public double? TargetHeightM;
        public double? TargetWidthM;
        public double? DepthM;
        public int? TextureSize;
        public ulong? Seed;
        public string Author;
        public string RequestId;       // makes retries safe: the same id returns the same job / version

        internal JObject ParamsJson()
        {
            var p = new JObject();
            if (Mode != null) p["mode"] = Mode;
            if (TargetFaces.HasValue) p["targetFaces"] = TargetFaces.Value;
            if (TargetHeightM.HasValue) p["targetHeightM"] = TargetHeightM.Value;
            if (TargetWidthM.HasValue) p["targetWidthM"] = TargetWidthM.Value;
            if (DepthM.HasValue) p["depthM"] = DepthM.Value;
            if (TextureSize.HasValue) p["textureSize"] = TextureSize.Value;
            if (Seed.HasValue) p["seed"] = Seed.Value.ToString(CultureInfo.InvariantCulture);
            return p;
        }
    }

    public sealed class PulledArtifact
    {
        public VersionInfo Version;
        public ArtifactInfo Artifact;
        public byte[] Data;   // verified: its sha256 and size are the artifact's
    }

    internal static class Json
    {
        public static string Str(JObject o, string name)
        {
            var t = o[name];
            return t == null || t.Type == JTokenType.Null ? "" : (string)t;
        }

        public static ulong U64(JObject o, string name)
        {
            var t = o[name];  // 64-bit integers arrive as strings in proto3 JSON
            return t == null || t.Type == JTokenType.Null ? 0UL : ulong.Parse((string)t, CultureInfo.InvariantCulture);
        }

        public static double F64(JObject o, string name)
        {
            var t = o[name];
            return t == null || t.Type == JTokenType.Null ? 0.0 : (double)t;
        }

        public static bool Bool(JObject o, string name)
        {
            var t = o[name];
            return t != null && t.Type == JTokenType.Boolean && (bool)t;
        }
    }
}
