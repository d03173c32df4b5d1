// Maps the browser makes itself, so a cached class switch or a patch click repaints in the next
// frame with no round trip to the kernel: from the top-k native maps (`_native`) and the rollout
// matrix (`_rollout`) the kernel sent once. The kernel still gets the new state, and its own map
// (the same pixels) replaces the local one when it arrives.
import { bytesOf } from "./colormap.js";
import { finishMap, rolloutGrid } from "./resample.js";

/** An aligned little-endian Float32Array over binary data (copied once). */
function floats(data) {
  const bytes = bytesOf(data);
  return new Float32Array(bytes.slice().buffer);
}

/** True when every entry of `state` equals the model's value. */
function holds(model, state) {
  return Object.entries(state).every(([key, value]) => model.get(key) === value);
}

export class LocalMaps {
  constructor(model) {
    this.model = model;
    this.made = new Map(); // native entry or "patch:token" -> heatmap
  }

  /** The heatmap {state, data, caption, file} for the model's state, made here; null if it cannot be. */
  current() {
    return this.fromNative() ?? this.fromRollout();
  }

  fromNative() {
    const native = this.model.get("_native");
    const entry = native?.entries?.find((e) => holds(this.model, e.state));
    if (!entry) return null;
    if (!this.made.has(entry)) {
      const [height, width] = native.size;
      const data = finishMap(floats(entry.data), entry.height, entry.width, height, width);
      this.made.set(entry, { state: entry.state, data, caption: entry.caption, file: entry.file, local: true });
    }
    return this.made.get(entry);
  }

  fromRollout() {
    const rollout = this.model.get("_rollout");
    if (!rollout?.state || !holds(this.model, rollout.state)) return null;
    const token = this.model.get("target_patch");
    const image = this.model.get("_image");
    if (this.rollout !== rollout) {
      this.rollout = rollout;
      this.matrix = floats(rollout.data);
      this.made.clear();
    }
    const key = `patch:${token}`;
    if (!this.made.has(key)) {
      const { grid } = rollout;
      const scores = rolloutGrid(this.matrix, rollout.tokens, token, grid);
      const data = finishMap(scores, grid.rows, grid.cols, image.height, image.width);
      const caption = rollout.caption.replace("{token}", String(token));
      this.made.set(key, {
        state: { ...rollout.state, target_patch: token },
        data,
        caption,
        file: rollout.file,
        local: true,
      });
    }
    return this.made.get(key);
  }
}
