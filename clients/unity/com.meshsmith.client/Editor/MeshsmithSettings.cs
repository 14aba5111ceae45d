// Needs Unity (not compiled by `make test`): server URL and API key live in EditorPrefs (per user, per
// machine), never in the project, so they are not committed.
using Meshsmith.Client;
using UnityEditor;

namespace Meshsmith.Client.Editor
{
    public static class MeshsmithSettings
    {
        const string UrlKey = "meshsmith.serverUrl";
        const string ApiKeyKey = "meshsmith.apiKey";

        public static string ServerUrl
        {
            get { return EditorPrefs.GetString(UrlKey, "http://127.0.0.1:8080"); }
            set { EditorPrefs.SetString(UrlKey, value); }
        }

        public static string ApiKey
        {
            get { return EditorPrefs.GetString(ApiKeyKey, ""); }
            set { EditorPrefs.SetString(ApiKeyKey, value); }
        }

        public static MeshsmithClient Client()
        {
            return new MeshsmithClient(ServerUrl, ApiKey);
        }
    }
}
