// assets.lock.json, the same document `meshsmith lock` writes: exact versions and sha256s for a game build.
using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using System.Text;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace Meshsmith.Client
{
    public sealed class LockEntry
    {
        public int Version;
        public string Ref;
        public string Sha256;
        public long Size;
        public int Lod;
        public string Url;
        public string Integrity;
    }

    /// <summary>{"lockfileVersion": 1, "assets": {"props/chair": {...}, "props/chair#lod1": {...}}}</summary>
    public sealed class Lockfile
    {
        public const int CurrentVersion = 1;
        public SortedDictionary<string, LockEntry> Assets = new SortedDictionary<string, LockEntry>(StringComparer.Ordinal);

        internal static Lockfile FromResolve(JArray entries)
        {
            var lf = new Lockfile();
            foreach (var e in entries.OfType<JObject>())
            {
                var asset = Json.Str(e, "asset");
                var lod = (int)Json.U64(e, "lod");
                var spec = Json.Str(e, "spec");
                var at = spec.IndexOf('@');
                lf.Assets[lod == 0 ? asset : asset + "#lod" + lod] = new LockEntry
                {
                    Version = (int)Json.U64(e, "version"), Ref = at >= 0 ? spec.Substring(at + 1) : "", Sha256 = Json.Str(e, "sha256"),
                    Size = (long)Json.U64(e, "size"), Lod = lod, Url = Json.Str(e, "url"), Integrity = Json.Str(e, "integrity"),
                };
            }
            return lf;
        }

        /// <summary>"Pin to channel": `pins` replace this lockfile's entries of the same assets (all their LODs).</summary>
        public void Merge(Lockfile pins)
        {
            var names = new HashSet<string>(pins.Assets.Keys.Select(k => k.Split('#')[0]));
            foreach (var key in Assets.Keys.Where(k => names.Contains(k.Split('#')[0])).ToList()) Assets.Remove(key);
            foreach (var kv in pins.Assets) Assets[kv.Key] = kv.Value;
        }

        /// <summary>The LOD manifest of one asset: its locked keys, LOD 0 first.</summary>
        public List<KeyValuePair<string, LockEntry>> Lods(string asset)
        {
            return Assets.Where(kv => kv.Key == asset || kv.Key.StartsWith(asset + "#lod", StringComparison.Ordinal))
                         .OrderBy(kv => kv.Value.Lod).ToList();
        }

        public static Lockfile Load(string path)
        {
            var doc = MeshsmithClient.Parse(File.ReadAllText(path));
            var version = doc["lockfileVersion"];
            if (version == null || (int)version != CurrentVersion)
                throw new MeshsmithException("invalid_argument", path + ": unsupported lockfileVersion " + version);
            var lf = new Lockfile();
            foreach (var kv in (JObject)doc["assets"])
            {
                var e = (JObject)kv.Value;
                lf.Assets[kv.Key] = new LockEntry
                {
                    Version = (int)e["version"], Ref = Json.Str(e, "ref"), Sha256 = Json.Str(e, "sha256"), Size = (long)e["size"],
                    Lod = (int)e["lod"], Url = Json.Str(e, "url"), Integrity = Json.Str(e, "integrity"),
                };
            }
            return lf;
        }

        public void Save(string path)
        {
            var assets = new JObject();
            foreach (var kv in Assets)
                assets[kv.Key] = new JObject
                {
                    { "version", kv.Value.Version }, { "ref", kv.Value.Ref }, { "sha256", kv.Value.Sha256 }, { "size", kv.Value.Size },
                    { "lod", kv.Value.Lod }, { "url", kv.Value.Url }, { "integrity", kv.Value.Integrity },
                };
            var doc = new JObject { { "lockfileVersion", CurrentVersion }, { "assets", assets } };
            WriteAtomic(path, Encoding.UTF8.GetBytes(doc.ToString(Formatting.Indented) + "\n"));
        }

        /// <summary>props/chair → ROOT/props/chair.glb, props/chair#lod2 → ROOT/props/chair.lod2.glb; never outside ROOT.</summary>
        public static string TargetPath(string root, string key)
        {
            var hash = key.IndexOf('#');
            var name = hash >= 0 ? key.Substring(0, hash) : key;
            var suffix = hash >= 0 ? "." + key.Substring(hash + 1) : "";
            var full = Path.GetFullPath(Path.Combine(root, name.Replace('/', Path.DirectorySeparatorChar) + suffix + ".glb"));
            var rootFull = Path.GetFullPath(root).TrimEnd(Path.DirectorySeparatorChar) + Path.DirectorySeparatorChar;
            if (!full.StartsWith(rootFull, StringComparison.Ordinal))
                throw new MeshsmithException("invalid_argument", "lockfile entry '" + key + "' would write outside " + root);
            return full;
        }

        /// <summary>Temp file in the same folder, flushed, then renamed over `path`.</summary>
        public static void WriteAtomic(string path, byte[] data)
        {
            var dir = Path.GetDirectoryName(Path.GetFullPath(path));
            Directory.CreateDirectory(dir);
            var tmp = Path.Combine(dir, "." + Path.GetFileName(path) + "." + Guid.NewGuid().ToString("N") + ".tmp");
            using (var f = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write))
            {
                f.Write(data, 0, data.Length);
                f.Flush(true);
            }
            if (File.Exists(path)) File.Replace(tmp, path, null);
            else File.Move(tmp, path);
        }
    }

    public static class Integrity
    {
        public static string Sha256Hex(byte[] data)
        {
            using (var sha = SHA256.Create())
            {
                var hash = sha.ComputeHash(data);
                var sb = new StringBuilder(64);
                foreach (var b in hash) sb.Append(b.ToString("x2"));
                return sb.ToString();
            }
        }

        /// <summary>IntegrityException unless `data` has exactly this sha256 and size.</summary>
        public static void Verify(string what, byte[] data, string sha256, long size)
        {
            var actual = Sha256Hex(data);
            if (actual != sha256 || data.LongLength != size)
                throw new IntegrityException(what + ": got " + data.LongLength + " bytes with sha256 " + actual + ", expected " + size +
                                             " bytes with sha256 " + sha256 + " — refusing it");
        }
    }
}
