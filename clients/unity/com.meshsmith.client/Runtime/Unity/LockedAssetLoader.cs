// Needs Unity + glTFast (not compiled by `make test`): load one assets.lock.json entry at runtime, every LOD,
// each download verified by the core (Meshsmith.Client.MeshsmithClient.FetchEntryAsync) before glTFast sees it.
using System.Collections.Generic;
using System.IO;
using System.Threading.Tasks;
using GLTFast;
using UnityEngine;

namespace Meshsmith.Client.Unity
{
    public class LockedAssetLoader : MonoBehaviour
    {
        [Tooltip("The server's HTTP address; lockfile URLs written under --auth are signed, so builds need no key")]
        public string serverUrl = "http://127.0.0.1:8080";
        [Tooltip("assets.lock.json under StreamingAssets")]
        public string lockfileName = "assets.lock.json";
        [Tooltip("The locked asset, e.g. props/chair")]
        public string asset;

        async void Start()
        {
            await Load();
        }

        public async Task<LODGroup> Load()
        {
            var lockfile = Lockfile.Load(Path.Combine(Application.streamingAssetsPath, lockfileName));
            var levels = new List<GameObject>();
            using (var client = new MeshsmithClient(serverUrl))
            {
                foreach (var kv in lockfile.Lods(asset))
                {
                    var bytes = await client.FetchEntryAsync(kv.Key, kv.Value);  // IntegrityException on a mismatch
                    var level = new GameObject(kv.Key);
                    level.transform.SetParent(transform, false);
                    var gltf = new GltfImport();
                    if (!await gltf.LoadGltfBinary(bytes) || !await gltf.InstantiateMainSceneAsync(level.transform))
                        throw new MeshsmithException("internal", "glTFast could not load " + kv.Key);
                    levels.Add(level);
                }
            }
            return levels.Count > 1 ? LodGroupBuilder.Build(gameObject, levels) : null;
        }
    }
}
