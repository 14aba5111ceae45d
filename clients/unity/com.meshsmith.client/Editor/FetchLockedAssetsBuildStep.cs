// Needs Unity (not compiled by `make test`): before every build, fetch the assets pinned in the project's
// assets.lock.json into Assets/Meshsmith/Locked, verifying each sha256 (the core's FetchLockedAsync);
// a mismatch or an unreachable server fails the build.
using Meshsmith.Client;
using UnityEditor;
using UnityEditor.Build;
using UnityEditor.Build.Reporting;
using UnityEngine;

namespace Meshsmith.Client.Editor
{
    public class FetchLockedAssetsBuildStep : IPreprocessBuildWithReport
    {
        public int callbackOrder { get { return 0; } }

        public void OnPreprocessBuild(BuildReport report)
        {
            var lockPath = System.IO.Path.Combine(Application.dataPath, "..", "assets.lock.json");
            if (!System.IO.File.Exists(lockPath)) return;
            try
            {
                using (var client = MeshsmithSettings.Client())
                {
                    var fetched = client.FetchLockedAsync(Lockfile.Load(lockPath), System.IO.Path.Combine(Application.dataPath, "Meshsmith", "Locked"))
                                        .GetAwaiter().GetResult();
                    Debug.Log("meshsmith: " + fetched.Count + " locked assets verified");
                }
            }
            catch (MeshsmithException e)
            {
                throw new BuildFailedException("meshsmith: " + e.Message);
            }
            AssetDatabase.Refresh();
        }
    }
}
