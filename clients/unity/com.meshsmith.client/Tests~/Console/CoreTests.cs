// Runs the Unity-free core (Runtime/Core) against a live meshsmith server; driven by
// tests/clients/test_unity_core.py, which compiles it with Debian's mono (mcs -langversion:7.2).
//   CoreTests.exe main BASE_URL ADMIN_KEY READER_KEY IMAGE WORKDIR ASSET
//   CoreTests.exe tampered BASE_URL READER_KEY LOCKFILE OUTDIR ASSET
// Prints one JSON object; exit code 0 when every check held, 1 otherwise (the failed check on stderr).
using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using Meshsmith.Client;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

static class CoreTests
{
    static int Main(string[] args)
    {
        try
        {
            var result = args[0] == "main" ? Main_(args).GetAwaiter().GetResult() : Tampered(args).GetAwaiter().GetResult();
            Console.WriteLine(result.ToString(Formatting.None));
            return 0;
        }
        catch (Exception e)
        {
            Console.Error.WriteLine("FAILED: " + e);
            return 1;
        }
    }

    static void Check(bool ok, string what)
    {
        if (!ok) throw new Exception("check failed: " + what);
    }

    static async Task<JObject> Error(Func<Task> call)
    {
        try
        {
            await call();
        }
        catch (MeshsmithException e)
        {
            return new JObject { { "code", e.Code }, { "message", e.Message }, { "integrity", e is IntegrityException } };
        }
        return null;
    }

    static async Task<JObject> Main_(string[] a)
    {
        string baseUrl = a[1], adminKey = a[2], readerKey = a[3], image = a[4], work = a[5], asset = a[6];
        var output = new JObject();
        using (var anonymous = new MeshsmithClient(baseUrl))
        using (var reader = new MeshsmithClient(baseUrl, readerKey))
        using (var admin = new MeshsmithClient(baseUrl, adminKey))
        {
            // auth errors, as over native gRPC
            output["noKey"] = await Error(() => anonymous.HistoryAsync(asset));
            output["readerGenerate"] = await Error(() => reader.GenerateAsync(asset, File.ReadAllBytes(image)));

            // generate with streamed progress
            var events = new List<JobProgress>();
            var version = await admin.GenerateAsync(asset, File.ReadAllBytes(image),
                                                    new GenerateOptions { TargetFaces = 3000, RequestId = "unity-core-1" },
                                                    p => events.Add(p));
            Check(events.Count > 3 && events.Last().Stage == "done", "progress ends with done");
            Check(events.Select(e => e.Fraction).SequenceEqual(events.Select(e => e.Fraction).OrderBy(f => f)), "fractions grow");
            output["stages"] = new JArray(events.Select(e => (object)e.Stage).ToArray());
            output["version"] = version.Number;

            // watch: re-attach to the finished job and replay it
            var watched = new List<string>();
            var again = await admin.WatchAsync(version.JobId, p => watched.Add(p.Stage));
            Check(again.Number == version.Number && watched.Last() == "done", "watch replays to done");
            output["watched"] = watched.Count;

            // history and search
            var history = await reader.HistoryAsync(asset);
            output["history"] = new JArray(history.Select(v => (object)v.Number).ToArray());
            output["historyFaces"] = history[0].Faces;
            output["historyAuthor"] = history[0].Author;
            var found = await reader.SearchAsync(asset.Split('/')[0] + "/");
            output["search"] = new JArray(found.Select(x => (object)x.Name).ToArray());

            // pull + verify
            var pulled = await reader.PullAsync(asset, version.Number.ToString(), "glb", 0);
            Check(pulled.Data.Length > 4 && pulled.Data[0] == (byte)'g' && pulled.Data[1] == (byte)'l', "a GLB");
            output["pulled"] = new JObject { { "size", pulled.Data.Length }, { "sha256", Integrity.Sha256Hex(pulled.Data) },
                                             { "artifactSha256", pulled.Artifact.Sha256 } };
            output["lods"] = pulled.Version.Lods().Count;

            // lockfile: resolve, save, fetch (twice: the second skips), a tampered pin refused
            var lockfile = await reader.ResolveLockAsync(new[] { asset + "@latest" }, 3600);
            var lockPath = Path.Combine(work, "assets.lock.json");
            var existing = new Lockfile();  // "pin to channel" into a lockfile that pins another asset already
            existing.Assets["other/prop"] = new LockEntry { Version = 9, Ref = "9", Sha256 = "x", Size = 1, Url = "http://x" };
            existing.Assets[asset] = new LockEntry { Version = 99, Ref = "old", Sha256 = "x", Size = 1, Url = "http://x" };
            existing.Merge(lockfile);
            Check(existing.Assets.Count == lockfile.Assets.Count + 1 && existing.Assets[asset].Version == version.Number, "merge");
            lockfile.Save(lockPath);
            var loaded = Lockfile.Load(lockPath);
            var fetched = await reader.FetchLockedAsync(loaded, Path.Combine(work, "Locked"));
            var refetched = await reader.FetchLockedAsync(loaded, Path.Combine(work, "Locked"));
            Check(fetched.All(f => !f.Skipped) && refetched.All(f => f.Skipped), "fetch then skip");
            output["lockfile"] = lockPath;
            output["fetched"] = new JArray(fetched.Select(f => (object)f.Path).ToArray());
            output["lodManifest"] = new JArray(loaded.Lods(asset).Select(kv => (object)kv.Key).ToArray());

            var tampered = Lockfile.Load(lockPath);
            var first = tampered.Assets.Keys.First();
            tampered.Assets[first].Sha256 = new string('0', 64);
            var badDir = Path.Combine(work, "Tampered");
            output["tamperedPin"] = await Error(() => reader.FetchLockedAsync(tampered, badDir));
            output["tamperedPinWrote"] = Directory.Exists(badDir) && Directory.EnumerateFiles(badDir, "*", SearchOption.AllDirectories).Any();

            output["badRequest"] = await Error(() => reader.UnaryAsync("meshsmith.v1.AssetService/ListVersions",
                                                                         new JObject { { "asset", asset }, { "pageSizes", 1 } }));
        }
        return output;
    }

    static async Task<JObject> Tampered(string[] a)
    {
        string baseUrl = a[1], readerKey = a[2], lockPath = a[3], outDir = a[4], asset = a[5];
        var output = new JObject();
        using (var reader = new MeshsmithClient(baseUrl, readerKey))
        {
            output["fetch"] = await Error(() => reader.FetchLockedAsync(Lockfile.Load(lockPath), outDir));
            output["wrote"] = Directory.Exists(outDir) && Directory.EnumerateFiles(outDir, "*", SearchOption.AllDirectories).Any();
            output["pull"] = await Error(() => reader.PullAsync(asset, "latest"));
        }
        return output;
    }
}
