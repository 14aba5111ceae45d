// Needs Unity + glTFast (not compiled by `make test`): Window ▸ meshsmith. Every call goes through the core
// (Meshsmith.Client.MeshsmithClient), which `make test` compiles and runs against a live server.
//   drop an image → Generate with a progress bar → the GLB imported into Assets/Meshsmith/ (glTFast's importer);
//   History of an asset with previews; "Pin to channel" writes assets.lock.json at the project root.
using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Meshsmith.Client;
using UnityEditor;
using UnityEngine;

namespace Meshsmith.Client.Editor
{
    public class MeshsmithWindow : EditorWindow
    {
        string asset = "props/new";
        string imagePath;
        string channel = "stable";
        volatile JobProgress progress;
        string status = "";
        bool busy;
        List<VersionInfo> history = new List<VersionInfo>();
        readonly Dictionary<string, Texture2D> previews = new Dictionary<string, Texture2D>();
        Vector2 scroll;

        [MenuItem("Window/meshsmith")]
        public static void Open()
        {
            GetWindow<MeshsmithWindow>("meshsmith");
        }

        void OnGUI()
        {
            MeshsmithSettings.ServerUrl = EditorGUILayout.TextField("Server URL", MeshsmithSettings.ServerUrl);
            MeshsmithSettings.ApiKey = EditorGUILayout.PasswordField("API key", MeshsmithSettings.ApiKey);
            asset = EditorGUILayout.TextField("Asset", asset);

            var drop = GUILayoutUtility.GetRect(0, 60, GUILayout.ExpandWidth(true));
            GUI.Box(drop, imagePath ?? "Drop an image here");
            var evt = Event.current;
            if ((evt.type == EventType.DragUpdated || evt.type == EventType.DragPerform) && drop.Contains(evt.mousePosition))
            {
                DragAndDrop.visualMode = DragAndDropVisualMode.Copy;
                if (evt.type == EventType.DragPerform && DragAndDrop.paths.Length > 0)
                {
                    DragAndDrop.AcceptDrag();
                    imagePath = DragAndDrop.paths[0];
                }
                evt.Use();
            }
            using (new EditorGUI.DisabledScope(busy))
            {
                if (GUILayout.Button("Generate") && imagePath != null) Generate();
                if (GUILayout.Button("History")) LoadHistory();
                channel = EditorGUILayout.TextField("Channel", channel);
                if (GUILayout.Button("Pin to channel (assets.lock.json)")) Pin();
            }
            EditorGUILayout.HelpBox(status, MessageType.None);
            scroll = EditorGUILayout.BeginScrollView(scroll);
            foreach (var v in history)
            {
                EditorGUILayout.BeginHorizontal();
                Texture2D tex;
                if (previews.TryGetValue(v.Asset + "@" + v.Number, out tex)) GUILayout.Label(tex, GUILayout.Width(64), GUILayout.Height(64));
                EditorGUILayout.LabelField(string.Format("v{0}  {1:u}  {2}  {3} faces  {4}{5}", v.Number, v.CreatedAt, v.Author, v.Faces,
                                                         string.Join(",", v.Channels.ToArray()), v.Deprecated ? "  deprecated" : ""));
                EditorGUILayout.EndHorizontal();
            }
            EditorGUILayout.EndScrollView();
        }

        void Update()
        {
            var p = progress;
            if (busy && p != null)
            {
                EditorUtility.DisplayProgressBar("meshsmith", asset + ": " + p.Stage, (float)p.Fraction);
                Repaint();
            }
        }

        async void Generate()
        {
            busy = true;
            try
            {
                using (var client = MeshsmithSettings.Client())
                {
                    var version = await client.GenerateAsync(asset, File.ReadAllBytes(imagePath), null, p => progress = p);
                    var pulled = await client.PullAsync(asset, version.Number.ToString());  // sha256-verified
                    var path = Path.Combine("Assets", "Meshsmith", asset.Replace('/', Path.DirectorySeparatorChar) + ".glb");
                    Lockfile.WriteAtomic(path, pulled.Data);
                    AssetDatabase.ImportAsset(path);  // glTFast's importer
                    status = asset + " v" + version.Number + " imported into " + path;
                }
            }
            catch (Exception e)
            {
                status = e.Message;
            }
            finally
            {
                busy = false;
                progress = null;
                EditorUtility.ClearProgressBar();
            }
        }

        async void LoadHistory()
        {
            try
            {
                using (var client = MeshsmithSettings.Client())
                {
                    history = await client.HistoryAsync(asset);
                    foreach (var v in history.Where(v => v.Artifact("preview") != null))
                    {
                        var png = await client.PullAsync(v.Asset, v.Number.ToString(), "preview");
                        var tex = new Texture2D(2, 2);
                        tex.LoadImage(png.Data);
                        previews[v.Asset + "@" + v.Number] = tex;
                    }
                    status = history.Count + " versions";
                }
            }
            catch (Exception e)
            {
                status = e.Message;
            }
            Repaint();
        }

        async void Pin()
        {
            try
            {
                var lockPath = Path.Combine(Application.dataPath, "..", "assets.lock.json");
                using (var client = MeshsmithSettings.Client())
                {
                    var lockfile = File.Exists(lockPath) ? Lockfile.Load(lockPath) : new Lockfile();
                    lockfile.Merge(await client.ResolveLockAsync(new[] { asset + "@" + channel }, 86400));
                    lockfile.Save(lockPath);
                    status = asset + "@" + channel + " pinned in assets.lock.json";
                }
            }
            catch (Exception e)
            {
                status = e.Message;
            }
        }
    }
}
