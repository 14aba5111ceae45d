// Needs Unity + glTFast: add to an empty GameObject; put assets.lock.json (Window ▸ meshsmith ▸ Pin) under
// Assets/StreamingAssets; the asset and its LODs load at Start, each download sha256-verified.
using Meshsmith.Client.Unity;
using UnityEngine;

public class LoadLockedAssetSample : MonoBehaviour
{
    public string serverUrl = "http://127.0.0.1:8080";
    public string asset = "props/chair";

    void Awake()
    {
        var loader = gameObject.AddComponent<LockedAssetLoader>();
        loader.serverUrl = serverUrl;
        loader.asset = asset;
    }
}
