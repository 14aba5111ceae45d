// A three.js viewer for one GLB at a time: orbit controls, wireframe, size in metres (glTF units).
import * as THREE from "three";
import { GLTFLoader } from "three/addons/loaders/GLTFLoader.js";
import { OrbitControls } from "three/addons/controls/OrbitControls.js";

export class Viewer {
  /** @param {HTMLElement} host an element the canvas fills */
  constructor(host) {
    this.renderer = new THREE.WebGLRenderer({ antialias: true, preserveDrawingBuffer: true });
    this.renderer.setPixelRatio(Math.min(window.devicePixelRatio, 2));
    this.renderer.outputColorSpace = THREE.SRGBColorSpace;
    this.renderer.domElement.className = "viewer-canvas";
    host.append(this.renderer.domElement);
    this.scene = new THREE.Scene();
    this.scene.background = new THREE.Color(0x2a2d34);
    this.scene.add(new THREE.HemisphereLight(0xffffff, 0x555566, 2.2));
    const sun = new THREE.DirectionalLight(0xffffff, 1.6);
    sun.position.set(2, 3, 4);
    this.scene.add(sun);
    this.grid = new THREE.GridHelper(10, 100, 0x555a66, 0x3a3e48);
    this.scene.add(this.grid);
    this.camera = new THREE.PerspectiveCamera(40, 1, 0.01, 1000);
    this.controls = new OrbitControls(this.camera, this.renderer.domElement);
    this.controls.enableDamping = true;
    this.loader = new GLTFLoader();
    this.model = null;
    this.wireframe = false;
    this.host = host;
    this._resize = new ResizeObserver(() => this.resize());
    this._resize.observe(host);
    this.resize();
    this.beforeFrame = new Set(); // functions called at the start of every frame (linked cameras)
    this.dirty = true; // draw only when something changed: an idle viewer costs no GPU (or CPU) time
    this.renderer.setAnimationLoop(() => {
      for (const fn of this.beforeFrame) fn();
      if (this.controls.update() || this.dirty) this.renderer.render(this.scene, this.camera);
      this.dirty = false;
    });
  }

  resize() {
    const w = this.host.clientWidth || 480, h = this.host.clientHeight || 360;
    this.renderer.setSize(w, h, false);
    this.dirty = true;
    this.camera.aspect = w / h;
    this.camera.updateProjectionMatrix();
  }

  /** Point the camera at a THREE.Box3 from the usual three-quarter view, the whole box in sight. */
  frame(box) {
    const size = box.getSize(new THREE.Vector3());
    const center = box.getCenter(new THREE.Vector3());
    const radius = Math.max(size.length() / 2, 1e-3);
    const dist = radius / Math.sin(THREE.MathUtils.degToRad(this.camera.fov / 2));
    this.camera.near = dist / 100;
    this.camera.far = dist * 100;
    this.camera.position.copy(center).add(new THREE.Vector3(0.6, 0.45, 1).normalize().multiplyScalar(dist * 1.05));
    this.camera.updateProjectionMatrix();
    this.controls.target.copy(center);
    this.controls.update();
    this.dirty = true;
  }

  /** Copy another viewer's camera (position, orientation, target, clipping planes); the controls take it as is. */
  copyCamera(other) {
    this.camera.position.copy(other.camera.position);
    this.camera.quaternion.copy(other.camera.quaternion);
    this.camera.near = other.camera.near;
    this.camera.far = other.camera.far;
    this.camera.updateProjectionMatrix();
    this.controls.target.copy(other.controls.target);
    this.dirty = true;
  }

  /** Show a GLB (ArrayBuffer); returns its size {x, y, z} in metres, its face count and its THREE.Box3. */
  async show(glb, { keepCamera = false } = {}) {
    const gltf = await this.loader.parseAsync(glb, "");
    if (this.model) this._dispose(this.model);
    this.model = gltf.scene;
    this.scene.add(this.model);
    this.dirty = true;
    this.setWireframe(this.wireframe);
    const box = new THREE.Box3().setFromObject(this.model);
    const size = box.getSize(new THREE.Vector3());
    this.grid.position.y = box.min.y;
    if (!keepCamera) this.frame(box);
    let faces = 0;
    this.model.traverse((o) => {
      if (o.isMesh) faces += (o.geometry.index ? o.geometry.index.count : o.geometry.attributes.position.count) / 3;
    });
    return { x: size.x, y: size.y, z: size.z, faces, box };
  }

  setWireframe(on) {
    this.wireframe = on;
    this.model?.traverse((o) => {
      if (o.isMesh) for (const m of [o.material].flat()) m.wireframe = on;
    });
    this.dirty = true;
  }

  _dispose(obj) {
    this.scene.remove(obj);
    obj.traverse((o) => {
      if (!o.isMesh) return;
      o.geometry.dispose();
      for (const m of [o.material].flat()) {
        for (const v of Object.values(m)) if (v?.isTexture) v.dispose();
        m.dispose();
      }
    });
  }

  destroy() {
    this.renderer.setAnimationLoop(null);
    this._resize.disconnect();
    if (this.model) this._dispose(this.model);
    this.controls.dispose();
    this.renderer.dispose();
    this.renderer.domElement.remove();
  }
}
