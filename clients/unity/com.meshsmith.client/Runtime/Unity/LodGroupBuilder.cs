// Needs Unity (not compiled by `make test`): a LODGroup over the instantiated levels of one locked asset.
using System.Collections.Generic;
using System.Linq;
using UnityEngine;

namespace Meshsmith.Client.Unity
{
    public static class LodGroupBuilder
    {
        /// <summary>levels[0] = LOD 0 (full). Screen heights halve per level unless given.</summary>
        public static LODGroup Build(GameObject root, IList<GameObject> levels, float[] screenHeights = null)
        {
            var group = root.GetComponent<LODGroup>();
            if (group == null) group = root.AddComponent<LODGroup>();  // not ??: Unity's fake null
            var lods = new LOD[levels.Count];
            for (var i = 0; i < levels.Count; i++)
            {
                var height = screenHeights != null ? screenHeights[i] : 0.6f / (1 << i);
                lods[i] = new LOD(i == levels.Count - 1 ? Mathf.Min(height, 0.02f) : height,
                                  levels[i].GetComponentsInChildren<Renderer>().ToArray());
            }
            group.SetLODs(lods);
            group.RecalculateBounds();
            return group;
        }
    }
}
